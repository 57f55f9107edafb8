"""Inbound mail: store the raw bytes first, then turn them into a ticket or comment once."""

from __future__ import annotations

import hashlib
import logging

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.crm.services import contact_for_email
from tend.desk.models import Channel, Comment, Ticket
from tend.desk.services import (
    NEEDS_REVIEW_TAG,
    attachment_validate,
    comment_add_customer,
    ticket_create,
    ticket_flag_for_review,
)
from tend.mail.models import InboundMessage, InboundStatus, MessageReference, Via
from tend.mail.parsing import ParsedMessage, parse_message
from tend.mail.quoting import trim_reply
from tend.mail.threads import ticket_for_message

logger = logging.getLogger(__name__)

# Used when a message has no usable sender; the ticket is flagged for review anyway.
UNKNOWN_SENDER = "unknown-sender@invalid.invalid"


def inbound_store(*, raw: bytes, via: str) -> InboundMessage:
    """Keep the raw message before anything else; the same bytes twice return one row."""
    if via not in Via.values:
        raise ValidationError(_("Unknown mail source “%(via)s”.") % {"via": via})
    digest = hashlib.sha256(raw).hexdigest()
    existing = InboundMessage.objects.filter(sha256=digest).first()
    if existing is not None:
        return existing
    try:
        message_id = parse_message(raw).message_id
    except Exception:
        message_id = ""
    message = InboundMessage(sha256=digest, message_id=message_id, received_via=via, size=len(raw))
    message.raw.save(f"{digest}.eml", ContentFile(raw), save=False)
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Another path (IMAP and the HTTP hook, say) stored the same bytes a moment ago.
        message.raw.delete(save=False)
        return InboundMessage.objects.get(sha256=digest)
    return message


def _uploads(parsed: ParsedMessage) -> tuple[list[SimpleUploadedFile], list[str]]:
    """Attachments the desk accepts, and a note line for each one it refuses."""
    accepted: list[SimpleUploadedFile] = []
    notes: list[str] = []
    for part in parsed.attachments:
        upload = SimpleUploadedFile(part.filename, part.data, content_type=part.content_type)
        try:
            attachment_validate(upload)
        except ValidationError as exc:
            # Never lose the message over an attachment: say what was left out instead.
            notes.append(" ".join(exc.messages))
            continue
        accepted.append(upload)
    return accepted, notes


def _sender(parsed: ParsedMessage) -> tuple[str, bool]:
    try:
        validate_email(parsed.from_email)
    except ValidationError:
        return UNKNOWN_SENDER, False
    return parsed.from_email, True


def _body(parsed: ParsedMessage, *, trim: bool, notes: list[str]) -> str:
    body = trim_reply(parsed.text) if trim else parsed.text.strip()
    if notes:
        body += "\n\n" + _("Attachments not saved (the original message is kept):") + "\n"
        body += "\n".join(f"- {note}" for note in notes)
    return body or _("(empty message)")


def _reply_html(parsed: ParsedMessage) -> str:
    """The HTML to display for a reply, or "" to show the trimmed text instead.

    Quoted history in HTML takes many client-specific shapes; rather than guess at them,
    the HTML is shown only when the text had nothing to trim, so a comment never repeats
    the whole thread.
    """
    if not parsed.html or trim_reply(parsed.text) != parsed.text.strip():
        return ""
    return parsed.html


def _flag(ticket: Ticket, reason: str) -> None:
    ticket_flag_for_review(ticket=ticket, reason=reason)


def _reference(ticket: Ticket, message_id: str) -> None:
    if message_id:
        MessageReference.objects.get_or_create(message_id=message_id, defaults={"ticket": ticket})


def inbound_process(*, message_id: int) -> InboundMessage:
    """Turn a stored message into a ticket or a comment, exactly once.

    Everything happens in one transaction with the row locked: a crash leaves the message
    "received" and a retry does the work once; a second call after success does nothing.
    """
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=message_id)
        if inbound.status == InboundStatus.PROCESSED:
            return inbound
        with inbound.raw.open("rb") as fh:
            raw = fh.read()
        try:
            parsed = parse_message(raw)
        except Exception as exc:  # any parser failure (UnreadableMessage or a bug): keep, flag
            logger.warning("unreadable inbound message %s: %s", inbound.pk, exc)
            return _process_unreadable(inbound, str(exc))
        try:
            with transaction.atomic():
                return _process_parsed(inbound, parsed)
        except ValidationError as exc:
            # The desk refused something about this message (it will refuse it again on
            # every retry), so it becomes a ticket for a person to look at instead.
            logger.warning("inbound message %s refused: %s", inbound.pk, exc)
            return _process_unreadable(inbound, "; ".join(exc.messages))


def inbound_mark_failed(*, message_id: int, error: str) -> InboundMessage:
    """Record that processing keeps crashing (called by the task runner after retries),
    so the message shows up for an admin instead of being retried forever."""
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=message_id)
        if inbound.status != InboundStatus.PROCESSED:
            inbound.status = InboundStatus.FAILED
            inbound.error = error[:10000]
            inbound.save(update_fields=["status", "error"])
        return inbound


def _process_unreadable(inbound: InboundMessage, error: str) -> InboundMessage:
    ticket = ticket_create(
        actor=None,
        subject=_("(unreadable message)"),
        description=_(
            "Tend could not read this email. The original is kept as inbound message %(id)s."
        )
        % {"id": inbound.pk},
        requester_email=UNKNOWN_SENDER,
        channel=Channel.EMAIL,
        tags=[NEEDS_REVIEW_TAG],
    )
    return _finish(inbound, ticket, ticket.comments.get(), error=error)


def _process_parsed(inbound: InboundMessage, parsed: ParsedMessage) -> InboundMessage:
    uploads, notes = _uploads(parsed)
    email, sender_ok = _sender(parsed)
    duplicate_of = (
        MessageReference.objects.filter(message_id=parsed.message_id).first()
        if parsed.message_id
        else None
    )
    ticket = duplicate_of.ticket if duplicate_of else ticket_for_message(parsed)
    if ticket is None:
        ticket = ticket_create(
            actor=None,
            subject=parsed.subject or _("(no subject)"),
            description=_body(parsed, trim=False, notes=notes),
            description_html=parsed.html,
            requester_email=email,
            requester_name=parsed.from_name,
            channel=Channel.EMAIL,
            tags=[] if sender_ok else [NEEDS_REVIEW_TAG],
            attachments=uploads,
        )
        comment = ticket.comments.get()
    else:
        body = _body(parsed, trim=True, notes=notes)
        if duplicate_of is not None:
            # Same Message-ID as a message already on this ticket but different bytes:
            # keep it, and say so, rather than silently dropping a possibly real message.
            body = (
                _("[Duplicate Message-ID %(mid)s with different content]")
                % {"mid": parsed.message_id}
                + "\n\n"
                + body
            )
        contact = contact_for_email(email=email, name=parsed.from_name)
        comment = comment_add_customer(
            ticket=ticket,
            contact=contact,
            body=body,
            body_html=_reply_html(parsed),
            attachments=uploads,
            channel=Channel.EMAIL,
        )
        ticket = comment.ticket  # a closed ticket yields a follow-up
        if duplicate_of is not None:
            _flag(ticket, _("A different message arrived with an earlier message's Message-ID."))
        elif not sender_ok:
            _flag(ticket, _("The sender's address is missing or invalid."))
    _reference(ticket, parsed.message_id)
    return _finish(inbound, ticket, comment)


def _finish(
    inbound: InboundMessage, ticket: Ticket, comment: Comment, *, error: str = ""
) -> InboundMessage:
    inbound.ticket = ticket
    inbound.comment = comment
    inbound.status = InboundStatus.PROCESSED
    inbound.error = error
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["ticket", "comment", "status", "error", "processed_at"])
    return inbound


def inbound_receive(*, raw: bytes, via: str) -> InboundMessage:
    """The single entry point for IMAP, SMTP and HTTP: store, then process."""
    inbound = inbound_store(raw=raw, via=via)
    return inbound_process(message_id=inbound.pk)
