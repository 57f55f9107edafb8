"""Reads of survey answers that the staff UI, the API, health and the timeline share.

Scores are counted in the database (one aggregate query per result, one grouped query
per table or trend) with the thresholds of tend.surveys.scores, so a page of results
costs the same whether it sums ten answers or a hundred thousand.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from django.db.models import Count, F, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Account
from tend.surveys import scores
from tend.surveys.models import Response, Survey, SurveyKind

GroupBy = Literal["account", "csm", "segment"]
DateLike = dt.date | dt.datetime


@dataclass(frozen=True, slots=True)
class Result:
    """The score of a set of answers and how they split.

    For NPS ``positive``/``neutral``/``negative`` are promoters/passives/detractors.
    ``score`` is None when nobody answered."""

    kind: str
    score: float | None
    responses: int
    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def promoters(self) -> int:
        return self.positive

    @property
    def passives(self) -> int:
        return self.neutral

    @property
    def detractors(self) -> int:
        return self.negative

    def as_dict(self) -> dict[str, Any]:
        """The API's shape: NPS names its splits as NPS readers expect."""
        out: dict[str, Any] = {
            "type": self.kind,
            "score": None if self.score is None else round(self.score, 1),
            "responses": self.responses,
        }
        if self.kind == SurveyKind.NPS:
            out |= {
                "promoters": self.positive,
                "passives": self.neutral,
                "detractors": self.negative,
            }
        else:
            out |= {"positive": self.positive, "neutral": self.neutral, "negative": self.negative}
        return out


@dataclass(frozen=True, slots=True)
class GroupRow:
    key: int | str | None  # account id, CSM user id, or the segment's name
    label: str
    result: Result


# --- filters ------------------------------------------------------------------------------


def _start(value: DateLike) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    return timezone.make_aware(dt.datetime.combine(value, dt.time.min))


def _end(value: DateLike) -> dt.datetime:
    """Exclusive end: a date means "up to and including that day"."""
    if isinstance(value, dt.datetime):
        return value
    return _start(value + dt.timedelta(days=1))


def _pk(value: Any) -> Any:
    return getattr(value, "pk", value)


def filtered(
    *,
    kind: str | None = None,
    since: DateLike | None = None,
    until: DateLike | None = None,
    account: Account | int | None = None,
    csm: User | int | None = None,
    segment: str | None = None,
    survey: Survey | int | None = None,
    qs: QuerySet[Response] | None = None,
) -> QuerySet[Response]:
    """Answers matching the filters the results screens and the API share."""
    qs = Response.objects.all() if qs is None else qs
    if kind:
        qs = qs.filter(kind=kind)
    if since is not None:
        qs = qs.filter(created_at__gte=_start(since))
    if until is not None:
        qs = qs.filter(created_at__lt=_end(until))
    if account is not None:
        qs = qs.filter(account_id=_pk(account))
    if csm is not None:
        qs = qs.filter(csm_id=_pk(csm))
    if segment is not None:
        qs = qs.filter(segment=segment)
    if survey is not None:
        qs = qs.filter(survey_id=_pk(survey))
    return qs


def _split_counts(kind: str) -> dict[str, Any]:
    """Aggregates counting the three splits; CES reads each answer's own scale."""
    if kind == SurveyKind.CES:
        positive = Q(score__gte=F("scale_max") - 1)
    else:
        positive = Q(score__gte=scores.positive_from(kind))
    negative = Q(score__lte=scores.negative_to(kind))
    return {
        "n": Count("pk"),
        "pos": Count("pk", filter=positive),
        "neg": Count("pk", filter=negative),
    }


def _result(kind: str, row: Mapping[str, Any]) -> Result:
    total, positive, negative = row["n"] or 0, row["pos"] or 0, row["neg"] or 0
    return Result(
        kind=kind,
        score=scores.score_from_counts(kind, positive=positive, negative=negative, total=total),
        responses=total,
        positive=positive,
        neutral=total - positive - negative,
        negative=negative,
    )


def _check_kind(kind: str) -> str:
    if kind not in SurveyKind.values:
        raise ValueError(f"unknown survey type {kind!r}")
    return kind


# --- results ------------------------------------------------------------------------------


def results(*, kind: str, **filters: Any) -> Result:
    """The score of every answer of ``kind`` matching the filters (since, until,
    account, csm, segment, survey)."""
    _check_kind(kind)
    row = filtered(kind=kind, **filters).aggregate(**_split_counts(kind))
    return _result(kind, row)


def _month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months_back(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def results_by_month(
    *, kind: str, months: int = 12, today: dt.date | None = None, **filters: Any
) -> list[tuple[dt.date, Result]]:
    """The last ``months`` calendar months (oldest first, the current one last), each
    with its result; months nobody answered in are present with a None score."""
    _check_kind(kind)
    today = today or timezone.localdate()
    last = _month_start(today)
    first = _months_back(last, months - 1)
    qs = filtered(kind=kind, **filters).filter(created_at__gte=_start(first))
    rows = (
        qs.annotate(month=TruncMonth("created_at"))
        .values("month")
        .annotate(**_split_counts(kind))
        .order_by("month")
    )
    by_month: dict[dt.date, Result] = {}
    for row in rows:
        month = row["month"]
        if isinstance(month, dt.datetime):
            month = timezone.localtime(month).date() if timezone.is_aware(month) else month.date()
        by_month[month] = _result(kind, row)
    return [
        (m, by_month.get(m, Result(kind=kind, score=None, responses=0)))
        for m in (_months_back(last, n) for n in range(months - 1, -1, -1))
    ]


def results_grouped(*, kind: str, by: GroupBy, **filters: Any) -> list[GroupRow]:
    """One result per account, CSM or segment, most answers first."""
    _check_kind(kind)
    field = {"account": "account_id", "csm": "csm_id", "segment": "segment"}.get(by)
    if field is None:
        raise ValueError(f"cannot group by {by!r}")
    rows = list(
        filtered(kind=kind, **filters)
        .values(field)
        .annotate(**_split_counts(kind))
        .order_by("-n", field)
    )
    keys = [row[field] for row in rows]
    labels: dict[Any, str] = {}
    if by == "account":
        labels = dict(
            Account.objects.filter(pk__in=[k for k in keys if k]).values_list("pk", "name")
        )
    elif by == "csm":
        labels = {
            u.pk: u.get_full_name() or u.get_username()
            for u in User.objects.filter(pk__in=[k for k in keys if k])
        }
    return [
        GroupRow(
            key=row[field],
            label=labels.get(row[field], "") if by != "segment" else row[field],
            result=_result(kind, row),
        )
        for row in rows
    ]


# --- answers ------------------------------------------------------------------------------


def responses_for(user: User, **filters: Any) -> QuerySet[Response]:
    """Answers the user may read, newest first (none without surveys.view_response)."""
    if not (user.is_active and user.has_perm("surveys.view_response")):
        return Response.objects.none()
    qs = Response.objects.select_related("survey", "contact", "account", "csm", "ticket")
    return filtered(qs=qs, **filters).order_by("-created_at", "-pk")


def account_responses(account: Account | int, *, limit: int = 20) -> list[Response]:
    """The account's latest answers, newest first (its timeline and page)."""
    return list(
        Response.objects.filter(account_id=_pk(account))
        .select_related("survey", "contact")
        .order_by("-created_at", "-pk")[:limit]
    )


def account_survey_score(
    account_ids: Sequence[int] | None,
    *,
    kind: str = "nps",
    as_of: DateLike,
    days: int = 180,
) -> dict[int, float]:
    """account id → its score over the answers of the ``days`` days up to ``as_of``
    (a date includes that whole day). Accounts nobody answered for are left out, so
    health can tell "no answers" from a score of 0."""
    _check_kind(kind)
    end = _end(as_of)
    qs = Response.objects.filter(
        kind=kind,
        account__isnull=False,
        created_at__lt=end,
        created_at__gte=end - dt.timedelta(days=days),
    )
    if account_ids is not None:
        qs = qs.filter(account_id__in=list(account_ids))
    out: dict[int, float] = {}
    for row in qs.values("account_id").annotate(**_split_counts(kind)).order_by():
        score = _result(kind, row).score
        if score is not None:
            out[row["account_id"]] = score
    return out
