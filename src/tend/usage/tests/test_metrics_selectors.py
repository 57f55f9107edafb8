"""The usage reads health and risks build on: their shapes and windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tend.core.models import User
from tend.usage import selectors
from tend.usage.metrics import metrics_compute
from tend.usage.tests.factories import make_account, make_contact, make_metric, make_rollup

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 31)


def test_rollup_counts_sum_per_account_between_both_days_inclusive():
    acme, globex, quiet = make_account(), make_account(), make_account()
    make_rollup(DAY, acme, make_contact(acme), count=3)
    make_rollup(DAY - timedelta(days=6), acme, None, count=2)
    make_rollup(DAY - timedelta(days=7), acme, None, count=100)
    make_rollup(DAY, globex, None, event="Logged In", count=4)

    counts = selectors.rollup_counts([acme.pk, globex.pk, quiet.pk], DAY - timedelta(days=6), DAY)
    assert counts == {acme.pk: 5, globex.pk: 4}
    assert selectors.rollup_counts(None, DAY, DAY, event="Logged In") == {globex.pk: 4}


def test_weekly_counts_give_consecutive_weeks_oldest_first():
    acme = make_account()
    make_rollup(DAY, acme, None, count=1)  # this week
    make_rollup(DAY - timedelta(days=6), acme, None, count=2)  # this week
    make_rollup(DAY - timedelta(days=7), acme, None, count=10)  # last week
    make_rollup(DAY - timedelta(days=13), acme, None, count=20)  # last week
    make_rollup(DAY - timedelta(days=14), acme, None, count=1000)  # three weeks ago

    assert selectors.weekly_counts([acme.pk], weeks=2, day=DAY) == {acme.pk: [30, 3]}
    assert selectors.weekly_counts([acme.pk], weeks=3, day=DAY) == {acme.pk: [1000, 30, 3]}


def test_active_users_counts_distinct_people_in_the_window():
    acme = make_account()
    li, wu = make_contact(acme), make_contact(acme)
    make_rollup(DAY, acme, li)
    make_rollup(DAY, acme, li, event="Logged In")
    make_rollup(DAY - timedelta(days=8), acme, wu)
    assert selectors.active_users(acme.pk, 7, day=DAY) == 1
    assert selectors.active_users(acme.pk, 30, day=DAY) == 2
    assert selectors.active_users_by_account(None, 30, day=DAY) == {acme.pk: 2}


def test_last_seen_reads_the_contacts_last_event_time():
    seen_at = datetime(2026, 3, 30, 8, tzinfo=UTC)
    li = make_contact(None, last_seen_at=seen_at)
    never = make_contact(None)
    assert selectors.last_seen([li.pk, never.pk]) == {li.pk: seen_at, never.pk: None}


def test_metric_values_and_history_for_an_account():
    acme = make_account()
    li, wu = make_contact(acme), make_contact(acme)
    make_rollup(DAY - timedelta(days=1), acme, li, count=2)
    make_rollup(DAY, acme, li, count=3)
    reports = make_metric(kind="event_count", event="Report Viewed", window_days=7)
    since = make_metric(kind="days_since", window_days=7)
    metrics_compute(day=DAY - timedelta(days=1))
    metrics_compute(day=DAY)

    # The newest computed day when no day is given
    assert selectors.metric_values(acme, day=DAY + timedelta(days=5)) == {
        reports.pk: 5.0,
        since.pk: 0.0,
    }
    assert selectors.metric_values(acme, day=DAY - timedelta(days=1))[reports.pk] == 2.0
    # People without a stored value read the default: 0, or the window for days since
    assert selectors.contact_metric_values(acme, day=DAY) == {
        li.pk: {reports.pk: 5.0, since.pk: 0.0},
        wu.pk: {reports.pk: 0.0, since.pk: 7.0},
    }
    assert selectors.metric_history(reports, acme, days=180, day=DAY) == [
        (DAY - timedelta(days=1), 2.0),
        (DAY, 5.0),
    ]
    assert selectors.metric_values_for_accounts([acme.pk], DAY) == {
        acme.pk: {reports.pk: 5.0, since.pk: 0.0}
    }
    assert selectors.metric_averages([reports]) == {reports.pk: 5.0}


def test_nothing_computed_yet_reads_empty():
    acme = make_account()
    make_contact(acme)
    make_metric(kind="event_count", event="Report Viewed")
    assert selectors.metric_values(acme) == {}
    assert selectors.metric_values_for_accounts([acme.pk]) == {}
    values = selectors.contact_metric_values(acme)
    assert list(values.values()) == [{m: 0.0 for m in next(iter(values.values()))}]


def test_account_metrics_panel_needs_the_view_permission(agent):
    acme = make_account()
    make_rollup(DAY, acme, make_contact(acme))
    make_metric(kind="event_count", event="Report Viewed", window_days=7)
    metrics_compute()

    nobody = User.objects.create_user(username="nobody", password="x")  # no role
    assert selectors.account_metrics(nobody, acme) == []
    [line] = selectors.account_metrics(agent, acme)
    assert line.metric.event == "Report Viewed"
    assert line.day is not None
