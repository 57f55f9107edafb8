"""Health: models and their versions, an account's score (with explanation), history and
user grades, and the focus list."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja import Status as WithStatus
from pydantic import Field

from tend.api.auth import request_user
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import Error, Page, StrictIn
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Account
from tend.crm.selectors import accounts_visible_to
from tend.health import selectors
from tend.health.models import HealthModel, HealthModelVersion, HealthSnapshot
from tend.health.services import health_model_create, health_version_create

router = Router(tags=["health"])

CONFIG_HELP = (
    'Measures (key, kind: metric|urgent_tickets|ticket_volume_30d|nps|onboarding, "metric" id '
    'for metric measures, weight — weights add up to 100 —, "scale": steps|linear, '
    "thresholds [[value, points], ...]), bands {red_below, green_from} and overrides "
    "[{when: champion_gone|no_activity_30d|urgent_ticket_open, band}]."
)


class VersionOut(Schema):
    number: int
    config: dict[str, Any]
    created_at: datetime
    created_by: int | None = Field(None, alias="created_by_id")


class HealthModelOut(Schema):
    id: int
    name: str
    segment: str = Field(description="Blank: any segment.")
    lifecycle: str = Field(description="Blank: any lifecycle stage.")
    is_active: bool
    version: VersionOut | None = Field(None, description="The version scoring accounts now.")

    @staticmethod
    def resolve_version(obj: HealthModel) -> HealthModelVersion | None:
        return obj.versions.order_by("-number").first()


class HealthModelIn(StrictIn):
    name: str
    segment: str = ""
    lifecycle: str = ""
    is_active: bool = True
    config: dict[str, Any] = Field(description=CONFIG_HELP)


class VersionIn(StrictIn):
    config: dict[str, Any] = Field(description=CONFIG_HELP)


class SnapshotOut(Schema):
    day: date
    score: float | None
    band: str = Field(description='"red", "yellow", "green", or "" when nothing had a value.')


class HealthOut(SnapshotOut):
    trend: Literal["up", "down", "flat"]
    model: str | None
    version: int | None
    explanation: dict[str, Any] = Field(
        description="measures: [{key, kind, value, points, weight, effective_weight, "
        "contribution}], override: {when, band} | null, score_band: the band before overrides."
    )


class GradeOut(Schema):
    contact: int = Field(alias="contact_id")
    contact_name: str
    account: int = Field(alias="account_id")
    day: date
    grade: str
    score: float | None

    @staticmethod
    def resolve_contact_name(obj: Any) -> str:
        return str(obj.contact.display_name)


class FocusParams(PageParams):
    all: bool = Field(False, description="Every visible account, not just the ones you own.")


def _models(user: User) -> Any:
    return selectors.health_models_visible_to(user)


def _account(user: User, account_id: int) -> Account:
    require_perm(user, "health.view_healthsnapshot")
    return accounts_visible_to(user).get(pk=account_id)  # DoesNotExist → 404


@router.get("/health/models", response={200: list[HealthModelOut], 403: Error})
def health_model_list(request: HttpRequest) -> list[HealthModel]:
    user = request_user(request)
    require_perm(user, "health.view_healthmodel")
    return list(_models(user))


@router.get("/health/models/{model_id}", response={200: HealthModelOut, 403: Error, 404: Error})
def health_model_detail(request: HttpRequest, model_id: int) -> HealthModel:
    user = request_user(request)
    require_perm(user, "health.view_healthmodel")
    return _models(user).get(pk=model_id)  # type: ignore[no-any-return]


@router.post("/health/models", response={201: HealthModelOut, 403: Error, 422: Error})
def health_model_post(request: HttpRequest, payload: HealthModelIn) -> WithStatus[HealthModel]:
    user = request_user(request)
    require_perm(user, "health.add_healthmodel")
    model = health_model_create(actor=user, **payload.model_dump())
    return WithStatus(201, model)


@router.post(
    "/health/models/{model_id}/versions",
    response={201: VersionOut, 403: Error, 404: Error, 422: Error},
)
def health_version_post(
    request: HttpRequest, model_id: int, payload: VersionIn
) -> WithStatus[HealthModelVersion]:
    user = request_user(request)
    require_perm(user, "health.add_healthmodelversion")
    model = _models(user).get(pk=model_id)
    return WithStatus(201, health_version_create(actor=user, model=model, config=payload.config))


@router.get("/accounts/{account_id}/health", response={200: HealthOut, 403: Error, 404: Error})
def account_health(request: HttpRequest, account_id: int) -> dict[str, Any]:
    account = _account(request_user(request), account_id)
    snapshot = selectors.account_health(account)
    if snapshot is None:
        raise HealthSnapshot.DoesNotExist("No health score yet.")
    version = snapshot.version
    return {
        "day": snapshot.day,
        "score": snapshot.score,
        "band": snapshot.band,
        "trend": selectors.health_trend(account),
        "model": version.model.name if version else None,
        "version": version.number if version else None,
        "explanation": snapshot.explanation,
    }


@router.get(
    "/accounts/{account_id}/health/history",
    response={200: list[SnapshotOut], 403: Error, 404: Error},
)
def account_health_history(
    request: HttpRequest, account_id: int, days: int = Query(180, ge=1, le=730)
) -> list[HealthSnapshot]:
    return selectors.health_history(_account(request_user(request), account_id), days=days)


@router.get("/accounts/{account_id}/grades", response={200: dict[str, int], 403: Error, 404: Error})
def account_grades(request: HttpRequest, account_id: int) -> dict[str, int]:
    user = request_user(request)
    require_perm(user, "health.view_contactgrade")
    return selectors.grade_distribution(accounts_visible_to(user).get(pk=account_id))


@router.get("/health/focus", response={200: Page[GradeOut], 403: Error})
def health_focus(request: HttpRequest, params: Query[FocusParams]) -> dict[str, Any]:
    user = request_user(request)
    require_perm(user, "health.view_contactgrade")
    if params.all:
        qs = selectors.focus_list(None).filter(account__in=accounts_visible_to(user))
    else:
        qs = selectors.focus_list(user)
    return paginate(qs, params)
