"""Set-based reads the risk signals need: one query per signal for all accounts at once
(never a query per account), returning plain dicts and tuples keyed by account id.

``account_ids=None`` means every account that is not churned. Days are local dates;
"as of day D" windows end with D (or with D-1 where a partial day would mislead).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum
from django.utils import timezone

from tend.crm.models import Account, Contact, Lifecycle, Subscription
from tend.crm.selectors import CURRENT_STATUSES
from tend.desk.models import UNRESOLVED_STATUSES, Priority, Ticket
from tend.health.models import HealthSnapshot
from tend.usage import selectors as usage_selectors

# Subscriptions that count: the customer is using (or trying) what they pay for — the
# statuses crm counts as an account's seats (crm.selectors.accounts_seats).
LIVE_SUBSCRIPTIONS = CURRENT_STATUSES


def start_of(day: date) -> datetime:
    """Midnight at the start of ``day`` in the project's time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def accounts_in_scope(account_ids: Collection[int] | None) -> QuerySet[Account]:
    qs = Account.objects.exclude(lifecycle=Lifecycle.CHURNED)
    if account_ids is not None:
        qs = qs.filter(pk__in=list(account_ids))
    return qs


def _scoped[Q_: QuerySet](
    qs: Q_, account_ids: Collection[int] | None, field: str = "account"
) -> Q_:
    qs = qs.exclude(**{f"{field}__lifecycle": Lifecycle.CHURNED})
    if account_ids is not None:
        qs = qs.filter(**{f"{field}_id__in": list(account_ids)})
    return qs


@dataclass(frozen=True)
class SeenContact:
    id: int
    account_id: int
    roles: list[str]
    last_seen_at: datetime
    name: str  # what the task shows: name, else email, else the product's user id


def contacts_last_seen_between(
    account_ids: Collection[int] | None, since: datetime, before: datetime
) -> list[SeenContact]:
    """Contacts of an account last seen in [since, before): they were active once and
    have not been since. Roles are filtered by the caller (JSON containment has no
    portable lookup on SQLite)."""
    qs = _scoped(Contact.objects.filter(account__isnull=False), account_ids).filter(
        last_seen_at__gte=since, last_seen_at__lt=before
    )
    rows = qs.values_list(
        "pk", "account_id", "roles", "last_seen_at", "name", "email", "external_id"
    )
    return [
        SeenContact(pk, account_id, list(roles or []), seen, name or email or external_id)
        for pk, account_id, roles, seen, name, email, external_id in rows
        if seen is not None and account_id is not None
    ]


def accounts_last_seen_between(
    account_ids: Collection[int] | None, since: datetime, before: datetime
) -> dict[int, datetime]:
    qs = accounts_in_scope(account_ids).filter(last_seen_at__gte=since, last_seen_at__lt=before)
    return {pk: seen for pk, seen in qs.values_list("pk", "last_seen_at") if seen is not None}


def _churned(account_ids: Collection[int] | None) -> set[int]:
    qs = Account.objects.filter(lifecycle=Lifecycle.CHURNED)
    if account_ids is not None:
        qs = qs.filter(pk__in=list(account_ids))
    return set(qs.values_list("pk", flat=True))


def _ids(account_ids: Collection[int] | None) -> list[int] | None:
    return None if account_ids is None else list(account_ids)


def weekly_counts(account_ids: Collection[int] | None, day: date) -> dict[int, tuple[int, int]]:
    """Events per account in the 7 complete days before ``day`` and in the 7 before
    those: {account_id: (last_week, week_before)}. ``day`` itself is left out: the
    evaluation runs early in the morning, and a few hours would read as a collapse."""
    rows = usage_selectors.weekly_counts(_ids(account_ids), weeks=2, day=day - timedelta(days=1))
    churned = _churned(account_ids) if rows else set()
    return {
        account_id: (weeks[1], weeks[0])
        for account_id, weeks in rows.items()
        if account_id not in churned
    }


def active_users(account_ids: Collection[int] | None, day: date, days: int) -> dict[int, int]:
    """Distinct people with any event in the ``days`` days ending with ``day``."""
    return usage_selectors.active_users_by_account(_ids(account_ids), days, day)


def seats(account_ids: Collection[int] | None, day: date, settled_days: int) -> dict[int, int]:
    """Seats paid for per account, counting live subscriptions that started at least
    ``settled_days`` before ``day``: a customer is not "under-using" seats bought last
    week. Accounts without such seats are left out."""
    qs = _scoped(
        Subscription.objects.filter(
            status__in=LIVE_SUBSCRIPTIONS, starts_on__lte=day - timedelta(days=settled_days)
        ),
        account_ids,
    )
    rows = qs.order_by().values("account_id").annotate(n=Sum("seats")).filter(n__gt=0)
    return {row["account_id"]: int(row["n"]) for row in rows}


def tickets_since(account_ids: Collection[int] | None, since: datetime) -> dict[int, int]:
    qs = _scoped(Ticket.objects.filter(account__isnull=False, created_at__gte=since), account_ids)
    rows = qs.values("account_id").annotate(n=Count("pk"))
    return {row["account_id"]: row["n"] for row in rows}


@dataclass(frozen=True)
class UrgentTicket:
    id: int
    account_id: int
    number: int
    subject: str


def urgent_tickets_since(
    account_ids: Collection[int] | None, since: datetime
) -> list[UrgentTicket]:
    """Unresolved urgent tickets opened since ``since``."""
    qs = _scoped(
        Ticket.objects.filter(
            account__isnull=False,
            priority=Priority.URGENT,
            status__in=list(UNRESOLVED_STATUSES),
            created_at__gte=since,
        ),
        account_ids,
    )
    return [
        UrgentTicket(*row)
        for row in qs.values_list("pk", "account_id", "number", "subject").order_by("pk")
    ]


def renewals_while(
    account_ids: Collection[int] | None, day: date, within_days: int, band: str
) -> dict[int, date]:
    """Accounts whose latest health band (as of ``day``) is ``band`` and whose next live
    subscription renews within ``within_days``: {account_id: renews_on}."""
    latest_band = (
        HealthSnapshot.objects.filter(account=OuterRef("account_id"), day__lte=day)
        .order_by("-day")
        .values("band")[:1]
    )
    qs = _scoped(
        Subscription.objects.filter(
            status__in=LIVE_SUBSCRIPTIONS,
            renews_on__gte=day,
            renews_on__lte=day + timedelta(days=within_days),
        ),
        account_ids,
    )
    rows = (
        qs.annotate(band=Subquery(latest_band))
        .filter(band=band)
        .values_list("account_id", "renews_on")
        .order_by("account_id", "renews_on")
    )
    found: dict[int, date] = {}
    for account_id, renews_on in rows:
        if renews_on is not None:
            found.setdefault(account_id, renews_on)  # the earliest renewal
    return found
