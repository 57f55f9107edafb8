"""The metric jobs: scheduled nightly, queued when a definition changes, and doing the work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from crontask import scheduler
from django.tasks.signals import task_enqueued

from tend.usage import metrics_tasks
from tend.usage.metrics import metric_create, metric_update, today_utc
from tend.usage.models import MetricValue
from tend.usage.tests.factories import make_account, make_contact, make_metric, make_rollup

pytestmark = pytest.mark.django_db


def test_the_daily_computation_is_scheduled_just_after_midnight_utc():
    jobs = {job.name: str(job.trigger) for job in scheduler.get_jobs()}
    assert "hour='0'" in jobs["metrics_compute_daily"]
    assert "minute='10'" in jobs["metrics_compute_daily"]


def test_the_daily_job_settles_yesterday_and_starts_today():
    today = today_utc()
    account = make_account()
    make_rollup(today - timedelta(days=1), account, make_contact(account))
    metric = make_metric(kind="event_count", event="Report Viewed", window_days=7)

    assert metrics_tasks.metrics_compute_daily.call() == 4  # 2 days × (account + person)

    days = MetricValue.objects.filter(metric=metric, contact=None).values_list("day", "value")
    assert sorted(days) == [(today - timedelta(days=1), 1.0), (today, 1.0)]


@pytest.fixture
def enqueued(settings):  # type: ignore[no-untyped-def]
    # The test database is a transaction a worker cannot see: record what is enqueued
    # (the dummy backend keeps jobs in memory) and run the task functions here.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    results: list[Any] = []

    def record(sender: Any, *, task_result: Any, **kwargs: Any) -> None:
        results.append(task_result)

    task_enqueued.connect(record, weak=False)
    yield results
    task_enqueued.disconnect(record)


def test_a_new_or_changed_metric_is_computed_for_today_after_commit(
    manager, enqueued, django_capture_on_commit_callbacks
):
    account = make_account()
    make_rollup(today_utc(), account, make_contact(account))
    with django_capture_on_commit_callbacks(execute=True):
        metric = metric_create(actor=manager, name="Anyone", kind="active_users")
    with django_capture_on_commit_callbacks(execute=True):
        metric_update(actor=manager, metric=metric, window_days=7)
    with django_capture_on_commit_callbacks(execute=True):
        metric_update(actor=manager, metric=metric, window_days=7)  # no change: no job

    assert [(r.task.name, tuple(r.args)) for r in enqueued] == [
        ("metric_compute_today", (metric.pk,)),
        ("metric_compute_today", (metric.pk,)),
    ]
    for result in enqueued:
        result.task.call(*result.args)
    assert MetricValue.objects.get(metric=metric, contact=None).value == 1.0
