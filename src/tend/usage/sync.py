"""Contacts and accounts from product calls: identify → contact, group → account.

Fast upserts for the ingest path, run inside its transaction. They write the rows
directly (not through crm.services): calls come from the product, not from a staff
member, and a batch may hold thousands. Search documents of the contacts and accounts
touched are refreshed once, after commit (``Touched.reindex_after_commit``).

Identity rules:
- A contact is found by userId (``Contact.external_id``), else by ``traits.email``
  (case-insensitive; a contact found by email gets the userId when it has none).
- An account is found by groupId (``Account.external_id``); a group call with a userId
  puts that contact on the account.
- A userId or groupId seen for the first time in any other call makes a stub contact or
  account (named by its id), so its usage is counted from the start; a later identify
  or group fills it in.
- Traits are merged into the stored ones (a new value replaces the old one; traits not
  sent are kept).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection

from tend.core.commit import after_commit
from tend.crm.cleaning import clean_email
from tend.crm.models import Account, Contact
from tend.crm.search import index_accounts_bulk, index_contacts_bulk
from tend.crm.services import account_for_email, contacts_by_email
from tend.usage.hot_cursor import HotCursor
from tend.usage.jsonfast import loads

ID_MAX = 100  # crm external_id length


@dataclass
class Touched:
    """Contacts and accounts written in one ingest request, and what ids resolve to."""

    contacts: set[int] = field(default_factory=set)
    accounts: set[int] = field(default_factory=set)
    # userId -> (contact id, account id or None); groupId -> account id
    users: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)

    def reindex_after_commit(self) -> None:
        contact_ids, account_ids = sorted(self.contacts), sorted(self.accounts)
        if contact_ids:
            after_commit(lambda: index_contacts_bulk(contact_ids))
        if account_ids:
            after_commit(lambda: index_accounts_bulk(account_ids))


def _text(value: Any, limit: int) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return str(value).strip()[:limit]


def _email(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        return ""
    try:
        return clean_email(value)
    except ValidationError:
        return ""


def _name(traits: Mapping[str, Any]) -> str:
    name = _text(traits.get("name"), 200)
    if not name:
        first, last = _text(traits.get("firstName"), 100), _text(traits.get("lastName"), 100)
        name = f"{first} {last}".strip()
    return name


def contact_from_identify(
    *, user_id: str, traits: Mapping[str, Any], touched: Touched
) -> tuple[int, int | None]:
    """Create or update the contact an identify call names; (contact id, account id)."""
    email = _email(traits.get("email"))
    contact = Contact.objects.filter(external_id=user_id).first() if user_id else None
    if contact is None and email:
        by_email = contacts_by_email(email).first()
        # Never take over a person the product already knows by another userId.
        if by_email is not None and not (user_id and by_email.external_id):
            contact = by_email
    others = contacts_by_email(email)
    if contact is not None:
        others = others.exclude(pk=contact.pk)
    email_free = bool(email) and not others.exists()
    name, title = _name(traits), _text(traits.get("title"), 200)
    if contact is None:
        account = account_for_email(email) if email and email_free else None
        contact = Contact.objects.create(
            external_id=user_id,
            email=email if email_free else "",
            name=name,
            title=title,
            traits=dict(traits),
            account=account,
        )
    else:
        changed = ["traits", "updated_at"]
        contact.traits = {**(contact.traits or {}), **traits}
        if user_id and not contact.external_id:
            contact.external_id = user_id
            changed.append("external_id")
        if email_free and not contact.email:
            contact.email = email
            changed.append("email")
        if name and name != contact.name:
            contact.name = name
            changed.append("name")
        if title and title != contact.title:
            contact.title = title
            changed.append("title")
        contact.save(update_fields=changed)
    touched.contacts.add(contact.pk)
    if user_id:
        touched.users[user_id] = (contact.pk, contact.account_id)
    return contact.pk, contact.account_id


def _lock_external_id(kind: str, value: str) -> None:
    # Account.external_id is not unique, so two PostgreSQL transactions could both miss
    # and create the same account; SQLite writers are serialised already.
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"tend.{kind}:{value}"])


def account_from_group(
    *, group_id: str, traits: Mapping[str, Any], user_id: str, touched: Touched
) -> int:
    """Create or update the account a group call names, and put the user on it."""
    _lock_external_id("account", group_id)
    account = Account.objects.filter(external_id=group_id).order_by("pk").first()
    name = _text(traits.get("name"), 200)
    if account is None:
        account = Account.objects.create(
            name=name or group_id, external_id=group_id, traits=dict(traits)
        )
    else:
        changed = ["traits", "updated_at"]
        account.traits = {**(account.traits or {}), **traits}
        if name and name != account.name:
            account.name = name
            changed.append("name")
        account.save(update_fields=changed)
    touched.accounts.add(account.pk)
    touched.groups[group_id] = account.pk
    if user_id:
        contacts_for_user_ids([user_id], touched)
        contact_id, account_id = touched.users[user_id]
        if account_id != account.pk:
            Contact.objects.filter(pk=contact_id).update(account=account)
            touched.contacts.add(contact_id)
        touched.users[user_id] = (contact_id, account.pk)
    return account.pk


def _select(columns: str, query: str, values: set[str]) -> list[list[Any]]:
    """The rows of ``query`` (``{}`` takes the values; ``columns`` names what it selects),
    fetched as one row of JSON.

    One row, not one per contact: on SQLite each row fetched hands Python's GIL back and
    forth, and the ingest writer competes for it with the threads serving HTTP.
    """
    ordered = sorted(values)
    found: list[list[Any]] = []
    postgres = connection.vendor == "postgresql"
    aggregate = (
        f"COALESCE(json_agg(json_build_array({columns})), '[]')"
        if postgres
        else f"json_group_array(json_array({columns}))"
    )
    outer = "SELECT " + aggregate + " FROM ({}) AS found"  # noqa: S608 (column names only)
    with HotCursor() as cursor:
        for start in range(0, len(ordered), 500):
            chunk = ordered[start : start + 500]
            inner = query.format(",".join(["%s"] * len(chunk)))
            cursor.execute(outer.format(inner), chunk)
            (value,) = cursor.fetchall()[0]
            found += value if postgres else loads(value)
    return found


def contacts_for_user_ids(user_ids: Iterable[str], touched: Touched) -> None:
    """Resolve userIds into ``touched.users``, making stub contacts for new ones."""
    wanted = {u for u in user_ids if u and u not in touched.users}
    if not wanted:
        return
    # Plain SQL: this runs on every ingest request, and the ORM cost more than the query.
    for external_id, pk, account_id in _select(
        "external_id, id, account_id",
        "SELECT external_id, id, account_id FROM crm_contact WHERE external_id IN ({})",
        wanted,
    ):
        touched.users[external_id] = (pk, account_id)
    missing = wanted - touched.users.keys()
    if missing:
        # ignore_conflicts: another process may create the same stub at the same moment.
        Contact.objects.bulk_create(
            [Contact(external_id=u) for u in sorted(missing)], ignore_conflicts=True
        )
        for external_id, pk, account_id in Contact.objects.filter(
            external_id__in=missing
        ).values_list("external_id", "pk", "account_id"):
            touched.users[external_id] = (pk, account_id)
            touched.contacts.add(pk)


def accounts_for_group_ids(group_ids: Iterable[str], touched: Touched) -> None:
    """Resolve groupIds into ``touched.groups``, making stub accounts for new ones."""
    wanted = {g for g in group_ids if g and g not in touched.groups}
    if not wanted:
        return
    # The oldest account wins when two share an external id.
    for external_id, pk in _select(
        "external_id, id",
        "SELECT external_id, MIN(id) AS id FROM crm_account WHERE external_id IN ({}) "
        "GROUP BY external_id",
        wanted,
    ):
        touched.groups[external_id] = pk
    for group_id in sorted(wanted - touched.groups.keys()):
        _lock_external_id("account", group_id)
        account = Account.objects.filter(external_id=group_id).order_by("pk").first()
        if account is None:
            account = Account.objects.create(name=group_id, external_id=group_id)
            touched.accounts.add(account.pk)
        touched.groups[group_id] = account.pk
