"""Every write to the support desk.

Services take keyword-only arguments, check permissions themselves (a view or API
endpoint that forgets cannot leak), run in one transaction, and leave side effects —
search indexing, email, signals — to ``transaction.on_commit``.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.template.defaultfilters import filesizeformat
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tend.core.commit import after_commit
from tend.core.html import sanitize_html
from tend.core.models import Sequence as Counter
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Contact
from tend.crm.services import contact_for_email
from tend.desk import events, sla
from tend.desk.models import (
    UNRESOLVED_STATUSES,
    AssignmentMethod,
    Attachment,
    Channel,
    Comment,
    EventKind,
    Feature,
    Macro,
    Priority,
    ProductArea,
    SavedView,
    Status,
    Tag,
    Team,
    Ticket,
    TicketEvent,
    TicketType,
)
from tend.desk.search import index_ticket
from tend.desk.selectors import ticket_changes_since, ticket_is_visible

logger = logging.getLogger(__name__)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()


class TicketConflict(Exception):
    """The ticket changed after the agent loaded it; ``changes`` says how."""

    def __init__(self, ticket: Ticket, changes: list[Comment | TicketEvent]) -> None:
        super().__init__(_("Ticket #%(n)s changed after you opened it.") % {"n": ticket.number})
        self.ticket = ticket
        self.changes = changes


class TicketClosedError(ValidationError):
    """Closed tickets are immutable; a customer's new reply makes a follow-up instead."""


# Statuses an agent may set directly; solving goes through ticket_solve or the
# customer's confirmation, closing through the scheduled auto-close.
NEEDS_REVIEW_TAG = "needs_review"
AGENT_SETTABLE_STATUSES = frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD})
CONFIRM_TOKEN_SALT = "tend.desk.confirm-solution"
CONFIRM_TOKEN_MAX_AGE = timedelta(days=60)


# --- small helpers ------------------------------------------------------------------


def _next_ticket_number() -> int:
    """Sequential, gap-free numbers: the counter row is locked until the transaction ends.

    One UPDATE ... RETURNING (SQLite 3.35+, PostgreSQL); the row is created, racing
    safely, only the very first time."""
    table = connection.ops.quote_name(Counter._meta.db_table)
    with connection.cursor() as cursor:
        for _attempt in range(2):
            cursor.execute(
                f"UPDATE {table} SET value = value + 1 WHERE name = %s RETURNING value",  # noqa: S608
                ["ticket"],
            )
            row = cursor.fetchone()
            if row is not None:
                return int(row[0])
            cursor.execute(
                f"INSERT INTO {table} (name, value) VALUES (%s, 0) "  # noqa: S608
                "ON CONFLICT (name) DO NOTHING",
                ["ticket"],
            )
    raise RuntimeError("the ticket number counter could not be created")


def _record(
    ticket: Ticket,
    kind: str,
    *,
    actor: User | None = None,
    contact: Contact | None = None,
    old: object = "",
    new: object = "",
) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket,
        actor=actor,
        actor_contact=contact,
        kind=kind,
        old_value=str(old if old is not None else "")[:300],
        new_value=str(new if new is not None else "")[:300],
        version=ticket.version,
    )


def _require_visible(actor: User, ticket: Ticket) -> None:
    if not ticket_is_visible(actor, ticket):
        raise PermissionDenied(_("You cannot see this ticket."))


def _lock(ticket: Ticket) -> Ticket:
    """Re-read the ticket under a row lock so two writers never interleave."""
    # of=("self",): PostgreSQL refuses FOR UPDATE on the nullable side of the account join.
    return (
        Ticket.objects.select_for_update(of=("self",))
        .select_related("requester", "account")
        .get(pk=ticket.pk)
    )


def _check_version(ticket: Ticket, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != ticket.version:
        raise TicketConflict(ticket, ticket_changes_since(ticket, expected_version))


def _check_not_closed(ticket: Ticket) -> None:
    if ticket.status == Status.CLOSED:
        raise TicketClosedError(
            _(
                "Ticket #%(n)s is closed and cannot change. A new reply from the customer "
                "opens a follow-up ticket."
            )
            % {"n": ticket.number}
        )


def _after_commit_index(ticket: Ticket) -> None:
    ticket_id = ticket.pk
    after_commit(lambda: index_ticket(ticket_id))


def _normalize_tags(names: Iterable[str]) -> list[str]:
    cleaned = []
    for name in names:
        tag = re.sub(r"\s+", "_", str(name).strip().lower())[:64]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _tags_for(names: Iterable[str]) -> list[Tag]:
    tags = []
    for name in _normalize_tags(names):
        tag, _created = Tag.objects.get_or_create(name=name)
        tags.append(tag)
    return tags


def _choice(value: str, choices: Any, field_name: str) -> str:
    if value not in choices.values:
        raise ValidationError(
            {
                field_name: _("“%(value)s” is not one of: %(allowed)s.")
                % {"value": value, "allowed": ", ".join(choices.values)}
            }
        )
    return str(value)


# --- attachments ----------------------------------------------------------------------

# Declared type -> leading bytes it must start with. Anything else on the allow-list is
# accepted by declared type plus extension; anything off the list is refused.
_MAGIC = {
    "image/png": [b"\x89PNG\r\n\x1a\n"],
    "image/jpeg": [b"\xff\xd8\xff"],
    "image/gif": [b"GIF87a", b"GIF89a"],
    "image/webp": [b"RIFF"],
    "application/pdf": [b"%PDF-"],
    "application/zip": [b"PK\x03\x04", b"PK\x05\x06"],
}
ALLOWED_CONTENT_TYPES = frozenset(
    {
        *_MAGIC,
        "text/plain",
        "text/csv",
        "application/json",
        "message/rfc822",
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "application/x-zip-compressed",
        "video/mp4",
        "audio/mpeg",
    }
)


def attachment_validate(upload: UploadedFile) -> str:
    """Raise a ValidationError a person can act on; return the content type to store."""
    name = upload.name or "attachment"
    size = upload.size or 0
    limit = settings.MAX_ATTACHMENT_BYTES
    if size > limit:
        raise ValidationError(
            _("“%(name)s” is %(size)s; attachments can be at most %(limit)s.")
            % {"name": name, "size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="too_large",
        )
    if size == 0:
        raise ValidationError(_("“%(name)s” is empty.") % {"name": name}, code="empty")
    declared = (upload.content_type or "").split(";")[0].strip().lower()
    guessed = (mimetypes.guess_type(name)[0] or "").lower()
    # The extension decides: it is what the agent's computer will use to open the file
    # when downloaded, so "invoice.html" declared as a Word file is still HTML.
    content_type = guessed or (declared if not Path(name).suffix else "")
    if content_type not in ALLOWED_CONTENT_TYPES:
        raise ValidationError(
            _("Files of type “%(type)s” (%(name)s) are not accepted.")
            % {"type": content_type or _("unknown"), "name": name},
            code="bad_type",
        )
    signatures = _MAGIC.get(content_type)
    if signatures:
        upload.seek(0)
        head = upload.read(16)
        upload.seek(0)
        if not any(head.startswith(sig) for sig in signatures):
            raise ValidationError(
                _("“%(name)s” says it is %(type)s but its content is not.")
                % {"name": name, "type": content_type},
                code="type_mismatch",
            )
    return content_type


def _attachments_save(ticket: Ticket, comment: Comment, uploads: Sequence[UploadedFile]) -> None:
    for upload in uploads:
        content_type = attachment_validate(upload)
        filename = re.sub(r"[^\w.\- ]+", "_", (upload.name or "attachment").rsplit("/", 1)[-1])[
            :200
        ]
        attachment = Attachment(
            ticket=ticket,
            comment=comment,
            filename=upload.name or filename,
            content_type=content_type,
            size=upload.size or 0,
            content_id=str(getattr(upload, "content_id", "") or "")[:255],
        )
        attachment.file.save(filename or "attachment", upload, save=False)
        attachment.save()


# --- assignment ---------------------------------------------------------------------


def ticket_auto_assign(ticket: Ticket) -> User | None:
    """Pick an agent of the ticket's team by the team's method, skipping away agents."""
    team = ticket.team
    if team is None or team.assignment == AssignmentMethod.MANUAL:
        return None
    candidates = (
        team.members.filter(is_active=True, is_away=False)
        .filter(
            Q(is_superuser=True)
            | Q(groups__permissions__codename="change_ticket")
            | Q(user_permissions__codename="change_ticket")
        )
        .distinct()
        .order_by("id")
    )
    if team.assignment == AssignmentMethod.ROUND_ROBIN:
        members = list(candidates)
        if not members:
            return None
        # Read the pointer under a lock: the caller's Team instance may be stale and two
        # tickets arriving together must not both go to the same agent.
        last_id = (
            Team.objects.select_for_update()
            .filter(pk=team.pk)
            .values_list("last_assignee_id", flat=True)
            .first()
            or 0
        )
        chosen = next((m for m in members if m.pk > last_id), members[0])
        Team.objects.filter(pk=team.pk).update(last_assignee=chosen)
        return chosen
    # Least open tickets: count each candidate's unresolved tickets in one query.
    least_busy: User | None = (
        candidates.annotate(
            # distinct: the permission joins above multiply each ticket row.
            open_count=Count(
                "assigned_tickets",
                filter=Q(assigned_tickets__status__in=UNRESOLVED_STATUSES),
                distinct=True,
            )
        )
        .order_by("open_count", "id")
        .first()
    )
    return least_busy


# --- tickets ------------------------------------------------------------------------


@transaction.atomic
def ticket_open(
    *,
    actor: User | None,
    subject: str,
    description: str,
    requester_email: str,
    requester_name: str = "",
    channel: str = Channel.WEB,
    priority: str = Priority.NORMAL,
    type: str = TicketType.QUESTION,
    tags: Iterable[str] = (),
    team: Team | None = None,
    assignee: User | None = None,
    product_area: ProductArea | None = None,
    feature: Feature | None = None,
    attachments: Sequence[UploadedFile] = (),
    description_html: str = "",
    follow_up_of: Ticket | None = None,
) -> tuple[Ticket, Comment]:
    """Open a ticket; returns it with the comment it opens with (callers that record
    which comment a message became need it, and a query to find it again is waste).
    ``actor`` is the staff member creating it, or None when the customer does (web
    form, email)."""
    if actor is not None:
        require_perm(actor, "desk.add_ticket")
    subject = " ".join((subject or "").split())[:300]
    if not subject:
        raise ValidationError({"subject": _("A ticket needs a subject.")})
    _choice(channel, Channel, "channel")
    _choice(priority, Priority, "priority")
    _choice(type, TicketType, "type")
    if feature is not None and product_area is None:
        product_area = feature.product_area
    if (
        feature is not None
        and product_area is not None
        and feature.product_area_id != product_area.pk
    ):
        raise ValidationError({"feature": _("This feature belongs to another product area.")})
    if assignee is not None and not (
        assignee.is_active and assignee.has_perm("desk.change_ticket")
    ):
        raise ValidationError(
            {"assignee": _("%(name)s cannot work on tickets.") % {"name": assignee.display_name}}
        )
    for upload in attachments:
        attachment_validate(upload)  # refuse before anything is written

    requester = contact_for_email(email=requester_email, name=requester_name)
    now = timezone.now()
    ticket = Ticket(
        number=_next_ticket_number(),
        subject=subject,
        description=description or "",
        status=Status.OPEN if assignee is not None else Status.NEW,
        priority=priority,
        type=type,
        channel=channel,
        requester=requester,
        account=requester.account,
        team=team,
        assignee=assignee,
        product_area=product_area,
        feature=feature,
        follow_up_of=follow_up_of,
        last_activity_at=now,
    )
    if assignee is None and team is not None:
        ticket.assignee = ticket_auto_assign(ticket)
        if ticket.assignee is not None:
            ticket.status = Status.OPEN  # as when an agent assigns it by hand
    sla.sla_start(ticket, now)
    ticket.save()
    tag_objects = _tags_for(tags)
    if tag_objects:  # a new ticket has no tags to compare with: skip the query when none
        ticket.tags.add(*tag_objects)
    _record(
        ticket, EventKind.CREATED, actor=actor, contact=None if actor else requester, new=channel
    )
    if ticket.assignee is not None:
        _record(ticket, EventKind.ASSIGNEE, actor=actor, new=ticket.assignee.display_name)
    comment = Comment.objects.create(
        ticket=ticket,
        author_user=actor,
        author_contact=None if actor else requester,
        public=True,
        body=description or "",
        body_html=sanitize_html(description_html),
        channel=channel,
        ticket_version=ticket.version,
    )
    _attachments_save(ticket, comment, attachments)
    _after_commit_index(ticket)
    ticket_id = ticket.pk
    after_commit(lambda: events.ticket_created.send(sender=Ticket, ticket_id=ticket_id))
    return ticket, comment


def _ticket_only[**P](open_: Callable[P, tuple[Ticket, Comment]]) -> Callable[P, Ticket]:
    def create(*args: P.args, **kwargs: P.kwargs) -> Ticket:
        return open_(*args, **kwargs)[0]

    create.__doc__ = "Open a ticket and return it (ticket_open's arguments)."
    return create


ticket_create = _ticket_only(ticket_open)


@dataclass
class FieldChange:
    field: str
    label: str
    old: str
    new: str


def _display(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, User):
        return str(value.display_name)
    return str(value)


def _apply_changes(
    ticket: Ticket,
    *,
    actor: User | None,
    now: datetime,
    status: Any = UNSET,
    priority: Any = UNSET,
    type: Any = UNSET,
    assignee: Any = UNSET,
    team: Any = UNSET,
    tags: Any = UNSET,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    product_area: Any = UNSET,
    feature: Any = UNSET,
    subject: Any = UNSET,
) -> list[str]:
    """Apply field changes to a locked ticket, record events, run SLA hooks. Returns the
    changed field names (the caller bumps the version and saves)."""
    changed: list[str] = []

    if status is not UNSET and status != ticket.status:
        _choice(status, Status, "status")
        if status not in AGENT_SETTABLE_STATUSES:
            if status == Status.SOLVED:
                raise ValidationError(
                    {
                        "status": _(
                            "A ticket is solved when the customer confirms. Ask the customer to "
                            "confirm, or solve it without confirmation and give a reason."
                        )
                    }
                )
            if status == Status.CLOSED:
                raise ValidationError(
                    {
                        "status": ngettext(
                            "Tickets close by themselves %(days)s day after they are solved.",
                            "Tickets close by themselves %(days)s days after they are solved.",
                            settings.TEND_AUTO_CLOSE_DAYS,
                        )
                        % {"days": settings.TEND_AUTO_CLOSE_DAYS}
                    }
                )
            raise ValidationError({"status": _("A ticket cannot go back to New.")})
        old = ticket.status
        ticket.status = status
        if old == Status.SOLVED:
            # Reopened by an agent: the earlier solve no longer stands.
            ticket.solved_at = None
            ticket.solve_confirmed_at = None
            ticket.unconfirmed_solve_reason = ""
            changed += ["solved_at", "solve_confirmed_at", "unconfirmed_solve_reason"]
        if old in (Status.PENDING, Status.SOLVED) and ticket.confirmation_requested_at:
            # Back at work: the "is it solved?" question is withdrawn, so an old link
            # in the customer's mailbox can no longer solve the ticket.
            ticket.confirmation_requested_at = None
            changed.append("confirmation_requested_at")
        changed += ["status", *sla.sla_on_status_change(ticket, old, now)]
        _record(ticket, EventKind.STATUS, actor=actor, old=old, new=status)

    if priority is not UNSET and priority != ticket.priority:
        _choice(priority, Priority, "priority")
        old = ticket.priority
        ticket.priority = priority
        changed += ["priority", *sla.sla_on_priority_change(ticket, now)]
        _record(ticket, EventKind.PRIORITY, actor=actor, old=old, new=priority)

    if type is not UNSET and type != ticket.type:
        _choice(type, TicketType, "type")
        _record(ticket, EventKind.TYPE, actor=actor, old=ticket.type, new=type)
        ticket.type = type
        changed.append("type")

    if team is not UNSET and team != ticket.team:
        _record(ticket, EventKind.TEAM, actor=actor, old=_display(ticket.team), new=_display(team))
        ticket.team = team
        changed.append("team")
        # An unassigned ticket, or one whose assignee is not in the new team, goes to
        # that team's rotation (nobody, for a manually assigned team).
        if (
            assignee is UNSET
            and team is not None
            and (ticket.assignee is None or not team.members.filter(pk=ticket.assignee_id).exists())
        ):
            picked = ticket_auto_assign(ticket)
            if picked is not None or ticket.assignee is not None:
                assignee = picked

    if assignee is not UNSET and assignee != ticket.assignee:
        if assignee is not None and not (
            assignee.is_active and assignee.has_perm("desk.change_ticket")
        ):
            raise ValidationError(
                {
                    "assignee": _("%(name)s cannot work on tickets.")
                    % {"name": assignee.display_name}
                }
            )
        _record(
            ticket,
            EventKind.ASSIGNEE,
            actor=actor,
            old=_display(ticket.assignee),
            new=_display(assignee),
        )
        ticket.assignee = assignee
        changed.append("assignee")
        if ticket.status == Status.NEW and assignee is not None:
            ticket.status = Status.OPEN
            changed.append("status")
            _record(ticket, EventKind.STATUS, actor=actor, old=Status.NEW, new=Status.OPEN)

    if product_area is not UNSET and product_area != ticket.product_area:
        _record(
            ticket,
            EventKind.PRODUCT_AREA,
            actor=actor,
            old=_display(ticket.product_area),
            new=_display(product_area),
        )
        ticket.product_area = product_area
        changed.append("product_area")
        # A feature of the old area no longer applies.
        if (
            feature is UNSET
            and ticket.feature is not None
            and (product_area is None or ticket.feature.product_area_id != product_area.pk)
        ):
            feature = None

    if feature is not UNSET and feature != ticket.feature:
        if feature is not None and ticket.product_area_id not in (None, feature.product_area_id):
            raise ValidationError({"feature": _("This feature belongs to another product area.")})
        if feature is not None and ticket.product_area_id is None:
            ticket.product_area = feature.product_area
            changed.append("product_area")
        _record(
            ticket,
            EventKind.FEATURE,
            actor=actor,
            old=_display(ticket.feature),
            new=_display(feature),
        )
        ticket.feature = feature
        changed.append("feature")

    if subject is not UNSET:
        subject = " ".join(str(subject).split())[:300]
        if not subject:
            raise ValidationError({"subject": _("A ticket needs a subject.")})
        if subject != ticket.subject:
            _record(ticket, EventKind.SUBJECT, actor=actor, old=ticket.subject, new=subject)
            ticket.subject = subject
            changed.append("subject")

    current = set(ticket.tags.values_list("name", flat=True))
    wanted = set(current)
    if tags is not UNSET:
        wanted = set(_normalize_tags(tags or []))
    wanted |= set(_normalize_tags(add_tags))
    wanted -= set(_normalize_tags(remove_tags))
    if wanted != current:
        ticket.tags.set(_tags_for(sorted(wanted)))
        _record(
            ticket,
            EventKind.TAGS,
            actor=actor,
            old=", ".join(sorted(current)),
            new=", ".join(sorted(wanted)),
        )
        changed.append("tags")
    return changed


def _begin(ticket: Ticket) -> None:
    """Start a change: the version goes up first so the events and comment this change
    records carry the version it produces (the collision guard lists them by it)."""
    ticket.version += 1


def _save(ticket: Ticket, changed: Iterable[str], now: datetime) -> None:
    fields = {f for f in changed if f != "tags"}
    ticket.last_activity_at = now
    ticket.save(update_fields=sorted({*fields, "version", "last_activity_at", "updated_at"}))
    _after_commit_index(ticket)


@transaction.atomic
def ticket_update(
    *,
    actor: User,
    ticket: Ticket,
    expected_version: int | None = None,
    status: Any = UNSET,
    priority: Any = UNSET,
    type: Any = UNSET,
    assignee: Any = UNSET,
    team: Any = UNSET,
    tags: Any = UNSET,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
    product_area: Any = UNSET,
    feature: Any = UNSET,
    subject: Any = UNSET,
) -> Ticket:
    require_perm(actor, "desk.change_ticket")
    _require_visible(actor, ticket)
    ticket = _lock(ticket)
    _check_not_closed(ticket)
    _check_version(ticket, expected_version)
    _begin(ticket)
    now = timezone.now()
    changed = _apply_changes(
        ticket,
        actor=actor,
        now=now,
        status=status,
        priority=priority,
        type=type,
        assignee=assignee,
        team=team,
        tags=tags,
        add_tags=add_tags,
        remove_tags=remove_tags,
        product_area=product_area,
        feature=feature,
        subject=subject,
    )
    if changed:
        _save(ticket, changed, now)
    else:
        ticket.version -= 1  # nothing changed, nothing saved
    return ticket


@transaction.atomic
def ticket_flag_for_review(*, ticket: Ticket, reason: str) -> None:
    """Tag a ticket "needs_review" on the system's behalf (no staff actor: e.g. an email
    the parser could not read), with the reason in the timeline."""
    ticket = _lock(ticket)
    current = set(ticket.tags.values_list("name", flat=True))
    if NEEDS_REVIEW_TAG in current:
        return
    _begin(ticket)
    ticket.tags.add(*_tags_for([NEEDS_REVIEW_TAG]))
    _record(
        ticket,
        EventKind.TAGS,
        old=", ".join(sorted(current)),
        new=", ".join(sorted({*current, NEEDS_REVIEW_TAG})),
    )
    _record(ticket, EventKind.FLAGGED, new=reason[:300])
    _save(ticket, [], timezone.now())


@transaction.atomic
def ticket_record_bounce(*, ticket: Ticket, recipient: str, reason: str) -> None:
    """Note on the ticket's timeline that mail to ``recipient`` came back undelivered
    (a delivery status notification), instead of opening a ticket for the bounce."""
    ticket = _lock(ticket)
    _begin(ticket)
    _record(ticket, EventKind.BOUNCED, old=recipient[:300], new=reason[:300])
    _save(ticket, [], timezone.now())


@transaction.atomic
def tickets_bulk_update(
    *,
    actor: User,
    ticket_ids: Iterable[int],
    assignee: Any = UNSET,
    team: Any = UNSET,
    status: Any = UNSET,
    add_tags: Iterable[str] = (),
    remove_tags: Iterable[str] = (),
) -> int:
    """Apply one change to many tickets, all or nothing. Closed tickets are skipped."""
    require_perm(actor, "desk.change_ticket")
    from tend.desk.selectors import tickets_visible_to

    tickets = list(
        tickets_visible_to(actor)
        .filter(pk__in=list(ticket_ids))
        .exclude(status=Status.CLOSED)
        .order_by("pk")
    )
    add, remove = list(add_tags), list(remove_tags)
    for ticket in tickets:
        ticket_update(
            actor=actor,
            ticket=ticket,
            assignee=assignee,
            team=team,
            status=status,
            add_tags=add,
            remove_tags=remove,
        )
    return len(tickets)


# --- solving ------------------------------------------------------------------------


def _email_customer(
    ticket: Ticket, *, kind: str, subject: str, body: str, comment_id: int | None
) -> None:
    """Hand a mail for the requester to whoever delivers email (the mail app's outbox).

    Sent inside the transaction on purpose, unlike the desk's other signals: the queued
    mail must commit together with the reply it carries, or a crash between the two
    would lose it.
    """
    events.customer_email.send(
        sender=Ticket,
        ticket_id=ticket.pk,
        comment_id=comment_id,
        kind=kind,
        subject=subject,
        body=body,
    )


def confirmation_token_make(ticket: Ticket) -> str:
    return signing.dumps(
        {"t": ticket.pk, "n": ticket.number}, salt=CONFIRM_TOKEN_SALT, compress=True
    )


def confirmation_token_ticket(token: str) -> Ticket:
    try:
        data = signing.loads(token, salt=CONFIRM_TOKEN_SALT, max_age=CONFIRM_TOKEN_MAX_AGE)
        return Ticket.objects.select_related("requester").get(pk=data["t"], number=data["n"])
    except (signing.BadSignature, KeyError, TypeError, Ticket.DoesNotExist):
        raise ValidationError(_("This link is invalid or has expired."), code="bad_token") from None


def confirmation_url(ticket: Ticket) -> str:
    return f"{settings.BASE_URL}/support/confirm/{confirmation_token_make(ticket)}/"


def _email_requester_confirmation(ticket: Ticket) -> None:
    # The customer reads this in the language the staff UI runs in for now; per-contact
    # language arrives with the email channel.
    with translation.override(settings.LANGUAGE_CODE):
        subject = _("[#%(n)s] Is your request solved? %(s)s") % {
            "n": ticket.number,
            "s": ticket.subject,
        }
        body = _(
            "Hello %(name)s,\n\nWe believe your request #%(n)s “%(s)s” is solved. Please confirm:\n\n"
            "%(url)s\n\nIf you still need help, open the link and tell us, or simply reply.\n"
        ) % {
            "name": ticket.requester.display_name,
            "n": ticket.number,
            "s": ticket.subject,
            "url": confirmation_url(ticket),
        }
    _email_customer(ticket, kind="notice", subject=subject, body=body, comment_id=None)


@transaction.atomic
def ticket_request_confirmation(
    *, actor: User, ticket: Ticket, expected_version: int | None = None
) -> Ticket:
    """Ask the customer whether the ticket is solved; it waits as pending meanwhile."""
    require_perm(actor, "desk.change_ticket")
    _require_visible(actor, ticket)
    ticket = _lock(ticket)
    _check_not_closed(ticket)
    _check_version(ticket, expected_version)
    _begin(ticket)
    now = timezone.now()
    changed = _apply_changes(ticket, actor=actor, now=now, status=Status.PENDING)
    ticket.confirmation_requested_at = now
    _record(ticket, EventKind.CONFIRMATION_REQUESTED, actor=actor)
    _save(ticket, [*changed, "confirmation_requested_at"], now)
    _email_requester_confirmation(ticket)
    return ticket


def _mark_solved(ticket: Ticket, now: datetime) -> list[str]:
    old = ticket.status
    ticket.status = Status.SOLVED
    ticket.solved_at = now
    return ["status", "solved_at", *sla.sla_on_status_change(ticket, old, now)]


@transaction.atomic
def ticket_solve(
    *, actor: User, ticket: Ticket, reason: str, expected_version: int | None = None
) -> Ticket:
    """Solve without the customer's confirmation; a reason is required, and the
    customer is still asked to confirm before the ticket closes."""
    require_perm(actor, "desk.change_ticket")
    _require_visible(actor, ticket)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            {"reason": _("Say why this ticket is solved without the customer's confirmation.")}
        )
    ticket = _lock(ticket)
    _check_not_closed(ticket)
    _check_version(ticket, expected_version)
    if ticket.status == Status.SOLVED:
        raise ValidationError({"status": _("This ticket is already solved.")})
    _begin(ticket)
    now = timezone.now()
    old = ticket.status
    changed = _mark_solved(ticket, now)
    ticket.unconfirmed_solve_reason = reason[:2000]
    ticket.confirmation_requested_at = ticket.confirmation_requested_at or now
    _record(ticket, EventKind.STATUS, actor=actor, old=old, new=Status.SOLVED)
    _record(ticket, EventKind.SOLVED_UNCONFIRMED, actor=actor, new=reason[:300])
    _save(ticket, [*changed, "unconfirmed_solve_reason", "confirmation_requested_at"], now)
    ticket_id = ticket.pk
    _email_requester_confirmation(ticket)
    after_commit(
        lambda: events.ticket_solved.send(sender=Ticket, ticket_id=ticket_id, confirmed=False)
    )
    return ticket


@transaction.atomic
def ticket_confirm_solution(*, ticket: Ticket) -> Ticket:
    """The customer says the problem is solved."""
    ticket = _lock(ticket)
    _check_not_closed(ticket)
    if ticket.confirmation_requested_at is None or ticket.status not in (
        Status.PENDING,
        Status.SOLVED,
    ):
        raise ValidationError(
            _(
                "This request was reopened after we asked, so there is nothing to confirm "
                "now. If you still need help, tell us below."
            ),
            code="not_asked",
        )
    _begin(ticket)
    now = timezone.now()
    changed: list[str] = []
    if ticket.status != Status.SOLVED:
        old = ticket.status
        changed = _mark_solved(ticket, now)
        _record(ticket, EventKind.STATUS, contact=ticket.requester, old=old, new=Status.SOLVED)
    ticket.solve_confirmed_at = now
    _record(ticket, EventKind.CONFIRMED, contact=ticket.requester)
    _save(ticket, [*changed, "solve_confirmed_at"], now)
    ticket_id = ticket.pk
    after_commit(
        lambda: events.ticket_solved.send(sender=Ticket, ticket_id=ticket_id, confirmed=True)
    )
    return ticket


def tickets_close_solved(*, now: datetime | None = None) -> int:
    """Close tickets solved at least TEND_AUTO_CLOSE_DAYS ago (run by the scheduler)."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.TEND_AUTO_CLOSE_DAYS)
    closed = 0
    ids = list(
        Ticket.objects.filter(status=Status.SOLVED, solved_at__lte=cutoff).values_list(
            "pk", flat=True
        )
    )
    for ticket_id in ids:
        with transaction.atomic():
            ticket = Ticket.objects.select_for_update().get(pk=ticket_id)
            if (
                ticket.status != Status.SOLVED
                or ticket.solved_at is None
                or ticket.solved_at > cutoff
            ):
                continue  # reopened (and perhaps solved again) since we listed it
            ticket.status = Status.CLOSED
            ticket.closed_at = now
            ticket.version += 1
            ticket.save(update_fields=["status", "closed_at", "version", "updated_at"])
            _record(ticket, EventKind.STATUS, old=Status.SOLVED, new=Status.CLOSED)
            _after_commit_index(ticket)
            after_commit(partial(events.ticket_closed.send, sender=Ticket, ticket_id=ticket_id))
        closed += 1
    return closed


# --- comments -----------------------------------------------------------------------


@transaction.atomic
def comment_add_agent(
    *,
    actor: User,
    ticket: Ticket,
    body: str,
    public: bool = True,
    attachments: Sequence[UploadedFile] = (),
    expected_version: int | None = None,
    status: Any = UNSET,
    macro: Macro | None = None,
    channel: str = Channel.WEB,
) -> Comment:
    """An agent's public reply or internal note, optionally applying a macro's actions
    and setting the status in the same step."""
    require_perm(actor, "desk.add_comment")
    require_perm(actor, "desk.change_ticket")
    _require_visible(actor, ticket)
    body = (body or "").strip()
    if not body and not attachments:
        raise ValidationError({"body": _("Write something before sending.")})
    for upload in attachments:
        attachment_validate(upload)
    ticket = _lock(ticket)
    _check_not_closed(ticket)
    _check_version(ticket, expected_version)
    _begin(ticket)
    now = timezone.now()
    changed: list[str] = []
    if macro is not None:
        changed += _macro_apply(actor=actor, ticket=ticket, macro=macro, now=now)
    if public:
        if status is UNSET and ticket.status == Status.NEW:
            status = Status.OPEN
        # Whoever answers an unassigned ticket takes it — unless it belongs (perhaps
        # since this very macro) to a team they are not in.
        if (
            ticket.assignee is None
            and "assignee" not in changed
            and (ticket.team is None or ticket.team.members.filter(pk=actor.pk).exists())
        ):
            changed += _apply_changes(ticket, actor=actor, now=now, assignee=actor)
        if ticket.first_responded_at is None:
            changed += ["first_responded_at", *sla.sla_on_first_response(ticket, now)]
    if status is not UNSET:
        changed += _apply_changes(ticket, actor=actor, now=now, status=status)
    _save(ticket, changed, now)
    comment = Comment.objects.create(
        ticket=ticket,
        author_user=actor,
        public=public,
        body=body,
        channel=_choice(channel, Channel, "channel"),
        ticket_version=ticket.version,
    )
    _attachments_save(ticket, comment, attachments)
    comment_id, ticket_id = comment.pk, ticket.pk
    if public:
        _email_customer(
            ticket,
            kind="reply",
            subject=f"[#{ticket.number}] {ticket.subject}",
            body=body,
            comment_id=comment_id,
        )
    after_commit(
        lambda: events.comment_added.send(
            sender=Comment,
            ticket_id=ticket_id,
            comment_id=comment_id,
            public=public,
            from_customer=False,
        )
    )
    return comment


@transaction.atomic
def comment_add_customer(
    *,
    ticket: Ticket,
    contact: Contact,
    body: str,
    body_html: str = "",
    attachments: Sequence[UploadedFile] = (),
    channel: str = Channel.EMAIL,
    reopen: bool = True,
) -> Comment:
    """A reply from the customer. It reopens a pending or solved ticket; on a closed
    ticket it opens a follow-up ticket linked to the closed one.

    ``reopen=False`` (an out-of-office or other automatic reply) only files the comment:
    a machine answering must not reopen a solved ticket or start a follow-up.
    """
    ticket = _lock(ticket)
    if ticket.status == Status.CLOSED and reopen:
        follow_up, opening = ticket_open(
            actor=None,
            subject=ticket.subject,
            description=body,
            description_html=body_html,
            requester_email=contact.email,
            requester_name=contact.name,
            channel=channel,
            priority=ticket.priority,
            type=ticket.type,
            tags=ticket.tags.values_list("name", flat=True),
            team=ticket.team,
            product_area=ticket.product_area,
            feature=ticket.feature,
            attachments=attachments,
            follow_up_of=ticket,
        )
        # The closed ticket stays untouched except for a pointer in its timeline.
        _record(ticket, EventKind.FOLLOW_UP, contact=contact, new=f"#{follow_up.number}")
        _record(follow_up, EventKind.FOLLOW_UP, contact=contact, old=f"#{ticket.number}")
        return opening
    for upload in attachments:
        attachment_validate(upload)
    _begin(ticket)
    now = timezone.now()
    changed: list[str] = []
    if reopen and ticket.status in (Status.PENDING, Status.SOLVED):
        old = ticket.status
        ticket.status = Status.OPEN
        ticket.solved_at = None
        ticket.solve_confirmed_at = None
        ticket.unconfirmed_solve_reason = ""
        ticket.confirmation_requested_at = None
        changed += [
            "status",
            "solved_at",
            "solve_confirmed_at",
            "unconfirmed_solve_reason",
            "confirmation_requested_at",
        ]
        changed += sla.sla_on_status_change(ticket, old, now)
        _record(ticket, EventKind.REOPENED, contact=contact, old=old, new=Status.OPEN)
    _save(ticket, changed, now)
    comment = Comment.objects.create(
        ticket=ticket,
        author_contact=contact,
        public=True,
        body=body or "",
        body_html=sanitize_html(body_html),
        channel=channel,
        ticket_version=ticket.version,
    )
    _attachments_save(ticket, comment, attachments)
    comment_id, ticket_id = comment.pk, ticket.pk
    after_commit(
        lambda: events.comment_added.send(
            sender=Comment,
            ticket_id=ticket_id,
            comment_id=comment_id,
            public=True,
            from_customer=True,
        )
    )
    return comment


# --- macros -------------------------------------------------------------------------

MACRO_ACTION_KEYS = frozenset(
    {"status", "priority", "type", "assignee", "team", "add_tags", "remove_tags", "public"}
)
_PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+(?:\.[a-z_]+)?)\s*\}\}")


def macro_render(body: str, *, ticket: Ticket, agent: User) -> str:
    """Fill a macro's placeholders. Only the listed names are known; anything else is
    left as written so a typo is visible rather than silently empty."""
    requester = ticket.requester
    name = requester.display_name
    values = {
        "requester.name": name,
        "requester.first_name": (requester.name.split()[0] if requester.name.strip() else name),
        "requester.email": requester.email,
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticket.status": str(Status(ticket.status).label),
        "agent.name": agent.display_name,
        "agent.first_name": agent.first_name or agent.display_name,
        "account.name": ticket.account.name if ticket.account else "",
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def _macro_targets(actions: dict[str, Any]) -> dict[str, Any]:
    """Resolve a macro's stored actions into ticket_update keyword arguments."""
    out: dict[str, Any] = {}
    for key in ("status", "priority", "type"):
        if actions.get(key):
            out[key] = actions[key]
    if "assignee" in actions:
        out["assignee"] = (
            User.objects.filter(pk=actions["assignee"]).first() if actions["assignee"] else None
        )
    if "team" in actions:
        out["team"] = Team.objects.filter(pk=actions["team"]).first() if actions["team"] else None
    out["add_tags"] = list(actions.get("add_tags") or [])
    out["remove_tags"] = list(actions.get("remove_tags") or [])
    return out


@dataclass
class MacroPreview:
    body: str
    public: bool
    changes: list[FieldChange] = field(default_factory=list)


def macro_preview(*, actor: User, ticket: Ticket, macro: Macro) -> MacroPreview:
    """What applying ``macro`` would write and change, without changing anything."""
    require_perm(actor, "desk.view_macro")
    _require_visible(actor, ticket)
    if macro.owner_id not in (None, actor.pk):
        raise PermissionDenied(_("This macro belongs to someone else."))
    targets = _macro_targets(macro.actions)
    changes: list[FieldChange] = []
    labels = {
        "status": _("Status"),
        "priority": _("Priority"),
        "type": _("Type"),
        "assignee": _("Assignee"),
        "team": _("Team"),
    }
    for key, label in labels.items():
        if key not in targets:
            continue
        old_value = getattr(ticket, key)
        new_value = targets[key]
        if old_value != new_value:
            if key in {"status", "priority", "type"}:
                choices = {"status": Status, "priority": Priority, "type": TicketType}[key]
                old_text, new_text = str(choices(old_value).label), str(choices(new_value).label)
            else:
                old_text, new_text = _display(old_value), _display(new_value)
            changes.append(FieldChange(key, str(label), old_text, new_text))
    current = set(ticket.tags.values_list("name", flat=True))
    wanted = (current | set(_normalize_tags(targets["add_tags"]))) - set(
        _normalize_tags(targets["remove_tags"])
    )
    if wanted != current:
        changes.append(
            FieldChange(
                "tags",
                str(_("Tags")),
                ", ".join(sorted(current)) or "—",
                ", ".join(sorted(wanted)) or "—",
            )
        )
    return MacroPreview(
        body=macro_render(macro.body, ticket=ticket, agent=actor),
        public=bool(macro.actions.get("public", True)),
        changes=changes,
    )


def _macro_apply(*, actor: User, ticket: Ticket, macro: Macro, now: datetime) -> list[str]:
    if macro.owner_id not in (None, actor.pk):
        raise PermissionDenied(_("This macro belongs to someone else."))
    changed = _apply_changes(ticket, actor=actor, now=now, **_macro_targets(macro.actions))
    _record(ticket, EventKind.MACRO, actor=actor, new=macro.name)
    Macro.objects.filter(pk=macro.pk).update(usage_count=F("usage_count") + 1)
    return changed


def _macro_validate(name: str, actions: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("A macro needs a name.")})
    if not isinstance(actions, dict):
        raise ValidationError({"actions": _("Actions must be an object.")})
    unknown = set(actions) - MACRO_ACTION_KEYS
    if unknown:
        raise ValidationError(
            {"actions": _("Unknown actions: %(keys)s") % {"keys": ", ".join(sorted(unknown))}}
        )
    clean: dict[str, Any] = {}
    if actions.get("status"):
        status = _choice(actions["status"], Status, "status")
        if status not in AGENT_SETTABLE_STATUSES:
            raise ValidationError(
                {"actions": _("A macro can set the status to open, pending or on-hold.")}
            )
        clean["status"] = status
    if actions.get("priority"):
        clean["priority"] = _choice(actions["priority"], Priority, "priority")
    if actions.get("type"):
        clean["type"] = _choice(actions["type"], TicketType, "type")
    if "assignee" in actions:
        if actions["assignee"] and not User.objects.filter(pk=actions["assignee"]).exists():
            raise ValidationError({"actions": _("The macro's assignee does not exist.")})
        clean["assignee"] = actions["assignee"] or None
    if "team" in actions:
        if actions["team"] and not Team.objects.filter(pk=actions["team"]).exists():
            raise ValidationError({"actions": _("The macro's team does not exist.")})
        clean["team"] = actions["team"] or None
    for key in ("add_tags", "remove_tags"):
        if actions.get(key):
            clean[key] = _normalize_tags(actions[key])
    if "public" in actions:
        clean["public"] = bool(actions["public"])
    return name[:100], clean


@transaction.atomic
def macro_create(
    *, actor: User, name: str, body: str, actions: dict[str, Any], shared: bool
) -> Macro:
    require_perm(actor, "desk.add_macro")
    if shared:
        require_perm(actor, "desk.manage_shared_macros")
    name, clean = _macro_validate(name, actions)
    return Macro.objects.create(
        name=name, body=body or "", actions=clean, owner=None if shared else actor
    )


@transaction.atomic
def macro_update(
    *, actor: User, macro: Macro, name: str, body: str, actions: dict[str, Any]
) -> Macro:
    require_perm(actor, "desk.change_macro")
    if macro.owner_id is None:
        require_perm(actor, "desk.manage_shared_macros")
    elif macro.owner_id != actor.pk:
        raise PermissionDenied(_("This macro belongs to someone else."))
    macro.name, macro.actions = _macro_validate(name, actions)
    macro.body = body or ""
    macro.save(update_fields=["name", "actions", "body", "updated_at"])
    return macro


# --- saved views ----------------------------------------------------------------------


@transaction.atomic
def saved_view_create(
    *,
    actor: User,
    name: str,
    filters: dict[str, Any],
    sort: str = "-updated_at",
    shared: bool = False,
) -> SavedView:
    from tend.desk.selectors import FILTER_LOOKUPS, SORTS

    require_perm(actor, "desk.add_savedview")
    if shared:
        require_perm(actor, "desk.manage_shared_views")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("A view needs a name.")})
    unknown = set(filters or {}) - set(FILTER_LOOKUPS)
    if unknown:
        raise ValidationError(
            {"filters": _("Unknown filters: %(keys)s") % {"keys": ", ".join(sorted(unknown))}}
        )
    if sort not in SORTS:
        raise ValidationError({"sort": _("Unknown sort order.")})
    clean = {
        k: (v if isinstance(v, list) else [v])
        for k, v in (filters or {}).items()
        if v not in (None, "", [])
    }
    return SavedView.objects.create(
        name=name[:100], owner=None if shared else actor, filters=clean, sort=sort
    )


@transaction.atomic
def saved_view_delete(*, actor: User, view: SavedView) -> None:
    if view.owner_id is None:
        require_perm(actor, "desk.manage_shared_views")
    elif view.owner_id != actor.pk:
        raise PermissionDenied(_("This view belongs to someone else."))
    view.delete()
