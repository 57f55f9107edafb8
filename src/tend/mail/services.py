"""Inbound mail: store the raw bytes first, then turn them into a ticket or comment once.

The path every message takes, whichever way it came in (IMAP, SMTP, HTTP):

1. ``inbound_store`` writes the raw bytes and a row (deduplicated by SHA-256), works out
   which mailbox it was sent to, and enqueues ``process_inbound`` after commit.
2. The job calls ``inbound_process_attempt``, which counts the attempt in its own
   committed transaction *before* doing the work, so a message that kills the worker
   (out of memory, kill -9) is still counted and given up on after MAX_ATTEMPTS.
3. ``inbound_process`` does all the work in one transaction with the row locked: a crash
   anywhere rolls everything back and leaves the message "received"; a second run after
   success does nothing.
4. ``inbound_recover`` (every minute) picks up messages left "received" by a crashed
   worker or a lost job.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Sequence
from datetime import timedelta
from email.message import Message
from email.parser import BytesHeaderParser
from email.policy import compat32
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.commit import after_commit
from tend.core.rows import row_for_update, row_update
from tend.crm.services import contact_clear_bounce, contact_for_email, contact_mark_bounced
from tend.desk.models import Channel, Comment, Ticket
from tend.desk.services import (
    NEEDS_REVIEW_TAG,
    attachment_validate,
    comment_add_customer,
    ticket_flag_for_review,
    ticket_open,
    ticket_record_bounce,
)
from tend.mail.autoreply import acknowledge, is_automatic
from tend.mail.bounces import BounceReport, bounce_report
from tend.mail.mailboxes import mailbox_active, mailbox_for_recipients
from tend.mail.models import (
    InboundMessage,
    InboundStatus,
    Mailbox,
    MessageReference,
    OutboundMessage,
    OutboundStatus,
    Via,
)
from tend.mail.parsing import (
    ParsedMessage,
    header_addresses,
    message_ids,
    parse_message,
    read_message,
)
from tend.mail.quoting import trim_reply, trim_reply_html
from tend.mail.threads import known_references, reference_add, ticket_for_message

logger = logging.getLogger(__name__)

# Used when a message has no usable sender; the ticket is flagged for review anyway.
UNKNOWN_SENDER = "unknown-sender@invalid.invalid"
# New tickets opened by auto-replies and bulk mail carry this tag: kept (a vacation
# notice may still say something useful, and nothing is ever dropped) but easy to filter
# out, and never acknowledged, which is what would start a mail loop.
AUTOMATIC_TAG = "automatic_mail"
# Attempts that may start before a message is given up on. Each attempt is counted before
# the work begins, so a message that kills the worker every time still reaches it.
MAX_ATTEMPTS = 5
# One recovery run stops after this long or this many messages; the next run (a minute
# later) takes the rest, so runs do not pile up behind a large backlog.
RECOVER_BUDGET_SECONDS = 45.0
RECOVER_BATCH = 1000


class Outcome(StrEnum):
    """What processing made of a message (InboundMessage.outcome)."""

    TICKET = "ticket"  # opened a new ticket
    COMMENT = "comment"  # joined an existing ticket
    AUTOMATIC = "automatic"  # an auto-reply/bulk mail that opened a tagged ticket
    DUPLICATE = "duplicate"  # a reused Message-ID with new content: comment + flag
    BOUNCE = "bounce"  # a delivery failure recorded on the ticket it was about
    BOUNCE_UNMATCHED = "bounce-unmatched"  # a delivery report for mail Tend did not send
    DELAYED = "delayed"  # a delivery delay noted on the ticket (nothing flagged)
    UNREADABLE = "unreadable"  # the parser or the desk refused it: a flagged ticket
    FAILED = "failed"  # processing kept crashing; kept raw for an admin


# --- storing ------------------------------------------------------------------------


def _headers(raw: bytes) -> Message | None:
    try:
        # Headers only: cheap even for a 40 MB message, and never strict about them.
        return BytesHeaderParser(policy=compat32).parsebytes(raw)
    except Exception:
        return None


def recipient_groups(msg: Message | None, recipients: Sequence[str] = ()) -> list[list[str]]:
    """Addresses the message was delivered to, most telling group first: the SMTP
    envelope, then the headers delivery agents add, then To and Cc (a Bcc'd mailbox is
    only in the former)."""
    groups = [[r.strip().lower() for r in recipients if r.strip()]]
    if msg is not None:
        groups.append(
            [
                *header_addresses(msg, "Delivered-To"),
                *header_addresses(msg, "X-Original-To"),
                *header_addresses(msg, "Envelope-To"),
            ]
        )
        groups.append([*header_addresses(msg, "To"), *header_addresses(msg, "Cc")])
    return [group for group in groups if group]


def mailbox_for_message(msg: Message | None, recipients: Sequence[str] = ()) -> Mailbox | None:
    """The active mailbox the message was sent to, or None (mail for an address Tend
    no longer serves, or forwarded with rewritten headers)."""
    for group in recipient_groups(msg, recipients):
        mailbox = mailbox_for_recipients(group)
        if mailbox is not None:
            return mailbox
    return None


def _enqueue(message_id: int) -> None:
    from tend.mail.tasks import process_inbound

    # If this is lost (the queue is down, the process dies right here), the
    # every-minute recovery processes the message anyway.
    process_inbound.enqueue(message_id)


def inbound_store(
    *,
    raw: bytes,
    via: str,
    mailbox: Mailbox | None = None,
    recipients: Sequence[str] = (),
    enqueue: bool = True,
    headers: Message | None = None,
) -> InboundMessage:
    """Keep the raw message before anything else; the same bytes twice return one row.

    ``mailbox`` is the mailbox it arrived at when the caller knows (the IMAP poller);
    otherwise it is found from the envelope ``recipients`` (SMTP) and the headers.
    Processing is enqueued after commit unless ``enqueue`` is False (the caller
    processes inline) or the message was processed already. ``headers`` is the parsed
    message when the caller has it already.
    """
    if via not in Via.values:
        raise ValidationError(_("Unknown mail source “%(via)s”.") % {"via": via})
    digest = hashlib.sha256(raw).hexdigest()
    if headers is None:
        headers = _headers(raw)
    found = message_ids(headers.get("Message-ID", "")) if headers is not None else []
    if mailbox is None:
        mailbox = mailbox_for_message(headers, recipients)
    message = InboundMessage(
        sha256=digest,
        message_id=(found[0] if found else "")[:255],
        received_via=via,
        size=len(raw),
        mailbox=mailbox,
    )
    # The file is written before the row: a crash in between leaves an orphan file,
    # never a row without its message. New messages are the common case, so the row is
    # simply inserted and the unique SHA-256 catches the same bytes stored before (the
    # storage names a second file apart, so the first one's file is never touched).
    message.raw.save(f"{digest}.eml", ContentFile(raw), save=False)
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        # Stored before, or by another path (IMAP and the HTTP hook, say) a moment ago.
        existing = InboundMessage.objects.filter(sha256=digest).first()
        if existing is None and message.mailbox_id is not None:
            # New after all: its mailbox was deleted a moment ago by another process
            # (mailboxes are remembered for a few seconds). Keep the message without one.
            message.pk, message.mailbox = None, None
            message._state.adding = True
            with transaction.atomic():
                message.save()
        else:
            message.raw.delete(save=False)
            if existing is None:
                raise
            if enqueue and existing.status == InboundStatus.RECEIVED:
                # Delivered again while waiting (an IMAP re-fetch after a crash, an MTA
                # retrying): one more job is harmless, and makes up for a lost one.
                existing_id = existing.pk
                after_commit(lambda: _enqueue(existing_id))
            return existing
    if enqueue:
        message_pk = message.pk
        after_commit(lambda: _enqueue(message_pk))
    return message


# --- processing: pieces ----------------------------------------------------------------


def _uploads(parsed: ParsedMessage) -> tuple[list[SimpleUploadedFile], list[str]]:
    """Attachments the desk accepts, and a note line for each one it refuses."""
    accepted: list[SimpleUploadedFile] = []
    notes: list[str] = []
    for part in parsed.attachments:
        upload = SimpleUploadedFile(part.filename, part.data, content_type=part.content_type)
        # Read by the desk when saving, so HTML that shows it as "cid:..." can find it.
        setattr(upload, "content_id", part.content_id)  # noqa: B010
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
    """The HTML to display for a reply with its quoted history trimmed, or "" to show the
    trimmed text instead (when the text had history the HTML trimmer did not recognise,
    so a comment never repeats the whole thread)."""
    if not parsed.html:
        return ""
    html = trim_reply_html(parsed.html)
    if html == parsed.html and trim_reply(parsed.text) != parsed.text.strip():
        return ""
    return html


def _angle(message_id: str) -> str:
    message_id = message_id.strip()
    if message_id and not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    return message_id


# --- processing ----------------------------------------------------------------------


def inbound_process(
    *, message_id: int, raw: bytes | None = None, msg: Message | None = None
) -> InboundMessage:
    """Turn a stored message into a ticket or a comment, exactly once.

    Everything happens in one transaction with the row locked: a crash leaves the message
    "received" and a retry does the work once; a second call after success does nothing.
    ``raw`` is the stored message's bytes when the caller has them in hand (inline
    processing right after inbound_store), which saves reading the file back, and
    ``msg`` their MIME tree (read_message(raw)), which saves parsing them twice.
    """
    with transaction.atomic():
        inbound = row_for_update(InboundMessage, message_id)
        if inbound is None:
            raise InboundMessage.DoesNotExist(message_id)
        if inbound.status == InboundStatus.PROCESSED:
            return inbound
        if inbound.mailbox_id is not None:
            # The mailbox and its default team from memory (a settings change made in
            # another process a few seconds ago may not be seen yet); a mailbox no longer
            # active is still read from the database when it is needed.
            active = mailbox_active(inbound.mailbox_id)
            if active is not None:
                inbound.mailbox = active
        if raw is None or hashlib.sha256(raw).hexdigest() != inbound.sha256:
            with inbound.raw.open("rb") as fh:
                raw = fh.read()
            msg = None
        try:
            parsed = parse_message(raw, msg)
        except Exception as exc:  # any parser failure (UnreadableMessage or a bug): keep, flag
            logger.warning("unreadable inbound message %s: %s", inbound.pk, exc)
            return _process_unreadable(inbound, str(exc))
        try:
            with transaction.atomic():
                return _process_parsed(inbound, parsed, raw)
        except ValidationError as exc:
            # The desk refused something about this message (it will refuse it again on
            # every retry), so it becomes a ticket for a person to look at instead.
            logger.warning("inbound message %s refused: %s", inbound.pk, exc)
            return _process_unreadable(inbound, "; ".join(exc.messages))


def _process_unreadable(inbound: InboundMessage, error: str) -> InboundMessage:
    ticket, opening = ticket_open(
        actor=None,
        subject=_("(unreadable message)"),
        description=_(
            "Tend could not read this email. The original is kept as inbound message %(id)s."
        )
        % {"id": inbound.pk},
        requester_email=UNKNOWN_SENDER,
        channel=Channel.EMAIL,
        tags=[NEEDS_REVIEW_TAG],
        team=inbound.mailbox.default_team if inbound.mailbox else None,
    )
    return _finish(inbound, Outcome.UNREADABLE, ticket, opening, error=error)


def _process_parsed(inbound: InboundMessage, parsed: ParsedMessage, raw: bytes) -> InboundMessage:
    report = bounce_report(raw, parsed)
    if report is not None:
        return _process_bounce(inbound, parsed, report)
    mailbox = inbound.mailbox
    uploads, notes = _uploads(parsed)
    email, sender_ok = _sender(parsed)
    automatic = is_automatic(parsed)
    known = known_references(parsed)
    duplicate_of = known.get(parsed.message_id) if parsed.message_id else None
    ticket = (
        Ticket.objects.get(pk=duplicate_of)
        if duplicate_of is not None
        else ticket_for_message(parsed, known)
    )
    if ticket is None:
        tags = [] if sender_ok else [NEEDS_REVIEW_TAG]
        if automatic:
            tags.append(AUTOMATIC_TAG)
        ticket, comment = ticket_open(
            actor=None,
            subject=parsed.subject or _("(no subject)"),
            description=_body(parsed, trim=False, notes=notes),
            description_html=parsed.html,
            requester_email=email,
            requester_name=parsed.from_name,
            channel=Channel.EMAIL,
            tags=tags,
            team=mailbox.default_team if mailbox else None,
            attachments=uploads,
        )
        requester = ticket.requester
        outcome = Outcome.AUTOMATIC if automatic else Outcome.TICKET
        if mailbox is not None and sender_ok and not automatic:
            # Queued in this transaction: the acknowledgement exists if and only if the
            # ticket does. acknowledge() applies the mailbox setting and the loop limits.
            acknowledge(ticket=ticket, mailbox=mailbox, parsed=parsed)
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
        requester = ticket.requester
        if requester.email != email or (parsed.from_name and not requester.name):
            requester = contact_for_email(email=email, name=parsed.from_name)
        comment = comment_add_customer(
            ticket=ticket,
            contact=requester,
            body=body,
            body_html=_reply_html(parsed),
            attachments=uploads,
            channel=Channel.EMAIL,
        )
        ticket = comment.ticket  # a closed ticket yields a follow-up
        outcome = Outcome.COMMENT
        if duplicate_of is not None:
            outcome = Outcome.DUPLICATE
            ticket_flag_for_review(
                ticket=ticket,
                reason=_("A different message arrived with an earlier message's Message-ID."),
            )
        elif not sender_ok:
            ticket_flag_for_review(
                ticket=ticket, reason=_("The sender's address is missing or invalid.")
            )
    if sender_ok and not automatic and requester.email_bounced_at is not None:
        # The customer's server accepted mail to them a moment ago: the address works.
        # (Checked on the contact in hand: an UPDATE for every message would be waste.)
        contact_clear_bounce(email=email)
    if parsed.message_id and duplicate_of is None:
        reference_add(ticket.pk, parsed.message_id)
    return _finish(inbound, outcome, ticket, comment)


def _bounced_ticket(report: BounceReport, parsed: ParsedMessage) -> Ticket | None:
    """The ticket the undelivered mail belonged to: by the Message-ID the report quotes
    (Tend records every Message-ID it sends), else by the report's own threading headers."""
    candidates = [_angle(report.original_message_id)]
    candidates += [*parsed.in_reply_to, *reversed(parsed.references)]
    candidates = [c for c in candidates if c]
    if not candidates:
        return None
    refs = {
        r.message_id: r.ticket
        for r in MessageReference.objects.filter(message_id__in=candidates).select_related("ticket")
    }
    return next((refs[c] for c in candidates if c in refs), None)


def _process_bounce(
    inbound: InboundMessage, parsed: ParsedMessage, report: BounceReport
) -> InboundMessage:
    """A delivery status notification: a note on the ticket and, when the failure is
    permanent, a flag on the contact; never a ticket of its own."""
    ticket = _bounced_ticket(report, parsed)
    if ticket is None:
        # Not about mail Tend sent (or the report quotes nothing we know): kept for an
        # admin, and no contact is flagged, since anyone can forge a report.
        return _finish(inbound, Outcome.BOUNCE_UNMATCHED, None, None)
    recipients = [r.strip().lower() for r in report.recipients if r and r.strip()]
    reason = " ".join(p for p in (report.status, report.diagnostic) if p).strip()
    if not report.permanent:
        # The remote server is still trying: worth knowing on the ticket, but the
        # address may well work, so nothing is flagged.
        reason = _("Delivery delayed: %(reason)s") % {
            "reason": reason or _("the receiving server is still retrying.")
        }
    reason = reason or _("The message could not be delivered.")
    ticket_record_bounce(
        ticket=ticket,
        recipient=", ".join(recipients) or ticket.requester.email,
        reason=reason,
    )
    if not report.permanent:
        return _finish(inbound, Outcome.DELAYED, ticket, None)
    for address in recipients:
        contact_mark_bounced(email=address, reason=reason)
    original = _angle(report.original_message_id)
    if original:
        # The comment's delivery status then says what happened to its mail.
        OutboundMessage.objects.filter(message_id=original, status=OutboundStatus.SENT).update(
            status=OutboundStatus.FAILED, last_error=reason[:2000]
        )
    return _finish(inbound, Outcome.BOUNCE, ticket, None)


def _finish(
    inbound: InboundMessage,
    outcome: Outcome,
    ticket: Ticket | None,
    comment: Comment | None,
    *,
    error: str = "",
) -> InboundMessage:
    inbound.ticket = ticket
    inbound.comment = comment
    inbound.outcome = outcome.value
    inbound.status = InboundStatus.PROCESSED
    inbound.error = error
    inbound.processed_at = timezone.now()
    # A plain UPDATE of the row locked at the start; every message ends here.
    row_update(inbound, ("ticket", "comment", "outcome", "status", "error", "processed_at"))
    return inbound


# --- attempts, failure, recovery ------------------------------------------------------------


def inbound_mark_failed(*, message_id: int, error: str) -> InboundMessage:
    """Record that processing keeps crashing, so the message shows up for an admin
    instead of being retried forever. It stays kept; an explicit ``inbound_process``
    (an admin's retry) still processes it. A message already processed or failed is
    left alone, so nothing is marked twice."""
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=message_id)
        if inbound.status == InboundStatus.RECEIVED:
            inbound.status = InboundStatus.FAILED
            inbound.outcome = Outcome.FAILED.value
            inbound.error = error[:10000]
            inbound.save(update_fields=["status", "outcome", "error"])
            logger.error("inbound message %s failed for good: %s", inbound.pk, error[:500])
        return inbound


def inbound_process_attempt(*, message_id: int) -> InboundMessage:
    """One counted try at processing (what the job and the recovery run call).

    The attempt is committed before the work starts, so even a crash that takes the
    whole worker down counts; after MAX_ATTEMPTS the message is marked failed.
    An exception is recorded on the message and raised again (the job shows as failed;
    recovery tries again later).
    """
    with transaction.atomic():
        inbound = InboundMessage.objects.select_for_update().get(pk=message_id)
        if inbound.status != InboundStatus.RECEIVED:
            return inbound
        attempt = inbound.attempts + 1
        if attempt <= MAX_ATTEMPTS:
            InboundMessage.objects.filter(pk=message_id).update(attempts=F("attempts") + 1)
    if attempt > MAX_ATTEMPTS:
        return inbound_mark_failed(
            message_id=message_id,
            error=inbound.error
            or _("Processing stopped %(n)s times without finishing (the worker crashed).")
            % {"n": inbound.attempts},
        )
    try:
        return inbound_process(message_id=message_id)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if attempt >= MAX_ATTEMPTS:
            logger.exception("inbound message %s: attempt %s failed", message_id, attempt)
            return inbound_mark_failed(message_id=message_id, error=error)
        InboundMessage.objects.filter(pk=message_id, status=InboundStatus.RECEIVED).update(
            error=error[:10000]
        )
        raise


def inbound_recover(
    *,
    older_than: timedelta = timedelta(minutes=2),
    limit: int = RECOVER_BATCH,
    budget_seconds: float = RECOVER_BUDGET_SECONDS,
) -> int:
    """Process messages still "received" that arrived before ``older_than`` ago: their
    job was lost (the queue was down) or died with its worker. Returns how many got
    processed (or given up on). Younger messages are left to their own jobs.

    Inline rather than enqueued: enqueueing again would pile duplicate jobs behind a
    backlog every minute, while processing here is safe next to the worker (the row
    lock and the status check make the second one a no-op).
    """
    cutoff = timezone.now() - older_than
    pending = list(
        InboundMessage.objects.filter(status=InboundStatus.RECEIVED, created_at__lt=cutoff)
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    deadline = time.monotonic() + budget_seconds
    done = 0
    for pk in pending:
        if time.monotonic() > deadline:
            break
        try:
            if inbound_process_attempt(message_id=pk).status != InboundStatus.RECEIVED:
                done += 1
        except Exception:
            # Recorded on the message and counted; one bad message must not stop the rest.
            logger.exception("recovering inbound message %s failed", pk)
    return done


def inbound_receive(
    *, raw: bytes, via: str, mailbox: Mailbox | None = None, recipients: Sequence[str] = ()
) -> InboundMessage:
    """Store, then process inline (benchmarks, tests, tools); no job is enqueued."""
    try:
        msg: Message | None = read_message(raw)  # parsed once for both steps
    except Exception:
        msg = None  # stored all the same; processing will flag it
    inbound = inbound_store(
        raw=raw, via=via, mailbox=mailbox, recipients=recipients, enqueue=False, headers=msg
    )
    return inbound_process(message_id=inbound.pk, raw=raw, msg=msg)
