"""Tasks over the API: list mine, create, snooze, close; the risk thresholds."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from conftest import make_staff
from tend.api.tests.conftest import ApiClient
from tend.core.models import User
from tend.core.roles import Role
from tend.crm.models import Account
from tend.success.models import TaskType
from tend.success.services import task_raise

pytestmark = pytest.mark.django_db
ApiAs = Callable[[User], ApiClient]


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("cora", Role.CSM, first_name="Cora")


@pytest.fixture
def account(csm: User) -> Account:
    return Account.objects.create(name="Acme", owner=csm)


def test_list_my_open_tasks_then_snooze_and_close(
    api_as: ApiAs, csm: User, account: Account
) -> None:
    task = task_raise(
        account=account, type=TaskType.TICKET_SPIKE, reason="6 tickets", reason_key="s"
    )
    api = api_as(csm)

    listed = api.get("/api/v1/tasks").json()
    assert listed["count"] == 1
    assert listed["items"][0]["reason"] == "6 tickets"
    assert listed["items"][0]["owner"] == csm.pk

    until = (timezone.localdate() + timedelta(days=2)).isoformat()
    snoozed = api.post(f"/api/v1/tasks/{task.pk}/snooze", {"until": until})
    assert snoozed.status_code == 200 and snoozed.json()["status"] == "snoozed"
    assert api.get("/api/v1/tasks").json()["count"] == 0

    closed = api.post(f"/api/v1/tasks/{task.pk}/close", {"outcome": "resolved", "note": "ok"})
    assert closed.status_code == 200
    assert closed.json()["status"] == "closed" and closed.json()["outcome"] == "resolved"
    assert api.post(f"/api/v1/tasks/{task.pk}/close", {"outcome": "resolved"}).status_code == 422


def test_create_a_task_and_permissions(
    api_as: ApiAs, csm: User, readonly: User, account: Account
) -> None:
    made = api_as(csm).post("/api/v1/tasks", {"account": account.pk, "title": "Plan QBR"})
    assert made.status_code == 201
    assert made.json()["type"] == "manual" and made.json()["owner"] == csm.pk

    denied = api_as(readonly).post("/api/v1/tasks", {"account": account.pk, "title": "x"})
    assert denied.status_code == 403
    unknown = api_as(csm).post("/api/v1/tasks", {"account": account.pk, "titel": "x"})
    assert unknown.status_code == 422


def test_risk_settings_over_the_api(api_as: ApiAs, manager: User, csm: User) -> None:
    assert api_as(csm).get("/api/v1/risk-settings").json()["seats_underused_percent"] == 50
    assert api_as(csm).patch("/api/v1/risk-settings", {"renewal_days": 60}).status_code == 403

    changed = api_as(manager).patch("/api/v1/risk-settings", {"renewal_days": 60})

    assert changed.status_code == 200 and changed.json()["renewal_days"] == 60
    assert (
        api_as(manager).patch("/api/v1/risk-settings", {"usage_drop_percent": 0}).status_code == 422
    )
