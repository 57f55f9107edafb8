"""The "My tasks" page: groups by due date, snooze and close forms, a manual task, and
the risk settings page (Managers change it, CSMs only read it)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from conftest import make_staff
from tend.core.models import User
from tend.core.roles import Role
from tend.crm.models import Account
from tend.success.models import Task, TaskOutcome, TaskStatus, TaskType
from tend.success.services import risk_settings_get, task_raise

pytestmark = pytest.mark.django_db


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("cora", Role.CSM, first_name="Cora")


@pytest.fixture
def account(csm: User) -> Account:
    return Account.objects.create(name="Acme", owner=csm)


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _task(account: Account, title: str, due_in: int) -> Task:
    task = task_raise(
        account=account, type=TaskType.SEATS_UNDERUSED, reason=f"why {title}", reason_key=title
    )
    task.title = title
    task.due_on = timezone.localdate() + timedelta(days=due_in)
    task.save()
    return task


def _section(html: str, key: str) -> str:
    match = re.search(rf'id="tasks-{key}".*?</section>', html, re.S)
    assert match, key
    return match.group(0)


def test_my_tasks_are_grouped_overdue_today_upcoming(account: Account, csm: User) -> None:
    _task(account, "Late one", -2)
    _task(account, "Now one", 0)
    _task(account, "Later one", 4)
    someone_else = Account.objects.create(name="Other", owner=make_staff("carl", Role.CSM))
    _task(someone_else, "Not mine", 0)

    html = _client(csm).get("/tasks/").content.decode()

    assert "Late one" in _section(html, "overdue")
    assert "Now one" in _section(html, "today")
    assert "Later one" in _section(html, "upcoming")
    assert "Not mine" not in html


def test_snooze_from_the_page_moves_the_task_to_snoozed(account: Account, csm: User) -> None:
    task = _task(account, "Call them", 0)
    until = timezone.localdate() + timedelta(days=3)

    response = _client(csm).post(f"/tasks/{task.pk}/snooze/", {"until": until.isoformat()})

    assert response.status_code == 302
    task.refresh_from_db()
    assert task.status == TaskStatus.SNOOZED and task.snoozed_until == until
    html = _client(csm).get("/tasks/").content.decode()
    assert "Call them" in _section(html, "snoozed")


def test_close_with_outcome_from_the_page(account: Account, csm: User) -> None:
    task = _task(account, "Call them", 0)

    _client(csm).post(
        f"/tasks/{task.pk}/close/", {"outcome": TaskOutcome.RESOLVED, "note": "Booked training"}
    )

    task.refresh_from_db()
    assert (task.status, task.outcome, task.outcome_note) == (
        TaskStatus.CLOSED,
        TaskOutcome.RESOLVED,
        "Booked training",
    )
    assert "Call them" not in _client(csm).get("/tasks/").content.decode()


def test_an_agent_sees_tasks_but_cannot_close_them(account: Account, agent: User) -> None:
    task = _task(account, "Call them", 0)

    _client(agent).post(f"/tasks/{task.pk}/close/", {"outcome": TaskOutcome.RESOLVED})

    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN


def test_create_a_task_by_hand(account: Account, csm: User) -> None:
    client = _client(csm)
    assert client.get(f"/tasks/new/?account={account.pk}").status_code == 200

    response = client.post(
        "/tasks/new/", {"account": account.pk, "title": "Plan the QBR", "reason": "Q1"}
    )

    assert response.status_code == 302
    task = Task.objects.get(title="Plan the QBR")
    assert task.owner == csm and task.type == TaskType.MANUAL


def test_risk_settings_page(manager: User, csm: User) -> None:
    fields = {
        "user_inactive_days": 21,
        "account_inactive_days": 7,
        "usage_drop_percent": 40,
        "champion_inactive_days": 14,
        "seats_underused_percent": 50,
        "ticket_spike_count": 5,
        "renewal_days": 90,
        "task_due_days": 2,
    }
    assert _client(csm).get("/tasks/settings/").status_code == 200  # CSMs may read
    assert _client(csm).post("/tasks/settings/", fields).status_code == 403

    response = _client(manager).post("/tasks/settings/", fields)

    assert response.status_code == 302
    row = risk_settings_get()
    assert (row.user_inactive_days, row.usage_drop_percent, row.task_due_days) == (21, 40, 2)
    bad = _client(manager).post("/tasks/settings/", {**fields, "seats_underused_percent": 0})
    assert bad.status_code == 400


def test_the_page_in_chinese(account: Account, csm: User) -> None:
    _task(account, "Late one", -1)
    csm.language = "zh-hans"
    csm.save(update_fields=["language"])

    html = _client(csm).get("/tasks/").content.decode()

    assert 'lang="zh-hans"' in html
    assert "席位使用不足" in html  # the task type, from the success catalogue
