"""Reads behind the CSM cockpit: the "My accounts" table and the account 360 header.

Every per-account figure (health, trend, MRR, renewal, open tasks) is a correlated
subquery on the one account query, so a page of 30 accounts costs the same number of
queries as a page of one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Count,
    F,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from tend.core.models import User
from tend.core.money import money_format
from tend.crm.models import Account, Subscription
from tend.crm.selectors import (
    CURRENT_STATUSES,
    PAYING_STATUSES,
    accounts_mrr,
    accounts_visible_to,
)
from tend.health.models import HealthSnapshot
from tend.health.selectors import TREND_DAYS, trend_between
from tend.success.models import Task, TaskStatus

# The trend arrow and the open-task count use the health and success apps' own rules
# (their selectors say so for single accounts); here they are subqueries so the list
# can sort and filter on them.
OPEN_TASK = (TaskStatus.OPEN,)

SORTS: dict[str, str] = {
    "name": "name",
    "health": "health_score",
    "trend": "health_delta",
    "mrr": "mrr_minor",
    "renewal": "renews_on",
    "tasks": "open_tasks",
    "lifecycle": "lifecycle",
    "segment": "segment",
}


@dataclass(frozen=True)
class AccountFilters:
    scope: str = "mine"  # mine | all | unassigned
    q: str = ""
    band: str = ""
    lifecycle: str = ""
    segment: str = ""
    renewal_days: int | None = None
    sort: str = "name"  # a key of SORTS, "-" in front for descending


def accounts_annotated(qs: QuerySet[Account]) -> QuerySet[Account]:
    """``qs`` with health_score/health_band/health_day, health_delta (against the newest
    snapshot a week or more older), mrr_minor (paying subscriptions, for sorting),
    seats, renews_on and open_tasks — one query however many rows."""
    latest = HealthSnapshot.objects.filter(account=OuterRef("pk")).order_by("-day")
    week_older = HealthSnapshot.objects.filter(
        account=OuterRef("account"),
        day__lte=OuterRef("day") - dt.timedelta(days=TREND_DAYS),
    ).order_by("-day")
    latest_with_before = latest.annotate(before=Subquery(week_older.values("score")[:1]))
    current = Subscription.objects.filter(account=OuterRef("pk"), status__in=CURRENT_STATUSES)
    paying = Subscription.objects.filter(account=OuterRef("pk"), status__in=PAYING_STATUSES)
    mrr = paying.order_by().values("account").annotate(total=Sum("mrr_minor")).values("total")
    seats = current.order_by().values("account").annotate(total=Sum("seats")).values("total")
    tasks = (
        Task.objects.filter(account=OuterRef("pk"), status__in=OPEN_TASK)
        .order_by()
        .values("account")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return qs.annotate(
        health_score=Subquery(latest.values("score")[:1]),
        health_band=Subquery(latest.values("band")[:1]),
        health_day=Subquery(latest.values("day")[:1]),
        health_before=Subquery(latest_with_before.values("before")[:1]),
        health_delta=F("health_score") - F("health_before"),
        mrr_minor=Coalesce(Subquery(mrr), 0, output_field=IntegerField()),
        seats=Coalesce(Subquery(seats), 0, output_field=IntegerField()),
        # The next renewal; one already past while the contract runs shows as overdue.
        renews_on=Subquery(
            current.filter(renews_on__isnull=False).order_by("renews_on").values("renews_on")[:1]
        ),
        open_tasks=Coalesce(Subquery(tasks), 0, output_field=IntegerField()),
    ).select_related("owner")


def accounts_decorate(accounts: list[Account]) -> list[Account]:
    """Display values for a page of annotated accounts: trend arrow and MRR text (the
    crm app's figure: it knows how to treat mixed currencies). One query per page."""
    mrr = accounts_mrr([a.pk for a in accounts])
    for account in accounts:
        extra: Any = account
        extra.trend = trend_of(extra.health_score, extra.health_before)
        minor, currency = mrr[account.pk]
        extra.mrr_display = money_format(minor, currency) if minor else ""
    return accounts


def my_accounts(user: User, filters: AccountFilters) -> QuerySet[Account]:
    """The cockpit's account table for ``user``, filtered and sorted."""
    qs = accounts_visible_to(user)
    if filters.scope == "mine":
        qs = qs.filter(owner=user)
    elif filters.scope == "unassigned":
        qs = qs.filter(owner__isnull=True)
    if filters.q:
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(external_id__iexact=filters.q)
            | Q(domains__domain__icontains=filters.q)
        ).distinct()
    if filters.lifecycle:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.segment:
        qs = qs.filter(segment=filters.segment)
    qs = accounts_annotated(qs)
    # Q objects: these filter on the annotations above, which the type checker cannot see.
    if filters.band == "none":
        qs = qs.filter(Q(health_band__isnull=True))
    elif filters.band:
        qs = qs.filter(Q(health_band=filters.band))
    if filters.renewal_days is not None:
        horizon = timezone.localdate() + dt.timedelta(days=filters.renewal_days)
        qs = qs.filter(Q(renews_on__isnull=False) & Q(renews_on__lte=horizon))
    key = filters.sort.lstrip("-")
    field = SORTS.get(key, "name")
    descending = filters.sort.startswith("-")
    # Missing values (no score yet, no renewal date) sort last in both directions.
    order = F(field).desc(nulls_last=True) if descending else F(field).asc(nulls_last=True)
    return qs.order_by(order, "name", "pk")


def trend_of(score: float | None, before: float | None) -> str:
    """The health app's arrow, or "" when there is no week-older score to compare."""
    if score is None or before is None:
        return ""
    return trend_between(score, before)
