"""Survey answers and scores: the same filters as the staff results screen."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import Field

from tend.api.auth import request_user
from tend.api.errors import field_error
from tend.api.filters import reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import ContactRef, Error, Page, StrictIn
from tend.core.models import User
from tend.core.roles import require_perm
from tend.surveys.models import Response
from tend.surveys.selectors import responses_for, results

router = Router(tags=["surveys"])

SurveyType = Literal["nps", "csat", "ces"]


class SurveyFilters(StrictIn):
    since: date | None = Field(default=None, description="Answers given on or after this day.")
    until: date | None = Field(default=None, description="Answers given on or before this day.")
    account: int | None = Field(default=None, description="Account id.")
    csm: str | None = Field(
        default=None, description='The CSM\'s user id (at the time of the answer) or "me".'
    )
    segment: str | None = Field(
        default=None, description="Exact match (at the time of the answer)."
    )
    survey: int | None = Field(default=None, description="Survey id.")

    def selector_filters(self, user: User) -> dict[str, Any]:
        if self.since and self.until and self.since > self.until:
            raise field_error("until", _("The end of the period is before its start."))
        out: dict[str, Any] = {
            "since": self.since,
            "until": self.until,
            "account": self.account,
            "segment": self.segment,
            "survey": self.survey,
        }
        if self.csm is not None:
            value = self.csm.strip().lower()
            if value == "me":
                out["csm"] = user.pk
            elif value.isdigit():
                out["csm"] = int(value)
            else:
                raise field_error("csm", _('Expected a user id or "me".'))
        return {k: v for k, v in out.items() if v is not None}


class ResultFilters(SurveyFilters):
    type: SurveyType = Field(description="nps, csat or ces.")


class ResponseFilters(SurveyFilters, PageParams):
    type: SurveyType | None = None
    contact: int | None = Field(default=None, description="Contact id.")


class ResultOut(Schema):
    type: SurveyType
    score: float | None = Field(
        description="NPS −100..100; CSAT and CES 0..100 (% positive). Null without answers."
    )
    responses: int
    promoters: int | None = Field(default=None, description="NPS only: 9–10.")
    passives: int | None = Field(default=None, description="NPS only: 7–8.")
    detractors: int | None = Field(default=None, description="NPS only: 0–6.")
    positive: int | None = Field(default=None, description="CSAT 4–5; CES the top two points.")
    neutral: int | None = None
    negative: int | None = Field(default=None, description="CSAT and CES: 1–2.")


class ResponseOut(Schema):
    id: int
    survey: int
    type: SurveyType
    score: int
    scale_max: int
    comment: str
    contact: ContactRef
    account: int | None
    ticket: int | None = Field(description="Ticket number, for answers about a ticket.")
    csm: int | None
    segment: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_survey(obj: Response) -> int:
        return obj.survey_id

    @staticmethod
    def resolve_type(obj: Response) -> str:
        return obj.kind

    @staticmethod
    def resolve_account(obj: Response) -> int | None:
        return obj.account_id

    @staticmethod
    def resolve_ticket(obj: Response) -> int | None:
        return obj.ticket.number if obj.ticket is not None else None

    @staticmethod
    def resolve_csm(obj: Response) -> int | None:
        return obj.csm_id


@router.get("/surveys/results", response={200: ResultOut, 403: Error, 422: Error})
def survey_results(request: HttpRequest, filters: Query[ResultFilters]) -> dict[str, Any]:
    """The score of the answers matching the filters, and how they split."""
    reject_unknown_params(request, ResultFilters)
    user = request_user(request)
    require_perm(user, "surveys.view_response")
    return results(kind=filters.type, **filters.selector_filters(user)).as_dict()


@router.get("/surveys/responses", response={200: Page[ResponseOut], 403: Error, 422: Error})
def survey_response_list(request: HttpRequest, filters: Query[ResponseFilters]) -> dict[str, Any]:
    """Answers, newest first."""
    reject_unknown_params(request, ResponseFilters)
    user = request_user(request)
    require_perm(user, "surveys.view_response")
    qs = responses_for(user, kind=filters.type, **filters.selector_filters(user))
    if filters.contact is not None:
        qs = qs.filter(contact_id=filters.contact)
    return paginate(qs, filters)
