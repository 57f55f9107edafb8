"""Every write to accounts, contacts, subscriptions and touchpoints.

Permissions: the model's own add/change/delete permission (crm.add_account,
crm.change_subscription, crm.add_touchpoint, ...; core/roles.py says who has which).
``actor=None`` means the system itself (ingestion, or an import whose starter was
checked), and skips the check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime
from functools import partial
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.audit import audit_record
from tend.core.commit import after_commit
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm import events
from tend.crm.cleaning import (
    account_fields_clean,
    clean_choice,
    clean_email,
    clean_text,
    collect_errors,
    contact_fields_clean,
    domains_taken_message,
    subscription_fields_clean,
)
from tend.crm.models import (
    Account,
    AccountDomain,
    Contact,
    EvangelistStage,
    Lifecycle,
    Role,
    Subscription,
    SubscriptionStatus,
    Touchpoint,
    TouchpointKind,
)
from tend.crm.search import index_account, index_contact, index_contacts_bulk
from tend.crm.selectors import contacts_by_email, touchpoint_can_delete

# Losing one of these people is a risk signal (success raises a task).
KEY_ROLES = (Role.CHAMPION, Role.DECISION_MAKER)


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
    address = clean_email(email)
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


# --- accounts ---------------------------------------------------------------------------


def _add_domains(account: Account, domains: list[str]) -> None:
    if not domains:
        return
    try:
        with transaction.atomic():
            AccountDomain.objects.bulk_create(
                [AccountDomain(account=account, domain=d) for d in domains]
            )
    except IntegrityError:
        # Another request claimed one of these domains a moment ago.
        raise ValidationError({"domains": domains_taken_message(domains)}) from None
    _join_contacts_by_domain(account, domains)


def _join_contacts_by_domain(account: Account, domains: list[str]) -> None:
    """Contacts who wrote before their company became an account join it now — from the
    domain itself or a subdomain, as account_for_email matches — with their tickets."""
    joined: list[int] = []
    for domain in domains:
        joined += Contact.objects.filter(
            Q(email__iendswith="@" + domain) | Q(email__iendswith="." + domain),
            account__isnull=True,
        ).values_list("pk", flat=True)
    if not joined:
        return
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


@transaction.atomic
def account_create(
    *,
    actor: User | None,
    name: str,
    domains: Iterable[str] = (),
    external_id: str = "",
    parent: Account | None = None,
    owner: User | None = None,
    segment: str = "",
    tier: str = "",
    lifecycle: str = Lifecycle.ONBOARDING,
    notes: str = "",
    traits: Mapping[str, Any] | None = None,
) -> Account:
    if actor is not None:
        require_perm(actor, "crm.add_account")
    fields = account_fields_clean(
        None,
        {
            "name": name,
            "domains": domains,
            "external_id": external_id,
            "parent": parent,
            "owner": owner,
            "segment": segment,
            "tier": tier,
            "lifecycle": lifecycle,
            "notes": notes,
            "traits": traits,
        },
    )
    clean_domain_list = fields.pop("domains")
    account = Account.objects.create(**fields)
    _add_domains(account, clean_domain_list)
    after_commit(partial(index_account, account.pk))
    return account


@transaction.atomic
def account_update(*, actor: User | None, account: Account, **changes: Any) -> Account:
    """Change the given fields (any of ACCOUNT_FIELDS); ``domains`` is the full new list.

    Returns the updated row (locked and re-read, so it may be a new instance)."""
    if actor is not None:
        require_perm(actor, "crm.change_account")
    account = Account.objects.select_for_update().get(pk=account.pk)
    fields = account_fields_clean(account, changes)
    new_domains = fields.pop("domains", None)
    changed = [f for f, v in fields.items() if getattr(account, f) != v]
    for field in changed:
        setattr(account, field, fields[field])
    if changed:
        account.save(update_fields=[*changed, "updated_at"])
    domains_changed = False
    if new_domains is not None:
        current = set(account.domains.values_list("domain", flat=True))
        gone = current - set(new_domains)
        added = [d for d in new_domains if d not in current]
        if gone:
            AccountDomain.objects.filter(account=account, domain__in=gone).delete()
        _add_domains(account, added)
        domains_changed = bool(gone or added)
        if domains_changed and not changed:
            account.save(update_fields=["updated_at"])
    if changed or domains_changed:
        after_commit(partial(index_account, account.pk))
    if "name" in changed:
        # A contact's search document carries its account's name.
        contact_ids = list(account.contacts.values_list("pk", flat=True))
        after_commit(partial(index_contacts_bulk, contact_ids))
    return account


@transaction.atomic
def account_delete(*, actor: User, account: Account, reason: str = "") -> None:
    """Delete an account for good (one made by mistake, or a duplicate), with an audit
    row that keeps what it was and what it was linked to. Its domains, subscriptions,
    timeline, tasks, health history and product usage go with it; its contacts, tickets,
    survey answers and child accounts stay, without it. ``account_deleted`` follows the
    commit (the desk re-indexes the tickets; usage clears what ingestion still held)."""
    require_perm(actor, "crm.delete_account")
    account = Account.objects.select_for_update().get(pk=account.pk)
    account_id = account.pk
    contact_ids = list(account.contacts.values_list("pk", flat=True))
    ticket_ids = list(account.tickets.values_list("pk", flat=True))  # type: ignore[attr-defined]
    data = {
        "name": account.name,
        "external_id": account.external_id,
        "domains": sorted(account.domains.values_list("domain", flat=True)),
        "owner_id": account.owner_id,
        "parent_id": account.parent_id,
        "segment": account.segment,
        "lifecycle": account.lifecycle,
        "contact_ids": contact_ids,
        "ticket_ids": ticket_ids,
        "child_ids": list(account.children.values_list("pk", flat=True)),
        "subscriptions": [
            {"plan": p, "mrr_minor": m, "currency": c, "seats": n, "status": st}
            for p, m, c, n, st in account.subscriptions.values_list(
                "plan", "mrr_minor", "currency", "seats", "status"
            )
        ],
    }
    account.delete()
    audit_record(
        actor=actor,
        action="crm.account_delete",
        target=f"account:{account_id}",
        reason=reason,
        data=data,
    )
    after_commit(partial(index_account, account_id))
    if contact_ids:
        # Their search entries name the account.
        after_commit(partial(index_contacts_bulk, contact_ids))
    after_commit(
        partial(
            events.account_deleted.send,
            sender=Account,
            account_id=account_id,
            contact_ids=contact_ids,
            ticket_ids=ticket_ids,
        )
    )


# --- contacts ---------------------------------------------------------------------------


def _key_roles_lost(
    contact_id: int,
    old_account_id: int | None,
    old_roles: Iterable[str],
    new_account_id: int | None,
    new_roles: Iterable[str],
) -> None:
    """Announce, after commit, each champion/decision-maker role the old account lost."""
    if old_account_id is None:
        return
    kept = set(new_roles) if new_account_id == old_account_id else set()
    for role in KEY_ROLES:
        if role in old_roles and role not in kept:
            after_commit(
                partial(
                    events.contact_role_lost.send,
                    sender=Contact,
                    contact_id=contact_id,
                    account_id=old_account_id,
                    role=str(role),
                )
            )


def _save_contact(contact: Contact) -> Contact:
    try:
        with transaction.atomic():
            contact.save()
    except IntegrityError:
        # Another request took the address or the external id a moment ago.
        raise ValidationError(
            {"email": _("A contact with this email address or external id already exists.")}
        ) from None
    return contact


@transaction.atomic
def contact_create(
    *,
    actor: User | None,
    email: str,
    name: str = "",
    account: Account | None = None,
    external_id: str = "",
    other_emails: Iterable[str] = (),
    phones: Iterable[str] = (),
    social: Mapping[str, str] | None = None,
    roles: Iterable[str] = (),
    evangelist_stage: str = EvangelistStage.CUSTOMER,
    title: str = "",
    traits: Mapping[str, Any] | None = None,
) -> Contact:
    """A new contact. Without ``account`` it joins the account its email's domain names.
    The email may be blank for a person known only by ``external_id`` (the product's
    user id)."""
    if actor is not None:
        require_perm(actor, "crm.add_contact")
    fields = contact_fields_clean(
        None,
        {
            "email": email,
            "name": name,
            "account": account,
            "external_id": external_id,
            "other_emails": other_emails,
            "phones": phones,
            "social": social,
            "roles": roles,
            "evangelist_stage": evangelist_stage,
            "title": title,
            "traits": traits,
        },
    )
    _require_email_or_external_id(fields["email"], fields["external_id"])
    if fields["account"] is None and fields["email"]:
        fields["account"] = account_for_email(fields["email"])
    contact = _save_contact(Contact(**fields))
    after_commit(partial(index_contact, contact.pk))
    return contact


def _require_email_or_external_id(email: str, external_id: str) -> None:
    if not email and not external_id:
        raise ValidationError({"email": _("A contact needs an email address or an external id.")})


@transaction.atomic
def contact_update(*, actor: User | None, contact: Contact, **changes: Any) -> Contact:
    """Change the given fields (any of CONTACT_FIELDS; ``account=None`` takes the contact
    off its account). Removing the champion or decision-maker role, or moving such a
    person off the account, sends crm.events.contact_role_lost after commit.

    Returns the updated row (locked and re-read, so it may be a new instance)."""
    if actor is not None:
        require_perm(actor, "crm.change_contact")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    fields = contact_fields_clean(contact, changes)
    email = fields.get("email", contact.email)
    external_id = fields.get("external_id", contact.external_id)
    _require_email_or_external_id(email, external_id)
    old_account_id, old_roles = contact.account_id, list(contact.roles or [])
    changed = [f for f, v in fields.items() if getattr(contact, f) != v]
    if not changed:
        return contact
    for field in changed:
        setattr(contact, field, fields[field])
    _save_contact(contact)
    _key_roles_lost(contact.pk, old_account_id, old_roles, contact.account_id, contact.roles)
    after_commit(partial(index_contact, contact.pk))
    return contact


@transaction.atomic
def contact_delete(*, actor: User, contact: Contact, reason: str = "") -> None:
    """Delete a contact for good, with an audit row. A contact who still has tickets
    cannot be deleted (the tickets would lose their requester)."""
    require_perm(actor, "crm.delete_contact")
    contact = Contact.objects.select_for_update().get(pk=contact.pk)
    contact_id, account_id, roles = contact.pk, contact.account_id, list(contact.roles or [])
    try:
        with transaction.atomic():
            contact.delete()
    except ProtectedError:
        raise ValidationError(
            _("%(name)s still has tickets, so the contact cannot be deleted.")
            % {"name": contact.display_name}
        ) from None
    # The audit row names the contact by id only: the point of deleting is that the
    # person's data goes.
    audit_record(
        actor=actor,
        action="crm.contact_delete",
        target=f"contact:{contact_id}",
        reason=reason,
        data={"account_id": account_id, "roles": roles},
    )
    _key_roles_lost(contact_id, account_id, roles, None, [])
    after_commit(partial(index_contact, contact_id))


# --- subscriptions ----------------------------------------------------------------------


def _subscription_changed(subscription: Subscription) -> None:
    after_commit(
        partial(
            events.subscription_changed.send,
            sender=Subscription,
            account_id=subscription.account_id,
            subscription_id=subscription.pk,
        )
    )


@transaction.atomic
def subscription_create(
    *,
    actor: User | None,
    account: Account,
    plan: str,
    starts_on: date,
    mrr_minor: int = 0,
    currency: str = "USD",
    seats: int = 0,
    renews_on: date | None = None,
    auto_renew: bool = True,
    status: str = SubscriptionStatus.ACTIVE,
) -> Subscription:
    """A contract of ``account``. Money is integer minor units: 12345 + "CNY" is ¥123.45."""
    if actor is not None:
        require_perm(actor, "crm.add_subscription")
    fields = subscription_fields_clean(
        None,
        {
            "plan": plan,
            "starts_on": starts_on,
            "mrr_minor": mrr_minor,
            "currency": currency,
            "seats": seats,
            "renews_on": renews_on,
            "auto_renew": auto_renew,
            "status": status,
        },
    )
    subscription = Subscription.objects.create(account=account, **fields)
    _subscription_changed(subscription)
    return subscription


@transaction.atomic
def subscription_update(
    *, actor: User | None, subscription: Subscription, **changes: Any
) -> Subscription:
    """Change the given fields (any of SUBSCRIPTION_FIELDS); returns the re-read row."""
    if actor is not None:
        require_perm(actor, "crm.change_subscription")
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    fields = subscription_fields_clean(subscription, changes)
    changed = [f for f, v in fields.items() if getattr(subscription, f) != v]
    for field in changed:
        setattr(subscription, field, fields[field])
    if changed:
        subscription.save(update_fields=[*changed, "updated_at"])
        _subscription_changed(subscription)
    return subscription


@transaction.atomic
def subscription_delete(*, actor: User, subscription: Subscription, reason: str = "") -> None:
    """Delete a subscription entered by mistake, with an audit row that keeps what it said.

    A contract that ended is cancelled or expired instead (subscription_update): deleting
    removes it from the account's MRR and history as if it never existed."""
    require_perm(actor, "crm.delete_subscription")
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    subscription_id, account_id = subscription.pk, subscription.account_id
    data = {
        "account_id": account_id,
        "plan": subscription.plan,
        "mrr_minor": subscription.mrr_minor,
        "currency": subscription.currency,
        "seats": subscription.seats,
        "status": subscription.status,
        "starts_on": subscription.starts_on.isoformat(),
        "renews_on": subscription.renews_on.isoformat() if subscription.renews_on else None,
    }
    subscription.delete()
    audit_record(
        actor=actor,
        action="crm.subscription_delete",
        target=f"subscription:{subscription_id}",
        reason=reason,
        data=data,
    )
    after_commit(
        partial(
            events.subscription_changed.send,
            sender=Subscription,
            account_id=account_id,
            subscription_id=subscription_id,
        )
    )


# --- touchpoints ------------------------------------------------------------------------


@transaction.atomic
def touchpoint_create(
    *,
    actor: User | None,
    account: Account,
    kind: str,
    subject: str,
    body: str,
    happened_at: datetime,
    contact: Contact | None = None,
) -> Touchpoint:
    """Log a note, call, meeting or email on the account's timeline (plain text)."""
    if actor is not None:
        require_perm(actor, "crm.add_touchpoint")
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, Any] = {}
    for field, check in (
        ("kind", lambda: clean_choice(kind, TouchpointKind, "kind")),
        ("subject", lambda: clean_text(subject, "subject", 300)),
        ("body", lambda: clean_text(body, "body", 100_000)),
    ):
        try:
            cleaned[field] = check()
        except ValidationError as exc:
            collect_errors(errors, exc)
    if not isinstance(happened_at, datetime) or timezone.is_naive(happened_at):
        errors.setdefault("happened_at", []).append(_("Expected a date and time with a zone."))
    if contact is not None and contact.account_id != account.pk:
        errors.setdefault("contact", []).append(
            _("%(name)s is not a contact of %(account)s.")
            % {"name": contact.display_name, "account": account.name}
        )
    if not errors and not (cleaned["subject"] or cleaned["body"]):
        errors["body"] = [_("Write a subject or some text.")]
    if errors:
        raise ValidationError(errors)
    return Touchpoint.objects.create(
        account=account,
        contact=contact,
        author=actor,
        happened_at=happened_at,
        **cleaned,
    )


@transaction.atomic
def touchpoint_delete(*, actor: User, touchpoint: Touchpoint, reason: str = "") -> None:
    """Take a note, call, meeting or email off the account's timeline, with an audit row
    (what it was and who wrote it; not the text)."""
    if not touchpoint_can_delete(actor, touchpoint):
        raise PermissionDenied(_("Only its author or a Manager can delete this entry."))
    touchpoint = Touchpoint.objects.select_for_update().get(pk=touchpoint.pk)
    data = {
        "account_id": touchpoint.account_id,
        "kind": touchpoint.kind,
        "subject": touchpoint.subject,
        "happened_at": touchpoint.happened_at.isoformat(),
        "author_id": touchpoint.author_id,
    }
    touchpoint_id = touchpoint.pk
    touchpoint.delete()
    audit_record(
        actor=actor,
        action="crm.touchpoint_delete",
        target=f"touchpoint:{touchpoint_id}",
        reason=reason,
        data=data,
    )


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
