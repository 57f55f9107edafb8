"""metrics_compute: each kind's value on hand-built rollups, windows, seats, property
filters, history and idempotence."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tend.usage.metrics import metrics_compute
from tend.usage.models import MetricValue
from tend.usage.tests.factories import (
    at,
    make_account,
    make_contact,
    make_event,
    make_metric,
    make_rollup,
    make_subscription,
)

pytestmark = pytest.mark.django_db

DAY = date(2026, 3, 31)


def account_value(metric, account, day=DAY):  # type: ignore[no-untyped-def]
    row = MetricValue.objects.filter(metric=metric, account=account, contact=None, day=day).first()
    return None if row is None else row.value


def contact_values(metric, day=DAY):  # type: ignore[no-untyped-def]
    rows = MetricValue.objects.filter(metric=metric, contact__isnull=False, day=day)
    return {contact_id: value for contact_id, value in rows.values_list("contact_id", "value")}


@pytest.mark.parametrize("window", [7, 30, 90])
def test_event_count_sums_the_event_over_the_window_ending_on_the_day(window):
    # Given rollups on the first and last day of the window, just outside it on both
    # sides, and another event inside it
    account = make_account()
    li, wu = make_contact(account), make_contact(account)
    first_day = DAY - timedelta(days=window - 1)
    make_rollup(DAY, account, li, count=2)
    make_rollup(first_day, account, wu, count=3)
    make_rollup(first_day - timedelta(days=1), account, li, count=100)
    make_rollup(DAY + timedelta(days=1), account, li, count=50)
    make_rollup(DAY, account, li, event="Logged In", count=9)
    make_rollup(DAY, account, None, count=4)  # no known person
    metric = make_metric(kind="event_count", event="Report Viewed", window_days=window)

    # When the metrics are computed for the day
    metrics_compute(day=DAY)

    # Then the account counts everything in the window, and each person their own
    assert account_value(metric, account) == 2 + 3 + 4
    assert contact_values(metric) == {li.pk: 2.0, wu.pk: 3.0}


def test_accounts_without_activity_get_zero_not_a_gap():
    quiet = make_account()
    make_contact(quiet)
    metric = make_metric(kind="event_count", event="Report Viewed", window_days=7)
    active_metric = make_metric(kind="active_users", window_days=7)

    metrics_compute(day=DAY)

    assert account_value(metric, quiet) == 0
    assert account_value(active_metric, quiet) == 0
    assert contact_values(metric) == {}  # people without activity read the default


def test_active_users_counts_distinct_people_with_the_event_or_any_event():
    account = make_account()
    li, wu, zhao = make_contact(account), make_contact(account), make_contact(account)
    make_rollup(DAY, account, li, count=5)
    make_rollup(DAY - timedelta(days=1), account, li)
    make_rollup(DAY - timedelta(days=2), account, wu, event="Logged In")
    make_rollup(DAY - timedelta(days=10), account, zhao)  # outside 7 days
    make_rollup(DAY, account, None, count=30)  # anonymous: not a user
    reporters = make_metric(kind="active_users", event="Report Viewed", window_days=7)
    anyone = make_metric(kind="active_users", window_days=7)
    anyone_30 = make_metric(kind="active_users", window_days=30)

    metrics_compute(day=DAY)

    assert account_value(reporters, account) == 1
    assert account_value(anyone, account) == 2
    assert account_value(anyone_30, account) == 3
    assert contact_values(anyone) == {li.pk: 1.0, wu.pk: 1.0}


def test_seat_share_divides_active_users_by_paid_seats_and_skips_accounts_without_seats():
    paying = make_account()
    for contact in [make_contact(paying) for _ in range(3)]:
        make_rollup(DAY, paying, contact)
    make_subscription(paying, seats=8, status="active")
    make_subscription(paying, seats=2, status="trial")
    make_subscription(paying, seats=2, status="past_due")
    make_subscription(paying, seats=100, status="canceled")
    no_seats = make_account()
    make_rollup(DAY, no_seats, make_contact(no_seats))
    make_subscription(no_seats, seats=0)
    share = make_metric(kind="seat_share", window_days=30)

    metrics_compute(day=DAY)

    assert account_value(share, paying) == pytest.approx(3 / 12)
    assert account_value(share, no_seats) is None
    assert contact_values(share) == {}


def test_days_since_counts_days_from_the_last_activity_and_caps_at_the_window():
    account = make_account()
    li, wu = make_contact(account), make_contact(account)
    make_rollup(DAY - timedelta(days=3), account, li)
    make_rollup(DAY - timedelta(days=5), account, wu)
    make_rollup(DAY - timedelta(days=1), account, wu, event="Logged In")
    idle = make_account()
    make_rollup(DAY - timedelta(days=40), idle, make_contact(idle))
    since_report = make_metric(kind="days_since", event="Report Viewed", window_days=30)
    since_any = make_metric(kind="days_since", window_days=30)
    today_only = make_account()
    make_rollup(DAY, today_only, make_contact(today_only))

    metrics_compute(day=DAY)

    assert account_value(since_report, account) == 3
    assert account_value(since_any, account) == 1
    assert contact_values(since_any)[wu.pk] == 1
    assert contact_values(since_report)[wu.pk] == 5
    # Nothing in the window: "30 days or more"
    assert account_value(since_any, idle) == 30
    assert account_value(since_any, today_only) == 0


def test_property_filter_reads_raw_events_in_the_window():
    account = make_account()
    li, wu = make_contact(account), make_contact(account)
    make_event(at(DAY), account, li, properties={"plan": "pro"})
    make_event(at(DAY - timedelta(days=6), 0), account, wu, properties={"plan": "pro"})
    make_event(at(DAY - timedelta(days=7), 23), account, li, properties={"plan": "pro"})
    make_event(at(DAY + timedelta(days=1), 0), account, li, properties={"plan": "pro"})
    make_event(at(DAY), account, li, properties={"plan": "free"})
    make_event(at(DAY), account, li, name="Logged In", properties={"plan": "pro"})
    make_event(at(DAY), account, wu, properties={"size": 3})
    make_event(at(DAY), account, wu, properties={"beta": True})
    pro = make_metric(kind="event_count", window_days=7, property_name="plan", property_value="pro")
    size = make_metric(kind="event_count", window_days=7, property_name="size", property_value="3")
    beta_users = make_metric(
        kind="active_users", window_days=7, property_name="beta", property_value="true"
    )

    metrics_compute(day=DAY)

    assert account_value(pro, account) == 2
    assert contact_values(pro) == {li.pk: 1.0, wu.pk: 1.0}
    assert account_value(size, account) == 1
    assert account_value(beta_users, account) == 1


def test_history_keeps_one_row_per_day_and_recomputing_a_day_replaces_it():
    account = make_account()
    li = make_contact(account)
    make_rollup(DAY - timedelta(days=1), account, li, count=2)
    metric = make_metric(kind="event_count", event="Report Viewed", window_days=7)

    metrics_compute(day=DAY - timedelta(days=1))
    make_rollup(DAY, account, li, count=5)
    metrics_compute(day=DAY)
    metrics_compute(day=DAY)

    rows = MetricValue.objects.filter(metric=metric, contact=None).order_by("day")
    assert list(rows.values_list("day", "value")) == [(DAY - timedelta(days=1), 2.0), (DAY, 7.0)]
    assert MetricValue.objects.filter(metric=metric, contact=li).count() == 2


def test_recomputing_drops_a_contact_value_whose_activity_is_gone():
    account, other = make_account(), make_account()
    li = make_contact(account)
    rollup = make_rollup(DAY, account, li)
    metric = make_metric(kind="event_count", event="Report Viewed", window_days=7)
    metrics_compute(day=DAY)

    rollup.account = other  # e.g. the person's events were re-attributed
    rollup.save()
    metrics_compute(day=DAY)

    assert not MetricValue.objects.filter(metric=metric, account=account, contact=li).exists()
    assert account_value(metric, account) == 0
    assert account_value(metric, other) == 1


def test_scoped_run_touches_only_the_named_accounts_and_skips_inactive_metrics():
    mine, theirs = make_account(), make_account()
    make_rollup(DAY, mine, make_contact(mine))
    make_rollup(DAY, theirs, make_contact(theirs))
    metric = make_metric(kind="event_count", event="Report Viewed", window_days=7)
    retired = make_metric(kind="active_users", window_days=7, is_active=False)

    written = metrics_compute(day=DAY, account_ids=[mine.pk])

    assert written == 2  # the account row and its one person
    assert account_value(metric, mine) == 1
    assert account_value(metric, theirs) is None
    assert not MetricValue.objects.filter(metric=retired).exists()


def test_query_count_does_not_grow_with_accounts(django_assert_max_num_queries):
    for _ in range(30):
        account = make_account()
        make_subscription(account, seats=5)
        for _ in range(3):
            make_rollup(DAY, account, make_contact(account))
    for kind in ("event_count", "active_users", "seat_share", "days_since"):
        make_metric(kind=kind, window_days=30)
    make_metric(kind="event_count", window_days=7, property_name="plan", property_value="pro")

    # metrics, accounts, rollups, seats, events, the delete, upsert batches (+ savepoints)
    with django_assert_max_num_queries(12):
        assert metrics_compute(day=DAY) > 0


def test_demo_seed_defines_metrics_and_builds_history():
    from tend.usage.metrics_demo import DEMO_METRICS, seed_metrics

    account = make_account()
    make_subscription(account, seats=10)
    make_rollup(DAY, account, make_contact(account), event="Login")

    assert seed_metrics(days=3) > 0
    assert seed_metrics(days=3) > 0  # again: no duplicate definitions

    from tend.usage.models import Metric

    assert Metric.objects.count() == len(DEMO_METRICS)
    days = MetricValue.objects.filter(contact=None, account=account).values("day").distinct()
    assert days.count() == 3
