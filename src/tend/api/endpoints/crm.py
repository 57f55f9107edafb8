"""Accounts, contacts, subscriptions and touchpoints: list, read, create, change; delete an
account, a contact or a subscription (audited)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja import Status as WithStatus
from pydantic import Field

from tend.api.auth import request_user
from tend.api.errors import field_error
from tend.api.filters import reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import (
    AccountCreateIn,
    AccountOut,
    AccountPatchIn,
    ContactCreateIn,
    ContactOut,
    ContactPatchIn,
    Error,
    Page,
    SubscriptionCreateIn,
    SubscriptionOut,
    SubscriptionPatchIn,
    TouchpointCreateIn,
    TouchpointOut,
)
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Account, Contact, Lifecycle, Role, Subscription, Touchpoint
from tend.crm.selectors import (
    accounts_mrr,
    accounts_renewal,
    accounts_seats,
    accounts_visible_to,
    contacts_visible_to,
    subscriptions_visible_to,
    touchpoints_visible_to,
)
from tend.crm.services import (
    account_create,
    account_delete,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
    subscription_create,
    subscription_delete,
    subscription_update,
    touchpoint_create,
)
from tend.health.selectors import account_health_many

router = Router(tags=["accounts and contacts"])


class AccountFilters(PageParams):
    external_id: str | None = Field(default=None, description="Exact match.")
    domain: str | None = Field(default=None, description="Exact email domain, e.g. acme.com.")
    q: str | None = Field(default=None, description="Part of the name.")
    owner: str | None = Field(default=None, description='CSM\'s user id, "me" or "none".')
    segment: str | None = Field(default=None, description="Exact match.")
    lifecycle: Lifecycle | None = None
    parent: int | None = Field(default=None, description="Parent account id.")


class ContactFilters(PageParams):
    email: str | None = Field(default=None, description="Exact match, any case.")
    external_id: str | None = None
    account: int | None = Field(default=None, description="Account id.")
    role: Role | None = Field(default=None, description="Contacts with this role.")
    q: str | None = Field(default=None, description="Part of the name or email.")


# --- helpers ----------------------------------------------------------------------------


def _with_figures(user: User, accounts: Sequence[Account]) -> Sequence[Account]:
    """Attach seats, MRR, renewal and health for AccountOut: one query each per page."""
    ids = [a.pk for a in accounts]
    seats, mrr, renewal = accounts_seats(ids), accounts_mrr(ids), accounts_renewal(ids)
    health = {}
    if user.has_perm("health.view_healthsnapshot"):
        health = account_health_many(ids)
    for account in accounts:
        account.api_seats = seats[account.pk]  # type: ignore[attr-defined]
        account.api_mrr = mrr[account.pk]  # type: ignore[attr-defined]
        account.api_renews_on = renewal[account.pk]  # type: ignore[attr-defined]
        snapshot = health.get(account.pk)
        account.api_health = (  # type: ignore[attr-defined]
            None if snapshot is None else {"score": snapshot.score, "band": snapshot.band}
        )
    return accounts


def _accounts(user: User) -> Any:
    return accounts_visible_to(user).select_related("parent", "owner").prefetch_related("domains")


def _account_out(user: User, account_id: int) -> Account:
    account = _accounts(user).get(pk=account_id)
    _with_figures(user, [account])
    return account  # type: ignore[no-any-return]


def _visible_account(user: User, account_id: int) -> Account:
    """The account of a nested URL (404 when the user may not see it)."""
    return accounts_visible_to(user).get(pk=account_id)


def _account_field(user: User, field: str, account_id: int | None) -> Account | None:
    if account_id is None:
        return None
    account = accounts_visible_to(user).filter(pk=account_id).first()
    if account is None:
        raise field_error(field, _("No account with id %(id)s.") % {"id": account_id})
    return account


def _staff_field(field: str, user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise field_error(field, _("No staff user with id %(id)s.") % {"id": user_id})
    return user


def _owner_filter(value: str, user: User) -> Q:
    value = value.strip().lower()
    if value == "me":
        return Q(owner=user)
    if value == "none":
        return Q(owner__isnull=True)
    if not value.isdigit():
        raise field_error("owner", _('Expected a user id, "me" or "none".'))
    return Q(owner_id=int(value))


# --- accounts ---------------------------------------------------------------------------


@router.get("/accounts", response={200: Page[AccountOut], 422: Error})
def account_list(request: HttpRequest, filters: Query[AccountFilters]) -> dict[str, Any]:
    reject_unknown_params(request, AccountFilters)
    user = request_user(request)
    qs = _accounts(user).order_by("name", "id")
    if filters.external_id is not None:
        qs = qs.filter(external_id=filters.external_id)
    if filters.domain:
        qs = qs.filter(domains__domain=filters.domain.strip().lower().lstrip("@"))
    if filters.q:
        qs = qs.filter(name__icontains=filters.q.strip())
    if filters.owner:
        qs = qs.filter(_owner_filter(filters.owner, user))
    if filters.segment is not None:
        qs = qs.filter(segment=filters.segment)
    if filters.lifecycle is not None:
        qs = qs.filter(lifecycle=filters.lifecycle)
    if filters.parent is not None:
        qs = qs.filter(parent_id=filters.parent)
    page = paginate(qs, filters)
    _with_figures(user, page["items"])
    return page


@router.get("/accounts/{account_id}", response={200: AccountOut, 404: Error})
def account_detail(request: HttpRequest, account_id: int) -> Account:
    return _account_out(request_user(request), account_id)


@router.post("/accounts", response={201: AccountOut, 403: Error, 422: Error})
def account_post(request: HttpRequest, payload: AccountCreateIn) -> WithStatus[Account]:
    user = request_user(request)
    require_perm(user, "crm.add_account")  # 403 before any complaint about the input
    account = account_create(
        actor=user,
        name=payload.name,
        domains=payload.domains,
        external_id=payload.external_id,
        parent=_account_field(user, "parent", payload.parent),
        owner=_staff_field("owner", payload.owner),
        segment=payload.segment,
        tier=payload.tier,
        lifecycle=payload.lifecycle,
        notes=payload.notes,
        traits=payload.traits,
    )
    return WithStatus(201, _account_out(user, account.pk))


@router.patch(
    "/accounts/{account_id}", response={200: AccountOut, 403: Error, 404: Error, 422: Error}
)
def account_patch(request: HttpRequest, account_id: int, payload: AccountPatchIn) -> Account:
    user = request_user(request)
    account = _visible_account(user, account_id)
    require_perm(user, "crm.change_account")
    changes = payload.model_dump(exclude_unset=True)
    if "parent" in changes:
        changes["parent"] = _account_field(user, "parent", payload.parent)
    if "owner" in changes:
        changes["owner"] = _staff_field("owner", payload.owner)
    account_update(actor=user, account=account, **changes)
    return _account_out(user, account.pk)


# --- contacts ---------------------------------------------------------------------------


@router.get("/contacts", response={200: Page[ContactOut], 422: Error})
def contact_list(request: HttpRequest, filters: Query[ContactFilters]) -> dict[str, Any]:
    reject_unknown_params(request, ContactFilters)
    qs = contacts_visible_to(request_user(request)).order_by("name", "email", "id")
    if filters.email:
        qs = qs.alias(email_lower=Lower("email")).filter(email_lower=filters.email.strip().lower())
    if filters.external_id is not None:
        qs = qs.filter(external_id=filters.external_id)
    if filters.account is not None:
        qs = qs.filter(account_id=filters.account)
    if filters.role is not None:
        # JSON "contains" is not portable to SQLite; a role is a quoted word in the list.
        qs = qs.filter(roles__icontains=f'"{filters.role.value}"')
    if filters.q:
        term = filters.q.strip()
        qs = qs.filter(Q(name__icontains=term) | Q(email__icontains=term))
    return paginate(qs, filters)


@router.get("/contacts/{contact_id}", response={200: ContactOut, 404: Error})
def contact_detail(request: HttpRequest, contact_id: int) -> Contact:
    return contacts_visible_to(request_user(request)).get(pk=contact_id)


@router.post("/contacts", response={201: ContactOut, 403: Error, 422: Error})
def contact_post(request: HttpRequest, payload: ContactCreateIn) -> WithStatus[Contact]:
    user = request_user(request)
    require_perm(user, "crm.add_contact")  # 403 before any complaint about the input
    contact = contact_create(
        actor=user,
        email=payload.email,
        name=payload.name,
        account=_account_field(user, "account", payload.account),
        external_id=payload.external_id,
        other_emails=payload.other_emails,
        phones=payload.phones,
        social=payload.social,
        roles=payload.roles,
        evangelist_stage=payload.evangelist_stage,
        title=payload.title,
        traits=payload.traits,
    )
    return WithStatus(201, Contact.objects.select_related("account").get(pk=contact.pk))


@router.patch(
    "/contacts/{contact_id}", response={200: ContactOut, 403: Error, 404: Error, 422: Error}
)
def contact_patch(request: HttpRequest, contact_id: int, payload: ContactPatchIn) -> Contact:
    user = request_user(request)
    contact = contacts_visible_to(user).get(pk=contact_id)
    require_perm(user, "crm.change_contact")
    changes = payload.model_dump(exclude_unset=True)
    if "account" in changes:
        changes["account"] = _account_field(user, "account", payload.account)
    contact_update(actor=user, contact=contact, **changes)
    return Contact.objects.select_related("account").get(pk=contact.pk)


@router.delete("/accounts/{account_id}", response={204: None, 403: Error, 404: Error})
def account_remove(request: HttpRequest, account_id: int, reason: str = "") -> HttpResponse:
    """Delete an account for good (audited): its email domains, subscriptions, timeline,
    tasks, health history and product usage go with it; its contacts, tickets, survey
    answers and child accounts stay, without it."""
    user = request_user(request)
    account = _visible_account(user, account_id)
    account_delete(actor=user, account=account, reason=reason)
    return HttpResponse(status=204)


@router.delete("/contacts/{contact_id}", response={204: None, 403: Error, 404: Error, 422: Error})
def contact_remove(request: HttpRequest, contact_id: int, reason: str = "") -> HttpResponse:
    """Delete a contact for good (audited). Refused while the contact has tickets."""
    user = request_user(request)
    contact = contacts_visible_to(user).get(pk=contact_id)
    contact_delete(actor=user, contact=contact, reason=reason)
    return HttpResponse(status=204)


# --- subscriptions ----------------------------------------------------------------------


@router.get(
    "/accounts/{account_id}/subscriptions",
    response={200: Page[SubscriptionOut], 404: Error, 422: Error},
)
def subscription_list(
    request: HttpRequest, account_id: int, filters: Query[PageParams]
) -> dict[str, Any]:
    reject_unknown_params(request, PageParams)
    user = request_user(request)
    account = _visible_account(user, account_id)
    return paginate(subscriptions_visible_to(user).filter(account=account), filters)


@router.post(
    "/accounts/{account_id}/subscriptions",
    response={201: SubscriptionOut, 403: Error, 404: Error, 422: Error},
)
def subscription_post(
    request: HttpRequest, account_id: int, payload: SubscriptionCreateIn
) -> WithStatus[Subscription]:
    user = request_user(request)
    account = _visible_account(user, account_id)
    subscription = subscription_create(actor=user, account=account, **payload.model_dump())
    return WithStatus(201, Subscription.objects.select_related("account").get(pk=subscription.pk))


@router.get("/subscriptions/{subscription_id}", response={200: SubscriptionOut, 404: Error})
def subscription_detail(request: HttpRequest, subscription_id: int) -> Subscription:
    return subscriptions_visible_to(request_user(request)).get(pk=subscription_id)


@router.patch(
    "/subscriptions/{subscription_id}",
    response={200: SubscriptionOut, 403: Error, 404: Error, 422: Error},
)
def subscription_patch(
    request: HttpRequest, subscription_id: int, payload: SubscriptionPatchIn
) -> Subscription:
    user = request_user(request)
    subscription = subscriptions_visible_to(user).get(pk=subscription_id)
    subscription_update(
        actor=user, subscription=subscription, **payload.model_dump(exclude_unset=True)
    )
    return Subscription.objects.select_related("account").get(pk=subscription.pk)


@router.delete("/subscriptions/{subscription_id}", response={204: None, 403: Error, 404: Error})
def subscription_remove(
    request: HttpRequest, subscription_id: int, reason: str = ""
) -> HttpResponse:
    """Delete a subscription entered by mistake (audited); a contract that ended is
    cancelled or expired with PATCH instead."""
    user = request_user(request)
    subscription = subscriptions_visible_to(user).get(pk=subscription_id)
    subscription_delete(actor=user, subscription=subscription, reason=reason)
    return HttpResponse(status=204)


# --- touchpoints ------------------------------------------------------------------------


@router.get(
    "/accounts/{account_id}/touchpoints",
    response={200: Page[TouchpointOut], 404: Error, 422: Error},
)
def touchpoint_list(
    request: HttpRequest, account_id: int, filters: Query[PageParams]
) -> dict[str, Any]:
    """Newest first."""
    reject_unknown_params(request, PageParams)
    user = request_user(request)
    account = _visible_account(user, account_id)
    return paginate(touchpoints_visible_to(user).filter(account=account), filters)


@router.post(
    "/accounts/{account_id}/touchpoints",
    response={201: TouchpointOut, 403: Error, 404: Error, 422: Error},
)
def touchpoint_post(
    request: HttpRequest, account_id: int, payload: TouchpointCreateIn
) -> WithStatus[Touchpoint]:
    user = request_user(request)
    account = _visible_account(user, account_id)
    require_perm(user, "crm.add_touchpoint")  # 403 before any complaint about the input
    contact = None
    if payload.contact is not None:
        contact = contacts_visible_to(user).filter(pk=payload.contact).first()
        if contact is None:
            raise field_error("contact", _("No contact with id %(id)s.") % {"id": payload.contact})
    touchpoint = touchpoint_create(
        actor=user,
        account=account,
        kind=payload.kind,
        subject=payload.subject,
        body=payload.body,
        happened_at=payload.happened_at or timezone.now(),
        contact=contact,
    )
    return WithStatus(201, touchpoints_visible_to(user).get(pk=touchpoint.pk))
