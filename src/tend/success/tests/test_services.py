"""Raising, snoozing, closing and reassigning tasks; the thresholds; who may do what."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Account
from tend.success.models import Task, TaskOutcome, TaskStatus, TaskType
from tend.success.services import (
    RAISE_COOLDOWN_DAYS,
    risk_settings_get,
    risk_settings_update,
    task_close,
    task_create,
    task_raise,
    task_raise_full,
    task_reassign,
    task_snooze,
    tasks_wake,
)


def _raise(account: Account, key: str = "k", **kw: Any) -> Task:
    return task_raise(
        account=account, type=TaskType.SEATS_UNDERUSED, reason="2 of 10 seats", reason_key=key, **kw
    )


def test_a_raised_task_goes_to_the_accounts_csm_due_in_the_configured_days(
    account: Account, csm: User
) -> None:
    task = _raise(account)

    assert task.owner == csm
    assert task.status == TaskStatus.OPEN
    assert task.due_on == timezone.localdate() + timedelta(days=3)
    assert task.reason == "2 of 10 seats"
    assert task.title == "Seats under-used: Acme"


def test_the_same_signal_raised_twice_finds_the_open_task(account: Account) -> None:
    first = _raise(account)
    again = _raise(account)

    assert again.pk == first.pk
    assert Task.objects.count() == 1
    assert _raise(account, key="other").pk != first.pk  # another reason is another task


def test_the_database_refuses_a_second_live_task_for_one_signal(account: Account) -> None:
    # The race task_raise handles: two writers both saw no task and both insert.
    first = _raise(account)
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.create(
            account=account,
            type=first.type,
            title="dup",
            dedupe_key=first.dedupe_key,
            due_on=first.due_on,
        )


def test_a_snoozed_task_is_not_raised_again(account: Account, csm: User) -> None:
    task = _raise(account)
    task_snooze(actor=csm, task=task, until=timezone.localdate() + timedelta(days=5))

    again = _raise(account)

    assert again.pk == task.pk
    assert again.status == TaskStatus.SNOOZED


def test_a_closed_signal_stays_quiet_during_the_cool_down_then_comes_back(
    account: Account, csm: User
) -> None:
    today = timezone.localdate()
    task = _raise(account)
    task_close(actor=csm, task=task, outcome=TaskOutcome.RESOLVED, note="Called them")

    same_day = task_raise_full(
        account=account, type=TaskType.SEATS_UNDERUSED, reason="x", reason_key="k", today=today
    )
    assert not same_day.created and same_day.task.pk == task.pk

    last_quiet_day = today + timedelta(days=RAISE_COOLDOWN_DAYS - 1)
    assert not task_raise_full(
        account=account,
        type=TaskType.SEATS_UNDERUSED,
        reason="x",
        reason_key="k",
        today=last_quiet_day,
    ).created

    later = task_raise_full(
        account=account,
        type=TaskType.SEATS_UNDERUSED,
        reason="x",
        reason_key="k",
        today=today + timedelta(days=RAISE_COOLDOWN_DAYS),
    )
    assert later.created and later.task.pk != task.pk
    assert Task.objects.filter(status=TaskStatus.CLOSED).count() == 1


def test_snooze_then_wake_on_the_day(account: Account, csm: User) -> None:
    task = _raise(account)
    until = timezone.localdate() + timedelta(days=2)
    task_snooze(actor=csm, task=task, until=until)

    assert tasks_wake(day=until - timedelta(days=1)) == 0
    assert tasks_wake(day=until) == 1
    task.refresh_from_db()
    assert task.status == TaskStatus.OPEN and task.snoozed_until is None


def test_snooze_needs_a_future_day_and_an_open_task(account: Account, csm: User) -> None:
    task = _raise(account)
    with pytest.raises(ValidationError):
        task_snooze(actor=csm, task=task, until=timezone.localdate())
    task_close(actor=csm, task=task, outcome=TaskOutcome.NO_ACTION)
    with pytest.raises(ValidationError):
        task_snooze(actor=csm, task=task, until=timezone.localdate() + timedelta(days=1))


def test_close_records_outcome_and_note(account: Account, csm: User) -> None:
    task = task_close(actor=csm, task=_raise(account), outcome=TaskOutcome.ESCALATED, note=" VP ")

    assert task.status == TaskStatus.CLOSED
    assert task.outcome == TaskOutcome.ESCALATED and task.outcome_note == "VP"
    assert task.closed_at is not None
    with pytest.raises(ValidationError):
        task_close(actor=csm, task=_raise(account, key="b"), outcome="bogus")


def test_manual_task_defaults_to_the_csm_and_is_never_deduplicated(
    account: Account, csm: User, manager: User
) -> None:
    one = task_create(actor=manager, account=account, title="  Plan the QBR ")
    two = task_create(actor=manager, account=account, title="Plan the QBR")

    assert one.title == "Plan the QBR" and one.owner == csm and one.type == TaskType.MANUAL
    assert one.pk != two.pk
    with pytest.raises(ValidationError):
        task_create(actor=manager, account=account, title="  ")


def test_reassign_only_to_someone_who_can_work_tasks(
    account: Account, csm: User, other_csm: User, agent: User
) -> None:
    task = _raise(account)
    assert task_reassign(actor=csm, task=task, owner=other_csm).owner == other_csm
    with pytest.raises(ValidationError):
        task_reassign(actor=csm, task=task, owner=agent)


def test_who_may_change_tasks(account: Account, agent: User, readonly: User) -> None:
    task = _raise(account)
    for user in (agent, readonly):
        with pytest.raises(PermissionDenied):
            task_close(actor=user, task=task, outcome=TaskOutcome.RESOLVED)
        with pytest.raises(PermissionDenied):
            task_snooze(actor=user, task=task, until=timezone.localdate() + timedelta(days=1))
        with pytest.raises(PermissionDenied):
            task_create(actor=user, account=account, title="x")


def test_thresholds_are_changed_by_managers_only(manager: User, csm: User) -> None:
    with pytest.raises(PermissionDenied):
        risk_settings_update(actor=csm, user_inactive_days=3)

    risk_settings_update(actor=manager, user_inactive_days=3, task_due_days=1)

    row = risk_settings_get()
    assert (row.user_inactive_days, row.task_due_days) == (3, 1)
    with pytest.raises(ValidationError):
        risk_settings_update(actor=manager, seats_underused_percent=150)
    with pytest.raises(ValidationError):
        risk_settings_update(actor=manager, nonsense=1)


def test_the_due_days_setting_applies_to_new_tasks(account: Account, manager: User) -> None:
    risk_settings_update(actor=manager, task_due_days=10)

    assert _raise(account).due_on == timezone.localdate() + timedelta(days=10)


def test_the_reason_is_written_in_the_owners_language(account: Account, csm: User) -> None:
    csm.language = "zh-hans"
    csm.save(update_fields=["language"])
    account.refresh_from_db()

    task = _raise(account)

    assert task.title.startswith("席位")
