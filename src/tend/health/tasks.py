"""Health jobs. Thin: each calls health_recompute.

Imports of services stay inside the functions so the scheduler can import this module
cheaply and without cycles.
"""

from __future__ import annotations

from datetime import timedelta

from crontask import cron
from django.tasks import task


@cron("30 0 * * *")
@task
def health_recompute_daily() -> int:
    """After the metrics job (00:10 UTC) has settled yesterday's values and started
    today's: settle yesterday's snapshots, then write today's."""
    from tend.health.services import health_recompute, today_utc

    today = today_utc()
    return health_recompute(day=today - timedelta(days=1)) + health_recompute(day=today)


@task
def health_recompute_today() -> int:
    """Today's snapshots again (queued when a model or its rules change)."""
    from tend.health.services import health_recompute

    return health_recompute()
