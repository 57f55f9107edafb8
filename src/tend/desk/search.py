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

from django.db.models import Q

from tend.core.models import User
from tend.core.search import (
    IndexEntry,
    SearchPage,
    Visibility,
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
from tend.desk.models import Comment, Status, Ticket
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


def ticket_entries(tickets: Sequence[Ticket]) -> list[IndexEntry]:
    """Entries for tickets loaded with requester, account, product_area and feature;
    comments and tags for all of them come in two queries."""
    ids = [t.pk for t in tickets]
    comments: dict[int, list[str]] = {}
    for ticket_id, body in (
        Comment.objects.filter(ticket_id__in=ids)
        .order_by("ticket_id", "created_at", "id")
        .values_list("ticket_id", "body")
    ):
        comments.setdefault(ticket_id, []).append(body)
    tags: dict[int, list[str]] = {}
    for ticket_id, name in Ticket.tags.through.objects.filter(ticket_id__in=ids).values_list(
        "ticket_id", "tag__name"
    ):
        tags.setdefault(ticket_id, []).append(name)
    return [
        IndexEntry(
            kind=TICKET,
            object_id=t.pk,
            title=t.subject,
            updated_at=t.updated_at,
            keywords=[str(t.number)],
            body=[
                t.description,
                *comments.get(t.pk, ()),
                t.requester.name,
                t.requester.email,
                t.account.name if t.account else "",
                " ".join(tags.get(t.pk, ())),
                t.product_area.name if t.product_area else "",
                t.feature.name if t.feature else "",
            ],
            status=t.status,
            scope=t.team_id,
            members=[t.assignee_id] if t.assignee_id else [],
        )
        for t in tickets
    ]


def _tickets(ids: Iterable[int]) -> list[Ticket]:
    return list(
        Ticket.objects.filter(pk__in=list(ids)).select_related(
            "requester", "account", "product_area", "feature"
        )
    )


def index_ticket(ticket_id: int) -> None:
    tickets = _tickets([ticket_id])
    if tickets:
        index_bulk(ticket_entries(tickets))
    else:
        index_delete(TICKET, ticket_id)


def _ticket_batches(ids: Sequence[int]) -> Iterator[list[IndexEntry]]:
    for start in range(0, len(ids), BATCH):
        yield ticket_entries(_tickets(ids[start : start + BATCH]))


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
