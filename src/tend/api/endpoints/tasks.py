"""Customer-success tasks (calls to action) and the risk thresholds."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja import Status as WithStatus
from pydantic import Field

from tend.api.auth import request_user
from tend.api.errors import field_error
from tend.api.filters import reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import Error, Page, StrictIn
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Contact
from tend.crm.selectors import accounts_visible_to
from tend.success import services
from tend.success.models import RiskSettings, Task, TaskOutcome, TaskStatus, TaskType
from tend.success.selectors import tasks_visible_to

router = Router(tags=["tasks"])


class TaskOut(Schema):
    id: int
    account: int = Field(validation_alias="account_id")
    contact: int | None = Field(validation_alias="contact_id")
    type: TaskType
    title: str
    reason: str
    owner: int | None = Field(validation_alias="owner_id")
    due_on: date
    status: TaskStatus
    snoozed_until: date | None
    outcome: str
    outcome_note: str
    created_at: datetime
    closed_at: datetime | None


class TaskFilters(PageParams):
    owner: str = Field(
        default="me", description='"me" (default), "any", or a user id.', pattern=r"^(me|any|\d+)$"
    )
    status: TaskStatus | None = Field(default=TaskStatus.OPEN, description="Default: open.")
    account: int | None = Field(default=None, description="Account id.")
    due: Literal["overdue", "today", "upcoming"] | None = None


class TaskCreateIn(StrictIn):
    account: int
    title: str = Field(min_length=1, max_length=300)
    reason: str = ""
    due_on: date | None = None
    owner: int | None = Field(default=None, description="User id; default: the account's CSM.")
    contact: int | None = None


class SnoozeIn(StrictIn):
    until: date


class CloseIn(StrictIn):
    outcome: TaskOutcome
    note: str = ""


class ReassignIn(StrictIn):
    owner: int | None


class RiskSettingsOut(Schema):
    user_inactive_days: int
    account_inactive_days: int
    usage_drop_percent: int
    champion_inactive_days: int
    seats_underused_percent: int
    ticket_spike_count: int
    renewal_days: int
    task_due_days: int


class RiskSettingsIn(StrictIn):
    user_inactive_days: int | None = None
    account_inactive_days: int | None = None
    usage_drop_percent: int | None = None
    champion_inactive_days: int | None = None
    seats_underused_percent: int | None = None
    ticket_spike_count: int | None = None
    renewal_days: int | None = None
    task_due_days: int | None = None


def _user_or_422(user_id: int | None, field: str) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise field_error(field, _("No such user."))
    return user


@router.get("/tasks", response={200: Page[TaskOut], 422: Error})
def task_list(request: HttpRequest, filters: Query[TaskFilters]) -> dict[str, Any]:
    reject_unknown_params(request, TaskFilters)
    user = request_user(request)
    qs = tasks_visible_to(user)
    if filters.owner == "me":
        qs = qs.filter(owner=user)
    elif filters.owner != "any":
        qs = qs.filter(owner_id=int(filters.owner))
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    if filters.account is not None:
        qs = qs.filter(account_id=filters.account)
    if filters.due is not None:
        today = timezone.localdate()
        lookup = {"overdue": "due_on__lt", "today": "due_on", "upcoming": "due_on__gt"}
        qs = qs.filter(**{lookup[filters.due]: today})
    return paginate(qs.order_by("due_on", "id"), filters)


@router.get("/tasks/{task_id}", response={200: TaskOut, 404: Error})
def task_detail(request: HttpRequest, task_id: int) -> Task:
    return tasks_visible_to(request_user(request)).get(pk=task_id)


@router.post("/tasks", response={201: TaskOut, 403: Error, 422: Error})
def task_post(request: HttpRequest, payload: TaskCreateIn) -> WithStatus[Task]:
    user = request_user(request)
    require_perm(user, "success.add_task")
    account = accounts_visible_to(user).filter(pk=payload.account).first()
    if account is None:
        raise field_error("account", _("No such account."))
    contact = None
    if payload.contact is not None:
        contact = Contact.objects.filter(pk=payload.contact).first()
        if contact is None:
            raise field_error("contact", _("No such contact."))
    task = services.task_create(
        actor=user,
        account=account,
        title=payload.title,
        reason=payload.reason,
        due_on=payload.due_on,
        owner=_user_or_422(payload.owner, "owner"),
        contact=contact,
    )
    return WithStatus(201, task)


@router.post("/tasks/{task_id}/snooze", response={200: TaskOut, 403: Error, 404: Error, 422: Error})
def task_snooze(request: HttpRequest, task_id: int, payload: SnoozeIn) -> Task:
    user = request_user(request)
    task = get_object_or_404(tasks_visible_to(user), pk=task_id)
    return services.task_snooze(actor=user, task=task, until=payload.until)


@router.post("/tasks/{task_id}/close", response={200: TaskOut, 403: Error, 404: Error, 422: Error})
def task_close(request: HttpRequest, task_id: int, payload: CloseIn) -> Task:
    user = request_user(request)
    task = get_object_or_404(tasks_visible_to(user), pk=task_id)
    return services.task_close(actor=user, task=task, outcome=payload.outcome, note=payload.note)


@router.post(
    "/tasks/{task_id}/reassign", response={200: TaskOut, 403: Error, 404: Error, 422: Error}
)
def task_reassign(request: HttpRequest, task_id: int, payload: ReassignIn) -> Task:
    user = request_user(request)
    task = get_object_or_404(tasks_visible_to(user), pk=task_id)
    owner = _user_or_422(payload.owner, "owner")
    return services.task_reassign(actor=user, task=task, owner=owner)


@router.get("/risk-settings", response={200: RiskSettingsOut, 403: Error})
def risk_settings_detail(request: HttpRequest) -> RiskSettings:
    require_perm(request_user(request), "success.view_risksettings")
    return services.risk_settings_get()


@router.patch("/risk-settings", response={200: RiskSettingsOut, 403: Error, 422: Error})
def risk_settings_patch(request: HttpRequest, payload: RiskSettingsIn) -> RiskSettings:
    changes = payload.model_dump(exclude_unset=True, exclude_none=True)
    return services.risk_settings_update(actor=request_user(request), **changes)
