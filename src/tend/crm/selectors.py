"""Reads of accounts and contacts shared by views, the API and other apps.

The per-account figures (seats, MRR, renewal) come in pairs: ``account_x(account)`` for
one page and ``accounts_x(account_ids)`` for lists — one query for the whole list, never
one per row.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from django.db.models import Count, Min, QuerySet, Sum
from django.db.models.functions import Lower

from tend.core.models import User
from tend.crm.models import Account, Contact, Subscription, SubscriptionStatus, Touchpoint

# Subscriptions that are running: they hold seats and have a renewal ahead.
CURRENT_STATUSES = (
    SubscriptionStatus.TRIAL,
    SubscriptionStatus.ACTIVE,
    SubscriptionStatus.PAST_DUE,
)
# Subscriptions that count as recurring revenue: a trial pays nothing yet.
PAYING_STATUSES = (SubscriptionStatus.ACTIVE, SubscriptionStatus.PAST_DUE)
DEFAULT_CURRENCY: str = Subscription._meta.get_field("currency").default  # type: ignore[assignment]


def accounts_visible_to(user: User) -> QuerySet[Account]:
    if not (user.is_active and user.has_perm("crm.view_account")):
        return Account.objects.none()
    return Account.objects.all()


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    if not (user.is_active and user.has_perm("crm.view_contact")):
        return Contact.objects.none()
    return Contact.objects.select_related("account")


def subscriptions_visible_to(user: User) -> QuerySet[Subscription]:
    if not (user.is_active and user.has_perm("crm.view_subscription")):
        return Subscription.objects.none()
    return Subscription.objects.select_related("account")


def touchpoints_visible_to(user: User) -> QuerySet[Touchpoint]:
    if not (user.is_active and user.has_perm("crm.view_touchpoint")):
        return Touchpoint.objects.none()
    return Touchpoint.objects.select_related("account", "contact", "author")


def contacts_by_email(address: str) -> QuerySet[Contact]:
    """Contacts with this address in any case. Compares Lower(email) so PostgreSQL can
    use the unique index on Lower(email) (email__iexact becomes UPPER() and scans)."""
    return Contact.objects.alias(email_lower=Lower("email")).filter(email_lower=address.lower())


# --- per-account figures ---------------------------------------------------------------


def accounts_seats(account_ids: Iterable[int]) -> dict[int, int]:
    """Seats of trial, active and past-due subscriptions, by account id (0 if none)."""
    ids = list(account_ids)
    result = dict.fromkeys(ids, 0)
    rows = (
        Subscription.objects.filter(account_id__in=ids, status__in=CURRENT_STATUSES)
        .values("account_id")
        .annotate(total=Sum("seats"))
        .values_list("account_id", "total")
    )
    for account_id, total in rows:
        result[account_id] = int(total or 0)
    return result


def accounts_mrr(account_ids: Iterable[int]) -> dict[int, tuple[int, str]]:
    """Monthly recurring revenue of active and past-due subscriptions, by account id, as
    (minor units, ISO currency); (0, DEFAULT_CURRENCY) if none.

    An account pays in one currency in practice. If its subscriptions mix currencies,
    amounts cannot be added without exchange rates, so the figure is that of the
    currency with the most subscriptions (ties: the larger amount) — the main contract.
    """
    ids = list(account_ids)
    sums: dict[int, list[tuple[int, int, str]]] = {}
    rows = (
        Subscription.objects.filter(account_id__in=ids, status__in=PAYING_STATUSES)
        .values("account_id", "currency")
        .annotate(total=Sum("mrr_minor"), n=Count("pk"))
        .values_list("account_id", "currency", "total", "n")
    )
    for account_id, currency, total, n in rows:
        sums.setdefault(account_id, []).append((int(n), int(total or 0), currency))
    result = dict.fromkeys(ids, (0, DEFAULT_CURRENCY))
    for account_id, options in sums.items():
        _n, total, currency = max(options)
        result[account_id] = (total, currency)
    return result


def accounts_renewal(account_ids: Iterable[int]) -> dict[int, date | None]:
    """The earliest renewal or end date of a current subscription, by account id."""
    ids = list(account_ids)
    result: dict[int, date | None] = dict.fromkeys(ids)
    rows = (
        Subscription.objects.filter(
            account_id__in=ids, status__in=CURRENT_STATUSES, renews_on__isnull=False
        )
        .values("account_id")
        .annotate(first=Min("renews_on"))
        .values_list("account_id", "first")
    )
    for account_id, first in rows:
        result[account_id] = first
    return result


def account_seats(account: Account) -> int:
    return accounts_seats([account.pk])[account.pk]


def account_mrr(account: Account) -> tuple[int, str]:
    return accounts_mrr([account.pk])[account.pk]


def account_renewal(account: Account) -> date | None:
    return accounts_renewal([account.pk])[account.pk]


def touchpoint_can_delete(user: User, touchpoint: Touchpoint) -> bool:
    """Who may take an entry off the timeline: its author (who may still log entries),
    or anyone with the delete permission (Managers)."""
    if user.has_perm("crm.delete_touchpoint"):
        return True
    return touchpoint.author_id == user.pk and user.has_perm("crm.add_touchpoint")
