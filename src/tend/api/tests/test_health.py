"""Health over the API: an account's score with its explanation and history, grades,
the focus list, and who may change health models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import make_staff
from tend.core.roles import Role
from tend.health.services import health_model_create, health_recompute
from tend.health.tests.factories import (
    DAY,
    make_account,
    make_contact,
    make_metric,
    metric_config,
    set_value,
)

pytestmark = pytest.mark.django_db


def test_score_explanation_history_and_grades(api_as: Callable[..., Any]) -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    csm = make_staff("carol", Role.CSM)
    account = make_account(owner=csm)
    set_value(metric, account, 20)
    set_value(metric, account, 10, contact=make_contact(account))
    health_recompute(day=DAY)
    api = api_as(csm)

    body = api.get(f"/api/v1/accounts/{account.pk}/health").json()
    assert body["band"] == "green" and body["version"] == 1 and body["model"] == "Default"
    rows = {m["key"]: m for m in body["explanation"]["measures"]}
    assert rows["nps"]["value"] is None and rows["logins"]["effective_weight"] == 66.67
    history = api.get(f"/api/v1/accounts/{account.pk}/health/history").json()
    assert [h["day"] for h in history] == [DAY.isoformat()]
    grades = api.get(f"/api/v1/accounts/{account.pk}/grades").json()
    assert grades["C"] == 1  # 10 logins reach the 5-login step: 50 points
    focus = api.get("/api/v1/health/focus").json()
    assert focus["count"] == 1 and focus["items"][0]["grade"] == "C"


def test_no_score_yet_is_404(api_as: Callable[..., Any]) -> None:
    account = make_account()
    response = api_as(make_staff("carol", Role.CSM)).get(f"/api/v1/accounts/{account.pk}/health")
    assert response.status_code == 404


def test_only_managers_change_health_models(api_as: Callable[..., Any]) -> None:
    metric = make_metric()
    payload = {"name": "Mine", "config": metric_config(metric)}
    csm = api_as(make_staff("carol", Role.CSM))
    assert csm.post("/api/v1/health/models", payload).status_code == 403
    manager = api_as(make_staff("mona", Role.MANAGER))
    made = manager.post("/api/v1/health/models", payload)
    assert made.status_code == 201 and made.json()["version"]["number"] == 1
    model_id = made.json()["id"]
    bad = metric_config(metric)
    bad["measures"][0]["weight"] = 1
    assert (
        manager.post(f"/api/v1/health/models/{model_id}/versions", {"config": bad}).status_code
        == 422
    )
    again = manager.post(
        f"/api/v1/health/models/{model_id}/versions", {"config": payload["config"]}
    )
    assert again.status_code == 201 and again.json()["number"] == 2
    assert csm.get(f"/api/v1/health/models/{model_id}").json()["version"]["number"] == 2
