"""Reads of accounts and contacts shared by views, the API and other apps."""

from __future__ import annotations

from django.db.models import QuerySet

from tend.core.models import User
from tend.crm.models import Account, Contact


def accounts_visible_to(user: User) -> QuerySet[Account]:
    if not (user.is_active and user.has_perm("crm.view_account")):
        return Account.objects.none()
    return Account.objects.all()


def contacts_visible_to(user: User) -> QuerySet[Contact]:
    if not (user.is_active and user.has_perm("crm.view_contact")):
        return Contact.objects.none()
    return Contact.objects.select_related("account")
