"""How contacts and accounts look to search, and keeping their documents current.

crm.services calls index_contact / index_account after every committed write.
Contacts and accounts carry no team scope: every staff member who may search sees them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence

from django.db import connection
from django.db.models import Prefetch, QuerySet

from tend.core.search import (
    IndexEntry,
    aware_datetime,
    index_bulk,
    index_delete,
    register_rebuilder,
)
from tend.crm.models import Account, AccountDomain, Contact

CONTACT = "contact"
ACCOUNT = "account"
REBUILD_BATCH = 1000


# Read with a hand-written query: every first email creates and indexes a contact,
# and through the ORM the read cost more than the write.
_CONTACTS_SQL = """
SELECT c.id, c.name, c.email, c.external_id, c.updated_at, a.name, c.other_emails, c.title
FROM crm_contact c LEFT JOIN crm_account a ON a.id = c.account_id
WHERE c.id IN ({ids})
"""


def contact_entries(ids: Sequence[int]) -> list[IndexEntry]:
    """Entries for the contacts with these ids (those that exist)."""
    ids = [int(i) for i in ids]
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_CONTACTS_SQL.format(ids=", ".join(["%s"] * len(ids))), ids)
        rows = cursor.fetchall()
    return [
        IndexEntry(
            kind=CONTACT,
            object_id=pk,
            title=name or email or external_id,
            updated_at=aware_datetime(updated_at),
            keywords=[email, name, *_json_list(other_emails)],
            body=[account or "", external_id, title or ""],
        )
        for pk, name, email, external_id, updated_at, account, other_emails, title in rows
    ]


def _json_list(value: object) -> list[str]:
    """A JSON list column read raw: text on SQLite, already decoded on PostgreSQL."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return []
    return [str(v) for v in value] if isinstance(value, list) else []


def account_entry(account: Account) -> IndexEntry:
    """Needs ``account.domains`` prefetched to avoid a query."""
    return IndexEntry(
        kind=ACCOUNT,
        object_id=account.pk,
        title=account.name,
        updated_at=account.updated_at,
        keywords=[*(d.domain for d in account.domains.all()), account.external_id],
        body=[account.notes],
    )


def _accounts() -> QuerySet[Account]:
    return Account.objects.prefetch_related(
        Prefetch("domains", queryset=AccountDomain.objects.order_by("domain"))
    )


def index_contact(contact_id: int) -> None:
    entries = contact_entries([contact_id])
    if entries:
        index_bulk(entries)
    else:
        index_delete(CONTACT, contact_id)


def index_account(account_id: int) -> None:
    account = _accounts().filter(pk=account_id).first()
    if account is None:
        index_delete(ACCOUNT, account_id)
    else:
        index_bulk([account_entry(account)])


def _contact_batches(ids: Sequence[int]) -> Iterator[list[IndexEntry]]:
    for start in range(0, len(ids), REBUILD_BATCH):
        yield contact_entries(ids[start : start + REBUILD_BATCH])


def _account_batches(ids: Sequence[int]) -> Iterator[list[IndexEntry]]:
    for start in range(0, len(ids), REBUILD_BATCH):
        accounts = _accounts().filter(pk__in=ids[start : start + REBUILD_BATCH])
        yield [account_entry(a) for a in accounts]


def index_contacts_bulk(contact_ids: Sequence[int]) -> int:
    return sum(index_bulk(batch) for batch in _contact_batches(contact_ids))


def index_accounts_bulk(account_ids: Sequence[int]) -> int:
    return sum(index_bulk(batch) for batch in _account_batches(account_ids))


@register_rebuilder(CONTACT)
def rebuild_contacts() -> tuple[int, Iterable[list[IndexEntry]]]:
    ids = list(Contact.objects.order_by("updated_at", "id").values_list("id", flat=True))
    return len(ids), _contact_batches(ids)


@register_rebuilder(ACCOUNT)
def rebuild_accounts() -> tuple[int, Iterable[list[IndexEntry]]]:
    ids = list(Account.objects.order_by("updated_at", "id").values_list("id", flat=True))
    return len(ids), _account_batches(ids)
