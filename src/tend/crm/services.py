"""Every write to accounts and contacts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.commit import after_commit
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm import events
from tend.crm.models import Account, AccountDomain, Contact
from tend.crm.search import index_account, index_contact


def normalize_email(email: str) -> str:
    """Trim and lower-case an address; raise a clear ValidationError if it isn't one."""
    cleaned = (email or "").strip().lower()
    try:
        validate_email(cleaned)
    except ValidationError:
        raise ValidationError(
            {"email": _("“%(email)s” is not a valid email address.") % {"email": email}}
        ) from None
    return cleaned


def contacts_by_email(address: str) -> QuerySet[Contact]:
    """Contacts with this address in any case. Compares Lower(email) so PostgreSQL can
    use the unique index on Lower(email) (email__iexact becomes UPPER() and scans)."""
    return Contact.objects.alias(email_lower=Lower("email")).filter(email_lower=address.lower())


def account_for_email(email: str) -> Account | None:
    """The account whose domain matches the address's domain (or a parent domain)."""
    domain = email.rsplit("@", 1)[-1].lower()
    parts = domain.split(".")
    candidates = [".".join(parts[i:]) for i in range(len(parts) - 1)]
    if not candidates:
        return None
    matches = list(AccountDomain.objects.filter(domain__in=candidates).select_related("account"))
    if not matches:
        return None
    # Prefer the most specific domain when both "cn.acme.com" and "acme.com" are known.
    return max(matches, key=lambda d: len(d.domain)).account


def contact_for_email(*, email: str, name: str = "") -> Contact:
    """The contact for an address, created on first contact and tied to the account
    whose domain matches. Case-insensitive: "Li@X.cn" and "li@x.cn" are one person."""
    address = normalize_email(email)
    contact = contacts_by_email(address).first()
    if contact is not None:
        if name and not contact.name:
            contact.name = name.strip()[:200]
            contact.save(update_fields=["name", "updated_at"])
            contact_id = contact.pk
            after_commit(lambda: index_contact(contact_id))
        return contact
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                email=address, name=name.strip()[:200], account=account_for_email(address)
            )
    except IntegrityError:
        # Another request created the same contact a moment ago.
        return contacts_by_email(address).get()
    after_commit(lambda: index_contact(contact.pk))
    return contact


@transaction.atomic
def account_create(
    *, actor: User | None, name: str, domains: Iterable[str] = (), external_id: str = ""
) -> Account:
    if actor is not None:
        require_perm(actor, "crm.add_account")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("An account needs a name.")})
    clean_domains = sorted({d.strip().lower().lstrip("@") for d in domains if d.strip()})
    taken = list(
        AccountDomain.objects.filter(domain__in=clean_domains).values_list("domain", flat=True)
    )
    if taken:
        raise ValidationError(
            {
                "domains": _("These domains already belong to another account: %(d)s")
                % {"d": ", ".join(taken)}
            }
        )
    try:
        with transaction.atomic():
            account = Account.objects.create(name=name[:200], external_id=external_id.strip()[:100])
            AccountDomain.objects.bulk_create(
                [AccountDomain(account=account, domain=d) for d in clean_domains]
            )
    except IntegrityError:
        # Another request claimed one of these domains a moment ago.
        raise ValidationError(
            {
                "domains": _("These domains already belong to another account: %(d)s")
                % {"d": ", ".join(clean_domains)}
            }
        ) from None
    # Contacts who wrote before their company became an account join it now — from the
    # domain itself or a subdomain, as account_for_email matches — with their tickets.
    joined: list[int] = []
    for domain in clean_domains:
        joined += Contact.objects.filter(
            Q(email__iendswith="@" + domain) | Q(email__iendswith="." + domain),
            account__isnull=True,
        ).values_list("pk", flat=True)
    if joined:
        Contact.objects.filter(pk__in=joined).update(account=account, updated_at=timezone.now())
        for contact_id in joined:
            after_commit(partial(index_contact, contact_id))
        # The desk moves their tickets along (crm sits below desk and cannot import it).
        after_commit(
            partial(
                events.contacts_joined_account.send,
                sender=Account,
                account_id=account.pk,
                contact_ids=joined,
            )
        )
    after_commit(lambda: index_account(account.pk))
    return account


@transaction.atomic
def contact_create(
    *, actor: User | None, email: str, name: str = "", account: Account | None = None
) -> Contact:
    if actor is not None:
        require_perm(actor, "crm.add_contact")
    address = normalize_email(email)
    if contacts_by_email(address).exists():
        raise ValidationError({"email": _("A contact with this email address already exists.")})
    contact = Contact.objects.create(
        email=address,
        name=(name or "").strip()[:200],
        account=account or account_for_email(address),
    )
    after_commit(lambda: index_contact(contact.pk))
    return contact


def contact_mark_bounced(*, email: str, reason: str, when: datetime | None = None) -> int:
    """Flag every contact with this address as undeliverable; returns how many."""
    return contacts_by_email(email).update(
        email_bounced_at=when or timezone.now(), email_bounce_reason=reason[:500]
    )


def contact_clear_bounce(*, email: str) -> int:
    """Mail arrived from this address, so it works again."""
    return (
        contacts_by_email(email)
        .filter(email_bounced_at__isnull=False)
        .update(email_bounced_at=None, email_bounce_reason="")
    )
