"""Usage jobs. Thin: each calls one service.

Imports are inside the functions so this module (which the scheduler imports to find
its cron jobs) stays cheap and free of import cycles.
"""

from __future__ import annotations

from crontask import cron
from django.tasks import task

from tend.usage import metrics_tasks  # noqa: F401  (registers metrics_compute_daily)


@cron("17 3 * * *")
@task
def events_prune() -> int:
    """Delete raw events and drop records older than TEND_EVENTS_KEEP_DAYS (rollups stay)."""
    from tend.usage.services import events_prune as prune

    return prune()


@cron("*/5 * * * *")
@task
def rollups_catch_up() -> int:
    """Store what a stopped ingest process answered but had not stored (its journal),
    and count events a stopped ingest writer left in the rollup backlog (SQLite)."""
    import logging

    from tend.usage.ingest_journal import journal_recover
    from tend.usage.ingest_store import rollups_catch_up as catch_up

    try:
        journal_recover()
    except Exception:  # counting must not wait for a journal that cannot be read
        logging.getLogger(__name__).exception("recovering the ingest journal failed")
    return len(catch_up())


@task
def account_usage_forget(account_id: int) -> int:
    """Clear what ingestion still stored under a deleted account (see the service)."""
    from tend.usage.services import account_usage_forget as forget

    return forget(account_id)
