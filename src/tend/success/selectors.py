"""Reads of customer-success tasks shared by the web UI, the API and the cockpit."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth.models import Group
from django.db.models import Case, Count, F, Q, QuerySet, Value, When
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Account
from tend.success.models import Task, TaskStatus

DUE_FILTERS = ("overdue", "today", "upcoming")


def tasks_visible_to(user: User) -> QuerySet[Task]:
    if not (user.is_active and user.has_perm("success.view_task")):
        return Task.objects.none()
    return Task.objects.select_related("account", "contact", "owner")


def tasks_for(
    user: User,
    *,
    status: str | None = TaskStatus.OPEN,
    due: str | None = None,
    today: date | None = None,
) -> QuerySet[Task]:
    """The user's own tasks, soonest due first. ``status`` None means any status;
    ``due`` is "overdue", "today" or "upcoming" (relative to ``today``)."""
    qs = tasks_visible_to(user).filter(owner=user)
    if status is not None:
        qs = qs.filter(status=status)
    today = today or timezone.localdate()
    if due == "overdue":
        qs = qs.filter(due_on__lt=today)
    elif due == "today":
        qs = qs.filter(due_on=today)
    elif due == "upcoming":
        qs = qs.filter(due_on__gt=today)
    elif due is not None:
        raise ValueError(f"unknown due filter {due!r}")
    return qs.order_by("due_on", "pk")


@dataclass
class TaskGroups:
    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    upcoming: list[Task] = field(default_factory=list)
    snoozed: list[Task] = field(default_factory=list)

    @property
    def open_count(self) -> int:
        return len(self.overdue) + len(self.today) + len(self.upcoming)


def my_tasks_grouped(user: User, *, today: date | None = None) -> TaskGroups:
    """The "My tasks" page: open tasks by due date, then the snoozed ones. One query."""
    today = today or timezone.localdate()
    groups = TaskGroups()
    qs = tasks_visible_to(user).filter(owner=user).exclude(status=TaskStatus.CLOSED)
    for task in qs.order_by("due_on", "pk"):
        if task.status == TaskStatus.SNOOZED:
            groups.snoozed.append(task)
        elif task.due_on < today:
            groups.overdue.append(task)
        elif task.due_on == today:
            groups.today.append(task)
        else:
            groups.upcoming.append(task)
    groups.snoozed.sort(key=lambda t: (t.snoozed_until or today, t.pk))
    return groups


def open_tasks_count_by_account(account_ids: Collection[int]) -> dict[int, int]:
    """Open (not snoozed, not closed) tasks per account, for the cockpit's list."""
    if not account_ids:
        return {}
    rows = (
        Task.objects.filter(account_id__in=list(account_ids), status=TaskStatus.OPEN)
        .values("account_id")
        .annotate(n=Count("pk"))
    )
    return {row["account_id"]: row["n"] for row in rows}


def account_tasks(account: Account, *, include_closed: bool = True) -> QuerySet[Task]:
    """An account's tasks for its 360 page: open and snoozed first, by due date, then
    the closed ones, newest first. Callers check the viewer may see tasks."""
    qs = Task.objects.filter(account=account).select_related("owner", "contact")
    if not include_closed:
        return qs.exclude(status=TaskStatus.CLOSED).order_by("due_on", "pk")
    closed_last = Case(When(status=TaskStatus.CLOSED, then=Value(1)), default=Value(0))
    return qs.annotate(closed_last=closed_last).order_by(
        "closed_last", F("closed_at").desc(nulls_last=True), "due_on", "pk"
    )


def task_owners() -> QuerySet[User]:
    """Active staff who may work on tasks (the rule task_reassign enforces)."""
    perm = Q(permissions__codename="change_task", permissions__content_type__app_label="success")
    direct = Q(
        user_permissions__codename="change_task",
        user_permissions__content_type__app_label="success",
    )
    grouped = Q(groups__in=Group.objects.filter(perm))
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | grouped | direct)
        .distinct()
        .order_by("first_name", "last_name", "username")
    )
