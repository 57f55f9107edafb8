"""Tickets and their comments.

Endpoints parse, call one desk service or selector, and answer; every permission
and business rule lives in tend.desk. Each write runs in one transaction, so a
request that fails half-way (say, a valid priority change plus an invalid status)
writes nothing.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router
from ninja import Status as WithStatus

from tend.api.auth import request_user
from tend.api.errors import field_error
from tend.api.filters import TicketFilters, reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import (
    CommentIn,
    CommentOut,
    ConfirmationIn,
    Error,
    Page,
    TicketCreateIn,
    TicketOut,
    TicketPatchIn,
)
from tend.core.models import User
from tend.core.roles import require_perm
from tend.desk.models import Channel, Comment, Status, Team, Ticket
from tend.desk.search import ticket_search_q
from tend.desk.selectors import LIST_RELATED, ticket_for_user, tickets_filtered
from tend.desk.services import (
    UNSET,
    comment_add_agent,
    ticket_create,
    ticket_request_confirmation,
    ticket_solve,
    ticket_update,
)

router = Router(tags=["tickets"])

# The ticket_update arguments a PATCH can carry (besides add_tags/remove_tags).
_UPDATABLE = ("subject", "status", "priority", "type", "assignee", "team", "tags")
WRITE_ERRORS: dict[int, Any] = {403: Error, 404: Error, 409: Error, 422: Error}


def _ticket(user: User, ticket_id: int) -> Ticket:
    """A ticket the user may see, with what TicketOut reads; Ticket.DoesNotExist (404)
    otherwise."""
    ticket = ticket_for_user(user, pk=ticket_id)
    prefetch_related_objects([ticket], "tags")
    return ticket


def _written(ticket_id: int) -> Ticket:
    """The ticket a write just touched, for the response. Not filtered by visibility: an
    agent who moves a ticket to another team still gets the result of their change."""
    ticket = Ticket.objects.select_related(*LIST_RELATED).get(pk=ticket_id)
    prefetch_related_objects([ticket], "tags")
    return ticket


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise field_error("team", _("No team with id %(id)s.") % {"id": team_id})
    return team


def _assignee(user_id: int | None) -> User | None:
    if user_id is None:
        return None
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.has_perm("desk.change_ticket"):
        raise field_error(
            "assignee", _("No staff user with id %(id)s can work on tickets.") % {"id": user_id}
        )
    return user


@router.get("/tickets", response={200: Page[TicketOut], 422: Error})
def ticket_list(request: HttpRequest, filters: Query[TicketFilters]) -> dict[str, Any]:
    reject_unknown_params(request, TicketFilters)
    user = request_user(request)
    qs = tickets_filtered(user, filters.as_selector_filters(user), filters.sort)
    if filters.q:
        qs = qs.filter(ticket_search_q(filters.q))
    return paginate(qs, filters)


@router.post("/tickets", response={201: TicketOut, **WRITE_ERRORS})
def ticket_post(request: HttpRequest, payload: TicketCreateIn) -> WithStatus[Ticket]:
    user = request_user(request)
    # The services check this too; checking first makes a read-only user's request a 403
    # whatever else is wrong with it.
    require_perm(user, "desk.add_ticket")
    with transaction.atomic():
        ticket = ticket_create(
            actor=user,
            subject=payload.subject,
            description=payload.description,
            requester_email=payload.requester_email,
            requester_name=payload.requester_name,
            channel=Channel.API,
            priority=payload.priority,
            type=payload.type,
            tags=payload.tags,
            team=_team(payload.team),
            assignee=_assignee(payload.assignee),
        )
    return WithStatus(201, _written(ticket.pk))


@router.get("/tickets/{ticket_id}", response={200: TicketOut, 404: Error})
def ticket_detail(request: HttpRequest, ticket_id: int) -> Ticket:
    return _ticket(request_user(request), ticket_id)


@router.patch("/tickets/{ticket_id}", response={200: TicketOut, **WRITE_ERRORS})
def ticket_patch(request: HttpRequest, ticket_id: int, payload: TicketPatchIn) -> Ticket:
    user = request_user(request)
    sent = payload.model_fields_set
    require_perm(user, "desk.change_ticket")
    with transaction.atomic():
        ticket = ticket_for_user(user, pk=ticket_id)
        solve = payload.status == Status.SOLVED and ticket.status != Status.SOLVED
        if payload.solve_reason is not None and payload.status != Status.SOLVED:
            raise field_error("solve_reason", _('"solve_reason" goes with "status": "solved".'))
        if solve and not (payload.solve_reason or "").strip():
            raise field_error(
                "status",
                _(
                    "A ticket is solved when the customer confirms. To solve it without "
                    'confirmation, send "status": "solved" with a "solve_reason"; to ask the '
                    "customer, POST to /api/v1/tickets/%(id)s/request-confirmation."
                )
                % {"id": ticket.pk},
            )
        changes: dict[str, Any] = {
            name: getattr(payload, name)
            for name in ("subject", "priority", "type", "tags")
            if name in sent
        }
        if "status" in sent and payload.status != Status.SOLVED:
            changes["status"] = payload.status
        if "assignee" in sent:
            changes["assignee"] = _assignee(payload.assignee)
        if "team" in sent:
            changes["team"] = _team(payload.team)
        expected_version = payload.expected_version
        if changes or payload.add_tags or payload.remove_tags or not solve:
            ticket = ticket_update(
                actor=user,
                ticket=ticket,
                expected_version=expected_version,
                add_tags=payload.add_tags,
                remove_tags=payload.remove_tags,
                **{name: changes.get(name, UNSET) for name in _UPDATABLE},
            )
            # Checked once, under the row lock ticket_update took; the solve below
            # continues the same change.
            expected_version = None
        if solve:
            ticket_solve(
                actor=user,
                ticket=ticket,
                reason=payload.solve_reason or "",
                expected_version=expected_version,
            )
    return _written(ticket_id)


@router.post("/tickets/{ticket_id}/request-confirmation", response={200: TicketOut, **WRITE_ERRORS})
def ticket_confirmation_request(
    request: HttpRequest, ticket_id: int, payload: ConfirmationIn | None = None
) -> Ticket:
    """Set the ticket pending and email the customer a link to confirm it is solved."""
    user = request_user(request)
    with transaction.atomic():
        ticket_request_confirmation(
            actor=user,
            ticket=ticket_for_user(user, pk=ticket_id),
            expected_version=payload.expected_version if payload else None,
        )
    return _written(ticket_id)


class CommentFilters(PageParams):
    public: bool | None = None


@router.get(
    "/tickets/{ticket_id}/comments", response={200: Page[CommentOut], 404: Error, 422: Error}
)
def comment_list(
    request: HttpRequest, ticket_id: int, filters: Query[CommentFilters]
) -> dict[str, Any]:
    reject_unknown_params(request, CommentFilters)
    ticket = ticket_for_user(request_user(request), pk=ticket_id)
    qs = (
        Comment.objects.filter(ticket=ticket)
        .select_related("author_user", "author_contact")
        .prefetch_related("attachments")
        .order_by("created_at", "id")
    )
    if filters.public is not None:
        qs = qs.filter(public=filters.public)
    return paginate(qs, filters)


@router.post("/tickets/{ticket_id}/comments", response={201: CommentOut, **WRITE_ERRORS})
def comment_post(request: HttpRequest, ticket_id: int, payload: CommentIn) -> WithStatus[Comment]:
    """A public reply (emailed to the requester) or, with ``"public": false``, an internal
    note. A closed ticket cannot be replied to: 409."""
    user = request_user(request)
    with transaction.atomic():
        comment = comment_add_agent(
            actor=user,
            ticket=ticket_for_user(user, pk=ticket_id),
            body=payload.body,
            public=payload.public,
            status=payload.status if payload.status is not None else UNSET,
            expected_version=payload.expected_version,
            channel=Channel.API,
        )
    comment = (
        Comment.objects.select_related("author_user", "author_contact")
        .prefetch_related("attachments")
        .get(pk=comment.pk)
    )
    return WithStatus(201, comment)
