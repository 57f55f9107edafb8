"""Reads of the desk shared by the staff UI, the API and other apps.

Ticket visibility lives here and nowhere else: Admins and Managers see every ticket;
everyone else with ticket access sees tickets of their teams, tickets with no team,
and tickets assigned to them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db.models import Max, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tend.core.models import User
from tend.desk.models import (
    PAUSED_STATUSES,
    UNRESOLVED_STATUSES,
    Comment,
    Macro,
    Priority,
    SavedView,
    Status,
    Ticket,
    TicketEvent,
)
from tend.desk.sla import sla_attention_q

RECENTLY_SOLVED_DAYS = 7

LIST_RELATED = ("requester", "account", "assignee", "team", "product_area", "feature")


def tickets_visible_to(user: User) -> QuerySet[Ticket]:
    if not (user.is_active and user.has_perm("desk.view_ticket")):
        return Ticket.objects.none()
    if user.has_perm("desk.view_all_tickets"):
        return Ticket.objects.all()
    team_ids = list(user.teams.values_list("id", flat=True))
    return Ticket.objects.filter(Q(team__isnull=True) | Q(team__in=team_ids) | Q(assignee=user))


def ticket_is_visible(user: User, ticket: Ticket) -> bool:
    if not (user.is_active and user.has_perm("desk.view_ticket")):
        return False
    if user.has_perm("desk.view_all_tickets"):
        return True
    if ticket.team_id is None or ticket.assignee_id == user.pk:
        return True
    return user.teams.filter(pk=ticket.team_id).exists()


def ticket_for_user(user: User, *, number: int | None = None, pk: int | None = None) -> Ticket:
    """The ticket if ``user`` may see it; Ticket.DoesNotExist otherwise (no leak of
    whether another team's ticket exists)."""
    qs = tickets_visible_to(user).select_related(*LIST_RELATED, "follow_up_of", "sla_policy")
    if number is not None:
        return qs.get(number=number)
    if pk is None:
        raise Ticket.DoesNotExist
    return qs.get(pk=pk)


@dataclass(frozen=True)
class Queue:
    slug: str
    label: Promise
    shortcut: str


QUEUES: dict[str, Queue] = {
    q.slug: q
    for q in [
        Queue("unassigned", _("Unassigned"), "g u"),
        Queue("mine", _("Mine"), "g m"),
        Queue("open", _("All open"), "g o"),
        Queue("pending", _("Pending"), "g p"),
        Queue("on_hold", _("On-hold"), "g h"),
        Queue("sla", _("SLA breached/at risk"), "g s"),
        Queue("solved", _("Recently solved"), "g r"),
    ]
}


def _queue_q(user: User, slug: str) -> Q:
    unresolved = Q(status__in=UNRESOLVED_STATUSES)
    now = timezone.now()
    if slug == "unassigned":
        return unresolved & Q(assignee__isnull=True)
    if slug == "mine":
        return unresolved & Q(assignee=user)
    if slug == "open":
        return Q(status__in=[Status.NEW, Status.OPEN])
    if slug == "pending":
        return Q(status=Status.PENDING)
    if slug == "on_hold":
        return Q(status=Status.ON_HOLD)
    if slug == "sla":
        return sla_attention_q(now)
    if slug == "solved":
        # solved_at is set only while a ticket is solved or closed (a reopen clears
        # it), so the date alone picks them — and lets the database use its index.
        return Q(solved_at__gte=now - timedelta(days=RECENTLY_SOLVED_DAYS))
    raise KeyError(slug)


# The next SLA deadline of a ticket: whichever of its first-response and resolution
# due times comes first; tickets with neither sort last on every database.
FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)
NEXT_DUE = Least(
    Coalesce("first_response_due_at", Value(FAR_FUTURE)),
    Coalesce("resolution_due_at", Value(FAR_FUTURE)),
)

QUEUE_ORDER = {
    "sla": ("sla_next_due", "-number"),
    "solved": ("-solved_at",),
}


def queue_tickets(user: User, queue: str) -> QuerySet[Ticket]:
    """Tickets in one of the built-in queues, ready to list (no per-row queries)."""
    if queue not in QUEUES:
        raise KeyError(queue)
    qs = tickets_visible_to(user).filter(_queue_q(user, queue))
    order = QUEUE_ORDER.get(queue, ("-updated_at", "-number"))
    if "sla_next_due" in order:
        qs = qs.annotate(sla_next_due=NEXT_DUE)
    # A list never shows the description, which can be the longest column.
    return (
        qs.select_related(*LIST_RELATED)
        .prefetch_related("tags")
        .defer("description")
        .order_by(*order)
    )


class TicketPaginator(Paginator):  # type: ignore[type-arg]
    """Pages a ticket list in two steps: first the page's ids, from the ticket table
    alone, then those rows with their related objects.

    Asking for ids without the joins lets SQLite plan the filter and the order on the
    ticket table's own indexes; with the joins in the same statement it may start from
    the contacts and read a million tickets to show fifty.
    """

    def __init__(self, *args: Any, known_count: int | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if known_count is not None:
            # A queue's size is already counted (and cached) for the sidebar; counting
            # thousands of open tickets again for the page title would double the work.
            self.__dict__["count"] = known_count

    def page(self, number: int | str) -> Page:  # type: ignore[type-arg]
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        tickets = self.object_list
        assert isinstance(tickets, QuerySet)
        ids = list(tickets.values_list("pk", flat=True)[bottom:top])
        rows = {t.pk: t for t in tickets.order_by().filter(pk__in=ids)} if ids else {}
        return Page([rows[pk] for pk in ids if pk in rows], number, self)


def queue_counts(user: User) -> dict[str, int]:
    """Every queue's size: one small COUNT per queue rather than one conditional
    aggregate, because each queue's filter can use an index (status, assignee) while
    a combined aggregate must scan every ticket ever made."""
    visible = tickets_visible_to(user)
    return {slug: visible.filter(_queue_q(user, slug)).count() for slug in QUEUES}


def queue_counts_cached(user: User) -> dict[str, int]:
    """queue_counts for the sidebar on every page, reused until any ticket changes or
    the minute turns (the SLA and recently-solved queues move with the clock). The
    probe is one index lookup, so a busy desk pays for the counts once per change.

    Within one request the counts are made once: the queue page and the sidebar both
    ask, and a minute turning between the two asks made them count twice."""
    memo: dict[str, int] | None = getattr(user, "_tend_queue_counts", None)
    if memo is not None:
        return memo
    last_change = Ticket.objects.aggregate(last=Max("updated_at"))["last"]
    key = ":".join(
        [
            "tend:queue-counts",
            str(user.pk),
            str(last_change.timestamp() if last_change else 0),
            str(int(time.time() // 60)),
        ]
    )
    counts = cache.get_or_set(key, lambda: queue_counts(user), 120)
    if not isinstance(counts, dict):
        counts = queue_counts(user)
    # The user object lives as long as the request (request.user).
    user._tend_queue_counts = counts  # type: ignore[attr-defined]
    return counts


SORTS: dict[str, tuple[str, ...]] = {
    "-updated_at": ("-updated_at", "-number"),
    "updated_at": ("updated_at", "number"),
    "-created_at": ("-created_at", "-number"),
    "created_at": ("created_at", "number"),
    "-priority": ("-priority_rank", "-updated_at"),
    "priority": ("priority_rank", "-updated_at"),
    "sla_due": ("sla_next_due", "-number"),
    "-number": ("-number",),
    "number": ("number",),
}
SORT_LABELS = {
    "-updated_at": _("Recently updated"),
    "updated_at": _("Least recently updated"),
    "-created_at": _("Newest"),
    "created_at": _("Oldest"),
    "-priority": _("Highest priority"),
    "priority": _("Lowest priority"),
    "sla_due": _("SLA due soonest"),
    "-number": _("Number, descending"),
    "number": _("Number, ascending"),
}

# filter key -> ORM lookup for a list of values
FILTER_LOOKUPS = {
    "status": "status__in",
    "priority": "priority__in",
    "type": "type__in",
    "channel": "channel__in",
    "tags": "tags__name__in",
    "product_area": "product_area__in",
    "feature": "feature__in",
    "assignee": "assignee__in",
    "team": "team__in",
    "account": "account__in",
    "requester": "requester__in",
}


def tickets_filtered(
    user: User, filters: dict[str, Any], sort: str = "-updated_at"
) -> QuerySet[Ticket]:
    """Tickets matching a saved view's filters: each key takes a list of values (ids for
    relations, names for tags, "none" for an empty assignee/team)."""
    qs = tickets_visible_to(user)
    for key, values in (filters or {}).items():
        if key not in FILTER_LOOKUPS or values in (None, "", []):
            continue
        values = values if isinstance(values, list) else [values]
        lookup = FILTER_LOOKUPS[key]
        if key in {"assignee", "team"} and "none" in values:
            rest = [v for v in values if v != "none"]
            field = lookup.removesuffix("__in")
            cond = Q(**{f"{field}__isnull": True})
            if rest:
                cond |= Q(**{lookup: rest})
            qs = qs.filter(cond)
        else:
            qs = qs.filter(**{lookup: values})
    if filters and filters.get("tags"):
        qs = qs.distinct()
    if sort.lstrip("-") == "priority":
        from django.db.models import Case, IntegerField, Value, When

        qs = qs.annotate(
            priority_rank=Case(
                *[When(priority=p, then=Value(i)) for i, p in enumerate(Priority.values)],
                output_field=IntegerField(),
            )
        )
    order = SORTS.get(sort, SORTS["-updated_at"])
    if "sla_next_due" in order:
        qs = qs.annotate(sla_next_due=NEXT_DUE)
    return qs.select_related(*LIST_RELATED).prefetch_related("tags").order_by(*order)


def ticket_timeline(ticket: Ticket, *, user: User) -> list[Comment | TicketEvent]:
    """Comments (with attachments) and system events, oldest first."""
    comments = list(
        ticket.comments.select_related("author_user", "author_contact").prefetch_related(
            "attachments"
        )
    )
    events = list(ticket.events.select_related("actor", "actor_contact"))
    items: list[Comment | TicketEvent] = [*comments, *events]
    items.sort(
        key=lambda item: (item.created_at, 0 if isinstance(item, TicketEvent) else 1, item.pk)
    )
    return items


def ticket_changes_since(ticket: Ticket, version: int) -> list[Comment | TicketEvent]:
    """What happened to a ticket after an agent loaded ``version`` of it."""
    comments = list(
        ticket.comments.filter(ticket_version__gt=version).select_related(
            "author_user", "author_contact"
        )
    )
    events = list(
        ticket.events.filter(version__gt=version).select_related("actor", "actor_contact")
    )
    items: list[Comment | TicketEvent] = [*comments, *events]
    items.sort(key=lambda item: (item.created_at, item.pk))
    return items


def requester_other_tickets(ticket: Ticket, *, user: User, limit: int = 10) -> list[Ticket]:
    return list(
        tickets_visible_to(user)
        .filter(requester_id=ticket.requester_id)
        .exclude(pk=ticket.pk)
        .order_by("-created_at")[:limit]
    )


def account_other_tickets(ticket: Ticket, *, user: User, limit: int = 10) -> list[Ticket]:
    if ticket.account_id is None:
        return []
    return list(
        tickets_visible_to(user)
        .filter(account_id=ticket.account_id)
        .exclude(pk=ticket.pk)
        .select_related("requester")
        .order_by("-created_at")[:limit]
    )


def macros_for(user: User) -> QuerySet[Macro]:
    """The user's personal macros and every shared one, most used first."""
    return Macro.objects.filter(Q(owner__isnull=True) | Q(owner=user)).order_by(
        "-usage_count", "name"
    )


def saved_views_for(user: User) -> QuerySet[SavedView]:
    return SavedView.objects.filter(Q(owner__isnull=True) | Q(owner=user))


def is_paused(ticket: Ticket) -> bool:
    return ticket.status in PAUSED_STATUSES
