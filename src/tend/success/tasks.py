"""Customer-success jobs. Thin: each calls one service.

Imports are inside the functions so this module (which the scheduler imports to find
its cron jobs) stays cheap and free of import cycles.
"""

from __future__ import annotations

from crontask import cron
from django.tasks import task


@cron("0 1 * * *")
@task
def evaluate_risks() -> int:
    """Raise the day's risk tasks. Runs after the health recompute (00:30) so the
    "renewal while red" signal reads today's band. First it closes inactivity tasks
    whose silence ended but whose close on ingest was missed (a process that stopped
    between storing events and sending events_ingested)."""
    from tend.success.risks import risk_tasks_clear_on_activity, risks_evaluate

    risk_tasks_clear_on_activity(account_ids=None)
    return risks_evaluate()


@cron("5 0 * * *")
@task
def wake_snoozed_tasks() -> int:
    """Snoozed tasks whose day has come are open again when the CSM starts work."""
    from tend.success.services import tasks_wake

    return tasks_wake()
