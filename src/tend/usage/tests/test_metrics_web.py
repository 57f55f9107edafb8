"""The metric screens: list, define, edit, and an account's usage panel."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse

from tend.usage.metrics import metrics_compute, today_utc
from tend.usage.models import Metric
from tend.usage.tests.factories import (
    make_account,
    make_contact,
    make_metric,
    make_rollup,
    make_subscription,
)

pytestmark = pytest.mark.django_db

FORM = {
    "name": "Reports viewed",
    "kind": "event_count",
    "event": "Report Viewed",
    "property_name": "",
    "property_value": "",
    "window_days": "30",
    "role": "leading",
    "is_active": "on",
}


def client_for(user):  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client


def test_manager_defines_a_metric_in_the_form(manager):
    client = client_for(manager)
    assert client.get(reverse("web:metric_new")).status_code == 200

    response = client.post(reverse("web:metric_new"), FORM)

    assert response.status_code == 302
    metric = Metric.objects.get()
    assert (metric.name, metric.window_days, metric.is_active) == ("Reports viewed", 30, True)
    listing = client.get(reverse("web:metrics"))
    assert "Reports viewed" in listing.content.decode()


def test_the_form_shows_the_rule_that_was_broken(manager):
    response = client_for(manager).post(reverse("web:metric_new"), {**FORM, "event": ""})
    assert response.status_code == 400
    assert "Name the event to count." in response.content.decode()
    assert not Metric.objects.exists()


def test_agent_sees_metrics_but_may_not_define_or_change_them(agent):
    metric = make_metric(name="Logins", kind="active_users")
    client = client_for(agent)
    assert client.get(reverse("web:metrics")).status_code == 200
    assert client.get(reverse("web:metric_new")).status_code == 403
    assert client.post(reverse("web:metric_new"), FORM).status_code == 403
    edit = reverse("web:metric_edit", args=[metric.pk])
    assert client.get(edit).status_code == 200
    assert client.post(edit, {**FORM, "kind": "active_users"}).status_code == 403
    assert Metric.objects.get(pk=metric.pk).name == "Logins"


def test_manager_edits_a_metric(manager):
    metric = make_metric(name="Logins", kind="active_users")
    response = client_for(manager).post(
        reverse("web:metric_edit", args=[metric.pk]),
        {**FORM, "name": "Active people", "kind": "active_users", "event": "", "role": "outcome"},
    )
    assert response.status_code == 302
    metric.refresh_from_db()
    assert (metric.name, metric.role) == ("Active people", "outcome")


def test_metric_list_shows_the_average_over_accounts(manager):
    today = today_utc()
    for count in (2, 4):
        account = make_account()
        make_rollup(today, account, make_contact(account), count=count)
    make_metric(name="Reports", kind="event_count", event="Report Viewed", window_days=7)
    metrics_compute(day=today)

    page = client_for(manager).get(reverse("web:metrics")).content.decode()

    assert '<td class="metric-average">3</td>' in page


def test_account_usage_panel_shows_values_badges_and_a_sparkline(agent):
    today = today_utc()
    acme = make_account(name="Acme")
    make_subscription(acme, seats=4)
    li = make_contact(acme)
    make_rollup(today - timedelta(days=1), acme, li)
    make_rollup(today, acme, li)
    make_metric(name="Reports", kind="event_count", event="Report Viewed", window_days=7)
    make_metric(name="Seats used", kind="seat_share", window_days=30, role="outcome")
    make_metric(name="Quiet for", kind="days_since", window_days=7)
    metrics_compute(day=today - timedelta(days=1))
    metrics_compute(day=today)

    response = client_for(agent).get(reverse("web:account_metrics", args=[acme.pk]))

    assert response.status_code == 200
    page = response.content.decode()
    assert "Reports" in page and "<strong>2</strong>" in page
    assert "<strong>25%</strong>" in page
    assert "<strong>0 days</strong>" in page
    assert "metric-outcome" in page and "metric-leading" in page
    assert page.count("<polyline") == 3
