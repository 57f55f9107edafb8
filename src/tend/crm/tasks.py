"""crm jobs. Thin: each loads what it needs and calls one function.

Imports are inside the functions so this module (which the scheduler imports to find
cron jobs) stays cheap and free of import cycles.
"""

from __future__ import annotations

from crontask import cron
from django.tasks import task


@task
def crm_import_apply(token: str) -> dict[str, int]:
    """Apply a confirmed CSV import of accounts or contacts (see crm.csv_import)."""
    from tend.crm.csv_import import import_apply

    return import_apply(token=token)


@cron("17 3 * * *")
@task
def crm_imports_prune() -> int:
    """Delete uploaded import files nobody confirmed (their preview has expired)."""
    from tend.crm.csv_import import imports_prune

    return imports_prune()
