"""Metric jobs. Thin: each calls metrics_compute.

The scheduler only imports each app's ``tasks`` module, so ``tend.usage.tasks`` imports
this one to register the cron job. Imports of services stay inside the functions so
loading this module is cheap and free of cycles.
"""

from __future__ import annotations

from datetime import timedelta

from crontask import cron
from django.tasks import task


@cron("10 0 * * *")
@task
def metrics_compute_daily() -> int:
    """Just after midnight UTC: settle yesterday's values (its last hours of events are
    in now) and start today's, so "current" values never lag more than a day."""
    from tend.usage.metrics import metrics_compute, today_utc

    today = today_utc()
    return metrics_compute(day=today - timedelta(days=1)) + metrics_compute(day=today)


@task
def metric_compute_today(metric_id: int) -> int:
    """Today's values for one new or changed metric (queued by metric_create/update)."""
    from tend.usage.metrics import metrics_compute

    return metrics_compute(metric_ids=[metric_id])
