"""The nightly customer-success jobs are scheduled, in the order their inputs need:
metrics (00:10) before health scores (00:30) before risk evaluation (01:00)."""

from __future__ import annotations

from crontask import scheduler

# Importing the task modules registers their cron jobs (the scheduler does the same).
from tend.crm import tasks as crm_tasks  # noqa: F401
from tend.health import tasks as health_tasks  # noqa: F401
from tend.success import tasks as success_tasks  # noqa: F401
from tend.usage import tasks as usage_tasks  # noqa: F401


def _at(name: str) -> tuple[int, int]:
    job = {job.name: job for job in scheduler.get_jobs()}[name]
    fields = {field.name: str(field) for field in job.trigger.fields}
    return int(fields["hour"]), int(fields["minute"])


def test_nightly_jobs_run_after_the_data_they_read():
    assert _at("metrics_compute_daily") == (0, 10)
    assert _at("health_recompute_daily") == (0, 30)
    assert _at("evaluate_risks") == (1, 0)
    assert _at("metrics_compute_daily") < _at("health_recompute_daily") < _at("evaluate_risks")


def test_snoozed_tasks_wake_and_old_data_is_pruned_every_night():
    assert _at("wake_snoozed_tasks") == (0, 5)
    assert _at("events_prune") == (3, 17)
    assert _at("crm_imports_prune") == (3, 17)
