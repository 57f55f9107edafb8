"""Accounts and contacts: list, read, create."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.db.models.functions import Lower
from django.http import HttpRequest
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
    ContactCreateIn,
    ContactOut,
    Error,
    Page,
)
from tend.core.roles import require_perm
from tend.crm.models import Account, Contact
from tend.crm.selectors import accounts_visible_to, contacts_visible_to
from tend.crm.services import account_create, contact_create

router = Router(tags=["accounts and contacts"])


class AccountFilters(PageParams):
    external_id: str | None = Field(default=None, description="Exact match.")
    domain: str | None = Field(default=None, description="Exact email domain, e.g. acme.com.")
    q: str | None = Field(default=None, description="Part of the name.")


class ContactFilters(PageParams):
    email: str | None = Field(default=None, description="Exact match, any case.")
    external_id: str | None = None
    account: int | None = Field(default=None, description="Account id.")
    q: str | None = Field(default=None, description="Part of the name or email.")


@router.get("/accounts", response={200: Page[AccountOut], 422: Error})
def account_list(request: HttpRequest, filters: Query[AccountFilters]) -> dict[str, Any]:
    reject_unknown_params(request, AccountFilters)
    qs = accounts_visible_to(request_user(request)).prefetch_related("domains")
    qs = qs.order_by("name", "id")
    if filters.external_id is not None:
        qs = qs.filter(external_id=filters.external_id)
    if filters.domain:
        qs = qs.filter(domains__domain=filters.domain.strip().lower().lstrip("@"))
    if filters.q:
        qs = qs.filter(name__icontains=filters.q.strip())
    return paginate(qs, filters)


@router.get("/accounts/{account_id}", response={200: AccountOut, 404: Error})
def account_detail(request: HttpRequest, account_id: int) -> Account:
    return accounts_visible_to(request_user(request)).prefetch_related("domains").get(pk=account_id)


@router.post("/accounts", response={201: AccountOut, 403: Error, 422: Error})
def account_post(request: HttpRequest, payload: AccountCreateIn) -> WithStatus[Account]:
    account = account_create(
        actor=request_user(request),
        name=payload.name,
        domains=payload.domains,
        external_id=payload.external_id,
    )
    return WithStatus(201, Account.objects.prefetch_related("domains").get(pk=account.pk))


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
    account = None
    if payload.account is not None:
        account = accounts_visible_to(user).filter(pk=payload.account).first()
        if account is None:
            raise field_error("account", _("No account with id %(id)s.") % {"id": payload.account})
    contact = contact_create(actor=user, email=payload.email, name=payload.name, account=account)
    return WithStatus(201, Contact.objects.select_related("account").get(pk=contact.pk))
