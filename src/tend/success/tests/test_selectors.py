"""Reads of tasks: mine by status and due date, counts per account, an account's list."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Account
from tend.success.models import Task, TaskOutcome, TaskStatus, TaskType
from tend.success.selectors import (
    account_tasks,
    my_tasks_grouped,
    open_tasks_count_by_account,
    task_owners,
    tasks_for,
    tasks_visible_to,
)
from tend.success.services import task_close, task_raise, task_snooze
from tend.success.tests.conftest import TODAY


def _task(account: Account, key: str, due_in: int) -> Task:
    task = task_raise(account=account, type=TaskType.TICKET_SPIKE, reason="r", reason_key=key)
    Task.objects.filter(pk=task.pk).update(due_on=TODAY + timedelta(days=due_in))
    task.refresh_from_db()
    return task


def test_tasks_for_filters_by_status_and_due(account: Account, csm: User) -> None:
    late, now, later = _task(account, "a", -1), _task(account, "b", 0), _task(account, "c", 2)
    snoozed = _task(account, "d", 0)
    # From the real today: TODAY is fixed when the tests start and a run may cross midnight.
    task_snooze(actor=csm, task=snoozed, until=timezone.localdate() + timedelta(days=1))

    assert list(tasks_for(csm)) == [late, now, later]
    assert list(tasks_for(csm, due="overdue", today=TODAY)) == [late]
    assert list(tasks_for(csm, due="today", today=TODAY)) == [now]
    assert list(tasks_for(csm, due="upcoming", today=TODAY)) == [later]
    assert list(tasks_for(csm, status=TaskStatus.SNOOZED)) == [snoozed]
    assert tasks_for(csm, status=None).count() == 4


def test_groups_and_counts(account: Account, csm: User, other_csm: User) -> None:
    _task(account, "a", -3)
    _task(account, "b", 0)
    closed = _task(account, "c", 1)
    task_close(actor=csm, task=closed, outcome=TaskOutcome.RESOLVED)
    other = Account.objects.create(name="Other", owner=other_csm)
    _task(other, "x", 0)

    groups = my_tasks_grouped(csm, today=TODAY)

    assert [len(groups.overdue), len(groups.today), len(groups.upcoming)] == [1, 1, 0]
    assert open_tasks_count_by_account([account.pk, other.pk]) == {account.pk: 2, other.pk: 1}
    assert open_tasks_count_by_account([]) == {}
    assert [t.status for t in account_tasks(account)] == ["open", "open", "closed"]
    assert account_tasks(account, include_closed=False).count() == 2


def test_who_sees_tasks(account: Account, csm: User, agent: User, readonly: User) -> None:
    _task(account, "a", 0)
    nobody = User.objects.create_user(username="nobody")

    assert tasks_visible_to(agent).count() == 1
    assert tasks_visible_to(readonly).count() == 1
    assert tasks_visible_to(nobody).count() == 0
    assert csm in task_owners() and agent not in task_owners()
