"""How tickets look to search, and the staff search box over tickets, contacts and
accounts.

desk.services calls ``index_ticket`` after every committed write to a ticket, its
comments or tags. A ticket document holds the subject (weighted most, with the
number), the description, every comment including internal notes (search is
staff-only), the requester, account, tags and product area. Its scope is the team;
its assignee is a member, so a ticket assigned to someone outside its team still
shows up in their search — the same rule as ``tickets_visible_to``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Q

from tend.core.models import User
from tend.core.search import (
    IndexEntry,
    SearchPage,
    Visibility,
    aware_datetime,
    index_bulk,
    index_delete,
    matching_ids,
    register_rebuilder,
    search,
    search_rebuild,
)
from tend.crm.models import Account, Contact
from tend.crm.search import index_account, index_contact
from tend.crm.selectors import accounts_visible_to, contacts_visible_to
from tend.desk.models import Status, Ticket
from tend.desk.selectors import LIST_RELATED, tickets_visible_to

__all__ = [
    "SearchResults",
    "index_account",
    "index_contact",
    "index_ticket",
    "index_tickets_bulk",
    "search_everything",
    "search_rebuild",
    "ticket_search_q",
]

TICKET = "ticket"
KINDS = ("ticket", "contact", "account")
BATCH = 500


# What a ticket document is built from, read in two hand-written queries for any
# number of tickets. Every reply re-indexes its ticket, and through the ORM the reads
# (building the query, four model instances per ticket) cost more than the writes.
_TICKETS_SQL = """
SELECT t.id, t.number, t.subject, t.description, t.status, t.team_id, t.assignee_id,
       t.updated_at, r.name, r.email, a.name, pa.name, f.name
FROM desk_ticket t
JOIN crm_contact r ON r.id = t.requester_id
LEFT JOIN crm_account a ON a.id = t.account_id
LEFT JOIN desk_productarea pa ON pa.id = t.product_area_id
LEFT JOIN desk_feature f ON f.id = t.feature_id
WHERE t.id IN ({ids})
"""
# Comments (kind 0) in conversation order, then tag names (kind 1).
_TEXTS_SQL = """
SELECT c.ticket_id, 0, c.created_at, c.id, c.body FROM desk_comment c
WHERE c.ticket_id IN ({ids})
UNION ALL
SELECT tt.ticket_id, 1, NULL, tt.id, tag.name FROM desk_ticket_tags tt
JOIN desk_tag tag ON tag.id = tt.tag_id
WHERE tt.ticket_id IN ({ids})
ORDER BY 1, 2, 3, 4
"""


def ticket_entries(ids: Sequence[int]) -> list[IndexEntry]:
    """Entries for the tickets with these ids (those that exist)."""
    ids = [int(i) for i in ids]
    if not ids:
        return []
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(_TICKETS_SQL.format(ids=marks), ids)
        tickets = cursor.fetchall()
        if not tickets:
            return []
        ids = [row[0] for row in tickets]
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(_TEXTS_SQL.format(ids=marks), ids + ids)
        texts = cursor.fetchall()
    comments: dict[int, list[str]] = {}
    tags: dict[int, list[str]] = {}
    for ticket_id, kind, _created_at, _id, text in texts:
        (tags if kind else comments).setdefault(ticket_id, []).append(text)
    return [
        IndexEntry(
            kind=TICKET,
            object_id=pk,
            title=subject,
            updated_at=aware_datetime(updated_at),
            keywords=[str(number)],
            body=[
                description,
                *comments.get(pk, ()),
                requester_name,
                requester_email,
                account or "",
                " ".join(tags.get(pk, ())),
                product_area or "",
                feature or "",
            ],
            status=status,
            scope=team_id,
            members=[assignee_id] if assignee_id else [],
        )
        for (
            pk,
            number,
            subject,
            description,
            status,
            team_id,
            assignee_id,
            updated_at,
            requester_name,
            requester_email,
            account,
            product_area,
            feature,
        ) in tickets
    ]


def index_ticket(ticket_id: int) -> None:
    entries = ticket_entries([ticket_id])
    if entries:
        index_bulk(entries)
    else:
        index_delete(TICKET, ticket_id)


def _ticket_batches(ids: Sequence[int]) -> Iterator[list[IndexEntry]]:
    for start in range(0, len(ids), BATCH):
        yield ticket_entries(ids[start : start + BATCH])


def index_tickets_bulk(ticket_ids: Sequence[int]) -> int:
    """Index many tickets in batches (demo seeding, imports); returns how many."""
    return sum(index_bulk(batch) for batch in _ticket_batches(list(ticket_ids)))


@register_rebuilder(TICKET)
def rebuild_tickets() -> tuple[int, Iterable[list[IndexEntry]]]:
    ids = list(Ticket.objects.order_by("updated_at", "id").values_list("id", flat=True))
    return len(ids), _ticket_batches(ids)


def ticket_search_q(q: str) -> Q:
    """A filter for ticket lists (``?q=`` in the API and queues): tickets whose text
    matches ``q``, or whose number it is. Combine with ``tickets_visible_to``."""
    cond = Q(pk__in=matching_ids(q, TICKET))
    term = q.strip().lstrip("#")
    if term.isdigit():
        cond |= Q(number=int(term))
    return cond


# --- the staff search box ------------------------------------------------------------


@dataclass
class SearchResults:
    """Results grouped by kind, each group best first. ``pages`` has each group's
    count (a floor when ``count_is_estimate``) and whether it is ordered by rank or,
    for very common words, by recency."""

    tickets: list[Ticket] = field(default_factory=list)
    contacts: list[Contact] = field(default_factory=list)
    accounts: list[Account] = field(default_factory=list)
    pages: dict[str, SearchPage] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.tickets) + len(self.contacts) + len(self.accounts)


def ticket_visibility(user: User) -> Visibility | None:
    """None when the user sees every ticket; the mirror of ``tickets_visible_to``."""
    if user.has_perm("desk.view_all_tickets"):
        return None
    return Visibility(scopes=frozenset(user.teams.values_list("id", flat=True)), user_id=user.pk)


def _in_hit_order(objects: Iterable[Any], page: SearchPage) -> list[Any]:
    by_id = {obj.pk: obj for obj in objects}
    return [by_id[h.object_id] for h in page.hits if h.object_id in by_id]


def search_everything(
    user: User,
    q: str,
    *,
    status: str | Collection[str] | None = None,
    kinds: Collection[str] = KINDS,
    limit: int = 20,
) -> SearchResults:
    """The staff search box: tickets (visible to ``user``; ``status`` filters them),
    contacts and accounts matching ``q``. A kind the user may not see is left out of
    ``pages`` altogether, so not even its count shows."""
    results = SearchResults()
    if not user.is_active:
        return results
    if TICKET in kinds and user.has_perm("desk.view_ticket"):
        statuses = [status] if isinstance(status, str) else list(status or ())
        if all(s in Status.values for s in statuses):
            page = search(
                q, kinds=[TICKET], status=statuses, visibility=ticket_visibility(user), limit=limit
            )
            results.pages[TICKET] = page
            # The selector has the last word on visibility, so a document not yet
            # re-indexed after a team change cannot show a ticket to the wrong people.
            tickets = tickets_visible_to(user).filter(pk__in=[h.object_id for h in page.hits])
            results.tickets = _in_hit_order(tickets.select_related(*LIST_RELATED), page)
    if "contact" in kinds and user.has_perm("crm.view_contact"):
        page = search(q, kinds=["contact"], limit=limit)
        results.pages["contact"] = page
        contacts = contacts_visible_to(user).filter(pk__in=[h.object_id for h in page.hits])
        results.contacts = _in_hit_order(contacts, page)
    if "account" in kinds and user.has_perm("crm.view_account"):
        page = search(q, kinds=["account"], limit=limit)
        results.pages["account"] = page
        accounts = accounts_visible_to(user).filter(pk__in=[h.object_id for h in page.hits])
        results.accounts = _in_hit_order(accounts, page)
    return results
