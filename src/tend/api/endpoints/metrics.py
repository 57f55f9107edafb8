"""Usage metrics: definitions (everyone with usage.view_metric reads, Managers and Admins
define) and an account's values with their history."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja import Status as WithStatus
from pydantic import Field

from tend.api.auth import request_user
from tend.api.errors import field_error
from tend.api.filters import reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import Error, Page, StrictIn
from tend.core.roles import require_perm
from tend.crm.selectors import accounts_visible_to
from tend.usage.metrics import metric_create, metric_update
from tend.usage.models import Metric
from tend.usage.selectors import account_metrics, metrics_visible_to

router = Router(tags=["metrics"])

KindName = Literal["event_count", "active_users", "seat_share", "days_since"]
RoleName = Literal["leading", "outcome"]
Window = Literal[7, 30, 90]

KIND_HELP = (
    "event_count: times the event happened in the window; active_users: distinct people "
    "with the event (any event when blank); seat_share: active people ÷ seats of trial, "
    "active and past-due subscriptions (a fraction); days_since: days since the last "
    "matching activity, the window length when there was none in it."
)
PROPERTY_HELP = (
    "Only events whose property has this value. Reads raw events, which are kept for "
    "TEND_EVENTS_KEEP_DAYS (90 by default): the window may not be longer."
)


class MetricOut(Schema):
    id: int
    name: str
    kind: KindName = Field(description=KIND_HELP)
    event: str = Field(description="Blank: any event (not allowed for event_count).")
    property_name: str
    property_value: str
    window_days: int
    role: RoleName
    is_active: bool


class MetricCreateIn(StrictIn):
    name: str = Field(min_length=1, max_length=100)
    kind: KindName = Field(description=KIND_HELP)
    event: str = ""
    property_name: str = Field(default="", description=PROPERTY_HELP)
    property_value: str = ""
    window_days: Window = 30
    role: RoleName = "leading"
    is_active: bool = True


class MetricPatchIn(StrictIn):
    """Only the fields present are changed."""

    name: str | None = Field(default=None, min_length=1, max_length=100)
    kind: KindName | None = None
    event: str | None = None
    property_name: str | None = None
    property_value: str | None = None
    window_days: Window | None = None
    role: RoleName | None = None
    is_active: bool | None = None


class MetricRef(Schema):
    id: int
    name: str
    kind: KindName
    role: RoleName
    window_days: int


class Point(Schema):
    day: date
    value: float


class AccountMetricOut(Schema):
    metric: MetricRef
    value: float | None = Field(description="Newest value; null when none is computed.")
    day: date | None = Field(description="The day the value is for (UTC).")
    history: list[Point] = Field(description="Account-level values, oldest first.")


class AccountMetricsOut(Schema):
    account: int
    items: list[AccountMetricOut]
    count: int


class AccountMetricsParams(StrictIn):
    days: int = Field(default=30, ge=1, le=180, description="Days of history.")


@router.get("/metrics", response={200: Page[MetricOut], 422: Error})
def metric_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    reject_unknown_params(request, PageParams)
    return paginate(metrics_visible_to(request_user(request)).order_by("name", "id"), params)


@router.get("/metrics/{metric_id}", response={200: MetricOut, 404: Error})
def metric_detail(request: HttpRequest, metric_id: int) -> Metric:
    return metrics_visible_to(request_user(request)).get(pk=metric_id)


@router.post("/metrics", response={201: MetricOut, 403: Error, 422: Error})
def metric_post(request: HttpRequest, payload: MetricCreateIn) -> WithStatus[Metric]:
    user = request_user(request)
    require_perm(user, "usage.add_metric")  # 403 before any complaint about the input
    return WithStatus(201, metric_create(actor=user, **payload.model_dump()))


@router.patch("/metrics/{metric_id}", response={200: MetricOut, 403: Error, 404: Error, 422: Error})
def metric_patch(request: HttpRequest, metric_id: int, payload: MetricPatchIn) -> Metric:
    user = request_user(request)
    metric = metrics_visible_to(user).get(pk=metric_id)
    changes = payload.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None:
            raise field_error(name, _("This field cannot be null."))
    return metric_update(actor=user, metric=metric, **changes)


@router.get(
    "/accounts/{account_id}/metrics", response={200: AccountMetricsOut, 404: Error, 422: Error}
)
def account_metric_list(
    request: HttpRequest, account_id: int, params: Query[AccountMetricsParams]
) -> dict[str, Any]:
    reject_unknown_params(request, AccountMetricsParams)
    user = request_user(request)
    account = accounts_visible_to(user).get(pk=account_id)
    lines = account_metrics(user, account, days=params.days)
    items = [
        {
            "metric": line.metric,
            "value": line.value,
            "day": line.day,
            "history": [{"day": day, "value": value} for day, value in line.history],
        }
        for line in lines
    ]
    return {"account": account.pk, "items": items, "count": len(items)}
