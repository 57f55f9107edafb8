"""/api/v1/metrics and /api/v1/accounts/{id}/metrics: shapes and who may do what."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tend.usage.metrics import metrics_compute, today_utc
from tend.usage.models import Metric
from tend.usage.tests.factories import make_account, make_contact, make_metric, make_rollup

pytestmark = pytest.mark.django_db


REPORTS = {
    "name": "Reports viewed",
    "kind": "event_count",
    "event": "Report Viewed",
    "window_days": 7,
    "role": "outcome",
}


def test_manager_creates_a_metric_and_everyone_with_access_lists_it(api_as, manager, agent):
    response = api_as(manager).post("/api/v1/metrics", REPORTS)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body == {
        "id": body["id"],
        **REPORTS,
        "property_name": "",
        "property_value": "",
        "is_active": True,
    }

    listed = api_as(agent).get("/api/v1/metrics")
    assert listed.status_code == 200
    assert listed.json()["count"] == 1
    assert listed.json()["items"][0]["name"] == "Reports viewed"


def test_agent_may_not_create_or_change_metrics(api_as, agent):
    api = api_as(agent)
    assert api.post("/api/v1/metrics", REPORTS).status_code == 403
    metric = make_metric(name="Logins", kind="active_users")
    assert api.patch(f"/api/v1/metrics/{metric.pk}", {"window_days": 7}).status_code == 403
    assert not Metric.objects.filter(name="Reports viewed").exists()


def test_invalid_definitions_answer_422(api_as, manager):
    api = api_as(manager)
    no_event = api.post("/api/v1/metrics", {**REPORTS, "event": ""})
    assert no_event.status_code == 422
    assert "event" in no_event.json()["errors"]
    assert api.post("/api/v1/metrics", {**REPORTS, "window_days": 14}).status_code == 422
    assert api.post("/api/v1/metrics", {**REPORTS, "colour": "red"}).status_code == 422


def test_patch_changes_only_what_is_sent(api_as, manager):
    metric = make_metric(name="Logins", kind="active_users", window_days=30)
    api = api_as(manager)
    response = api.patch(f"/api/v1/metrics/{metric.pk}", {"role": "outcome"})
    assert response.status_code == 200
    assert response.json()["role"] == "outcome"
    assert response.json()["window_days"] == 30
    assert api.patch(f"/api/v1/metrics/{metric.pk}", {"name": None}).status_code == 422


def test_account_metrics_carry_value_day_and_history(api_as, agent):
    today = today_utc()
    acme = make_account(name="Acme")
    li = make_contact(acme)
    make_rollup(today - timedelta(days=1), acme, li, count=2)
    make_rollup(today, acme, li, count=3)
    metric = make_metric(name="Reports", kind="event_count", event="Report Viewed", window_days=7)
    metrics_compute(day=today - timedelta(days=1))
    metrics_compute(day=today)

    response = api_as(agent).get(f"/api/v1/accounts/{acme.pk}/metrics", days=30)

    assert response.status_code == 200, response.content
    assert response.json() == {
        "account": acme.pk,
        "count": 1,
        "items": [
            {
                "metric": {
                    "id": metric.pk,
                    "name": "Reports",
                    "kind": "event_count",
                    "role": "leading",
                    "window_days": 7,
                },
                "value": 5.0,
                "day": today.isoformat(),
                "history": [
                    {"day": (today - timedelta(days=1)).isoformat(), "value": 2.0},
                    {"day": today.isoformat(), "value": 5.0},
                ],
            }
        ],
    }


def test_account_metrics_of_an_unknown_account_is_404(api_as, agent):
    assert api_as(agent).get("/api/v1/accounts/999999/metrics").status_code == 404
    assert api_as(agent).get("/api/v1/accounts/1/metrics", days=0).status_code == 422
