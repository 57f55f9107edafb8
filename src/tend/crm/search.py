"""How contacts and accounts look to search, and keeping their documents current.

crm.services calls index_contact / index_account after every committed write.
Contacts and accounts carry no team scope: every staff member who may search sees them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from django.db.models import Prefetch, QuerySet

from tend.core.search import IndexEntry, index_bulk, index_delete, register_rebuilder
from tend.crm.models import Account, AccountDomain, Contact

CONTACT = "contact"
ACCOUNT = "account"
REBUILD_BATCH = 1000


def contact_entry(contact: Contact) -> IndexEntry:
    """Needs ``contact.account`` loaded (select_related) to avoid a query."""
    account = contact.account
    return IndexEntry(
        kind=CONTACT,
        object_id=contact.pk,
        title=contact.name or contact.email,
        updated_at=contact.updated_at,
        keywords=[contact.email, contact.name],
        body=[account.name if account else "", contact.external_id],
    )


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
    contact = Contact.objects.select_related("account").filter(pk=contact_id).first()
    if contact is None:
        index_delete(CONTACT, contact_id)
    else:
        index_bulk([contact_entry(contact)])


def index_account(account_id: int) -> None:
    account = _accounts().filter(pk=account_id).first()
    if account is None:
        index_delete(ACCOUNT, account_id)
    else:
        index_bulk([account_entry(account)])


def _contact_batches(ids: Sequence[int]) -> Iterator[list[IndexEntry]]:
    for start in range(0, len(ids), REBUILD_BATCH):
        contacts = Contact.objects.select_related("account").filter(
            pk__in=ids[start : start + REBUILD_BATCH]
        )
        yield [contact_entry(c) for c in contacts]


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
