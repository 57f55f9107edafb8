"""Health reads shared by the account page, lists, the API and other apps.

Views check permissions by choosing what to show; these functions that take a ``user``
filter by it themselves, so a caller cannot forget.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Literal

from django.db.models import Count, Max, OuterRef, QuerySet, Subquery

from tend.core.models import User
from tend.crm.models import Account
from tend.health.grades import FOCUS_GRADES, GRADE_ORDER
from tend.health.models import ContactGrade, HealthModel, HealthSnapshot

# A score that moved less than this over a week reads as "flat": daily noise (one more
# ticket, a quiet day) should not flip the arrow.
TREND_MIN_CHANGE = 3.0
TREND_DAYS = 7

Trend = Literal["up", "down", "flat"]


def account_health(account: Account) -> HealthSnapshot | None:
    """The account's latest snapshot (None before its first recompute)."""
    return (
        HealthSnapshot.objects.filter(account=account)
        .select_related("version__model")
        .order_by("-day")
        .first()
    )


def account_health_many(account_ids: Iterable[int]) -> dict[int, HealthSnapshot]:
    """Latest snapshot per account for a list page: one query whatever the length."""
    ids = list(account_ids)
    if not ids:
        return {}
    latest_day = (
        HealthSnapshot.objects.filter(account_id=OuterRef("account_id"))
        .order_by("-day")
        .values("day")[:1]
    )
    rows = HealthSnapshot.objects.filter(account_id__in=ids, day=Subquery(latest_day))
    return {s.account_id: s for s in rows}


def health_history(account: Account, days: int = 180) -> list[HealthSnapshot]:
    """Snapshots of the last ``days`` days (counted back from the latest), oldest first."""
    latest = account_health(account)
    if latest is None:
        return []
    since = latest.day - timedelta(days=days - 1)
    return list(
        HealthSnapshot.objects.filter(account=account, day__gte=since)
        .only("day", "score", "band")
        .order_by("day")
    )


def health_week_ago(account: Account) -> HealthSnapshot | None:
    """The snapshot the trend compares with: the latest one a week or more before the
    account's latest snapshot."""
    latest = account_health(account)
    if latest is None:
        return None
    return (
        HealthSnapshot.objects.filter(
            account=account, day__lte=latest.day - timedelta(days=TREND_DAYS)
        )
        .order_by("-day")
        .first()
    )


def trend_between(now: float | None, before: float | None) -> Trend:
    if now is None or before is None:
        return "flat"
    if now - before >= TREND_MIN_CHANGE:
        return "up"
    if before - now >= TREND_MIN_CHANGE:
        return "down"
    return "flat"


def health_trend(account: Account) -> Trend:
    """ "up"/"down" when the score moved by ``TREND_MIN_CHANGE`` or more against a week
    before; "flat" otherwise, or without two snapshots to compare."""
    latest = account_health(account)
    before = health_week_ago(account)
    return trend_between(latest.score if latest else None, before.score if before else None)


def _latest_grade_day(account: Account | None = None) -> date | None:
    qs = (
        ContactGrade.objects.all()
        if account is None
        else ContactGrade.objects.filter(account=account)
    )
    return qs.aggregate(d=Max("day"))["d"]


def grade_distribution(account: Account) -> dict[str, int]:
    """Grade → number of the account's users with it on the latest graded day (every
    grade present, best first, zeros included)."""
    out = dict.fromkeys(GRADE_ORDER, 0)
    day = _latest_grade_day(account)
    if day is None:
        return out
    rows = (
        ContactGrade.objects.filter(account=account, day=day)
        .values("grade")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for row in rows:
        out[row["grade"]] = row["n"]
    return out


def focus_list(user: User | None) -> QuerySet[ContactGrade]:
    """The latest grades of C and B− on accounts ``user`` looks after (all accounts when
    ``user`` is None), highest score first: users close enough to convert to be worth a
    CSM's time. Empty for a user who may not see grades."""
    if user is not None and not (user.is_active and user.has_perm("health.view_contactgrade")):
        return ContactGrade.objects.none()
    day = _latest_grade_day()
    if day is None:
        return ContactGrade.objects.none()
    # Each account's own latest graded day (a recompute of some accounts may run ahead
    # of the others), looking back at most a week so old history is never scanned.
    account_latest = (
        ContactGrade.objects.filter(account=OuterRef("account"), day__gte=day - timedelta(days=7))
        .order_by("-day")
        .values("day")[:1]
    )
    qs = ContactGrade.objects.filter(
        day__gte=day - timedelta(days=7), day=Subquery(account_latest), grade__in=FOCUS_GRADES
    )
    if user is not None:
        qs = qs.filter(account__owner=user)
    return qs.select_related("contact", "account").order_by("-score", "contact_id")


def health_models_visible_to(user: User) -> QuerySet[HealthModel]:
    if not (user.is_active and user.has_perm("health.view_healthmodel")):
        return HealthModel.objects.none()
    return HealthModel.objects.annotate(
        version_count=Count("versions"), latest_number=Max("versions__number")
    ).order_by("-is_active", "name")
