"""Reads behind the account and contact lists (and their CSV exports).

The sortable figures (MRR, next renewal) are correlated subqueries on the one list
query, so a page costs the same few queries whatever its length.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import F, IntegerField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.expressions import OrderBy
from django.db.models.functions import Coalesce

from tend.core.models import User
from tend.crm.models import Account, Contact, Subscription
from tend.crm.selectors import (
    CURRENT_STATUSES,
    PAYING_STATUSES,
    accounts_visible_to,
    contacts_visible_to,
)

# sort key → annotation or field; "-" in front of the key sorts descending.
ACCOUNT_SORTS = {
    "name": "name",
    "mrr": "mrr_sort",
    "renewal": "renewal_sort",
    "lifecycle": "lifecycle",
}


@dataclass(frozen=True)
class AccountListFilters:
    q: str = ""
    segment: str = ""
    lifecycle: str = ""
    owner: str = ""  # a user id, "none" for accounts without a CSM, or ""
    sort: str = "name"


@dataclass(frozen=True)
class ContactListFilters:
    q: str = ""
    account: int | None = None
    role: str = ""


def csm_candidates() -> QuerySet[User]:
    """Active staff who may look after accounts (the CSM choices)."""
    perm = Q(
        groups__permissions__codename="view_account",
        groups__permissions__content_type__app_label="crm",
    ) | Q(
        user_permissions__codename="view_account",
        user_permissions__content_type__app_label="crm",
    )
    ids = User.objects.filter(is_active=True).filter(perm | Q(is_superuser=True)).values("pk")
    return User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "username")


def accounts_listed(user: User, filters: AccountListFilters) -> QuerySet[Account]:
    """The account list ``user`` may see, filtered, with mrr_sort and renewal_sort."""
    qs = accounts_visible_to(user)
    if filters.q:
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(external_id__iexact=filters.q)
            | Q(pk__in=Account.objects.filter(domains__domain__icontains=filters.q).values("pk"))
        )
    if filters.segment:
        qs = qs.filter(segment=filters.segment)
    if filters.lifecycle:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif filters.owner.isdigit():
        qs = qs.filter(owner_id=int(filters.owner))
    subs = Subscription.objects.filter(account=OuterRef("pk")).order_by()
    mrr = (
        subs.filter(status__in=PAYING_STATUSES)
        .values("account")
        .annotate(total=Sum("mrr_minor"))
        .values("total")
    )
    renewal = (
        subs.filter(status__in=CURRENT_STATUSES, renews_on__isnull=False)
        .order_by("renews_on")
        .values("renews_on")[:1]
    )
    qs = qs.annotate(
        mrr_sort=Coalesce(Subquery(mrr), 0, output_field=IntegerField()),
        renewal_sort=Subquery(renewal),
    ).select_related("owner", "parent")
    return qs.order_by(*_ordering(filters.sort))


def _ordering(sort: str) -> list[OrderBy]:
    descending = sort.startswith("-")
    column = ACCOUNT_SORTS.get(sort.lstrip("-"), "name")
    primary = F(column).desc(nulls_last=True) if descending else F(column).asc(nulls_last=True)
    return [primary, F("name").asc(), F("pk").asc()]


def account_segments() -> list[str]:
    """Segments in use, for the filter's choices."""
    return list(
        Account.objects.exclude(segment="")
        .order_by("segment")
        .values_list("segment", flat=True)
        .distinct()
    )


def contacts_listed(user: User, filters: ContactListFilters) -> QuerySet[Contact]:
    qs = contacts_visible_to(user)
    if filters.q:
        qs = qs.filter(
            Q(name__icontains=filters.q)
            | Q(email__icontains=filters.q)
            | Q(external_id__iexact=filters.q)
            | Q(title__icontains=filters.q)
        )
    if filters.account is not None:
        qs = qs.filter(account_id=filters.account)
    if filters.role:
        # Roles are a JSON list; matching its quoted value works on SQLite and PostgreSQL
        # alike (no role value is part of another one's quoted form).
        qs = qs.filter(roles__icontains=f'"{filters.role}"')
    return qs.order_by("name", "email", "pk")
