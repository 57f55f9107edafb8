"""Outbound mail: queue a row in the caller's transaction, send it from a task, retry.

Every mail Tend sends to a customer is an OutboundMessage row first. The Message-ID is
fixed when the row is made, so a retry after an uncertain failure (the connection died
after the data went out) repeats the very same message and the recipient's server or
client can drop the copy. A row is claimed with a conditional UPDATE before each
attempt, so two workers (the enqueued job and the every-minute sweep, say) never send
it twice at the same time.
"""

from __future__ import annotations

import logging
import random
import smtplib
import uuid
from datetime import timedelta
from email.headerregistry import Address
from email.utils import parseaddr

from django.conf import settings
from django.core import mail
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.mail.utils import DNS_NAME
from django.db.models import F, Q
from django.utils import timezone

from tend.core.commit import after_commit
from tend.desk.models import Comment, Ticket
from tend.mail.mailboxes import mailbox_addresses, mailbox_default, mailbox_password
from tend.mail.models import (
    InboundMessage,
    Mailbox,
    MessageReference,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    Security,
)
from tend.mail.parsing import parse_message
from tend.mail.secrets import SecretUnreadable

logger = logging.getLogger(__name__)

# A worker that claimed a row and died leaves it "sending"; after this long another
# worker may take it. Far longer than one SMTP conversation (30 s timeout).
SEND_LEASE = timedelta(minutes=10)
MAX_ATTEMPTS = 8
BACKOFF_CAP = timedelta(hours=1)
# References grow with every message of a long thread; keep the first (the thread's
# root, which clients use to group) and the most recent ones.
MAX_REFERENCES = 20
MAX_CC = 20
SMTP_TIMEOUT = 30
HEADER_READ_LIMIT = 256 * 1024

_DUE_STATUSES = (OutboundStatus.QUEUED, OutboundStatus.RETRYING, OutboundStatus.SENDING)


# --- choosing addresses and headers ---------------------------------------------------


def own_addresses() -> set[str]:
    """Every address Tend sends from (lower-cased): mail from these is Tend's own."""
    found = mailbox_addresses()
    default = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].lower()
    if default:
        found.add(default)
    return found


def ticket_mailbox(ticket: Ticket) -> Mailbox | None:
    """The mailbox a ticket's mail goes out from: the one its first email came to."""
    first = (
        InboundMessage.objects.filter(ticket=ticket, mailbox__is_active=True)
        .select_related("mailbox")
        .order_by("pk")
        .first()
    )
    if first is not None and first.mailbox is not None:
        return first.mailbox
    return mailbox_default()


def _from_header(mailbox: Mailbox | None) -> str:
    if mailbox is None:
        return settings.DEFAULT_FROM_EMAIL
    # Address() quotes display names with commas or quotes and keeps non-ASCII names,
    # which the mail library then encodes per RFC 2047.
    return str(Address(display_name=mailbox.name, addr_spec=mailbox.address))


def _domain(from_header: str) -> str:
    address = parseaddr(from_header)[1]
    return address.rpartition("@")[2] or str(DNS_NAME)


def subject_with_token(subject: str, number: int) -> str:
    """The subject with the ticket token ``[#N]`` exactly once (threading relies on it)."""
    subject = " ".join((subject or "").split())  # no line breaks in a header
    token = f"[#{number}]"
    count = subject.count(token)
    if count == 1:
        return subject
    if count > 1:
        subject = " ".join(subject.replace(token, " ").split())
    return f"{token} {subject}".strip()


def _latest_inbound(ticket: Ticket) -> InboundMessage | None:
    """The customer side's latest mail on the ticket. Only mail that became a comment:
    a bounce report attached to the ticket is not something to reply to or copy in."""
    return (
        InboundMessage.objects.filter(ticket=ticket, comment__isnull=False).order_by("-pk").first()
    )


def _reply_cc(ticket: Ticket, inbound: InboundMessage | None, requester: str) -> list[str]:
    """Who else was in the conversation: the CCs of the customer's latest email, plus its
    sender when that was not the requester (a CC'd colleague who answered)."""
    if inbound is None:
        return []
    try:
        # Only the header block: the message may carry megabytes of attachments.
        with inbound.raw.open("rb") as fh:
            head = fh.read(HEADER_READ_LIMIT)
        end = min((i for i in (head.find(b"\r\n\r\n"), head.find(b"\n\n")) if i >= 0), default=-1)
        parsed = parse_message(head[:end] if end >= 0 else head)
    except Exception:  # a missing file or unreadable message just means no CCs
        return []
    # Imported here: autoreply queues its mail through this module.
    from tend.mail.autoreply import robot_address

    own = own_addresses()
    out: list[str] = []
    for address in [parsed.from_email, *parsed.cc]:
        address = address.lower()
        if (
            "@" in address
            and address != requester
            and address not in own
            and address not in out
            and not robot_address(address)
        ):
            out.append(address)
    return out[:MAX_CC]


def _references(ticket: Ticket, in_reply_to: str) -> list[str]:
    ids = list(
        MessageReference.objects.filter(ticket=ticket)
        .order_by("pk")
        .values_list("message_id", flat=True)
    )
    if in_reply_to:
        # The parent goes last, as RFC 5322 has it, even if it arrived out of order.
        ids = [i for i in ids if i != in_reply_to] + [in_reply_to]
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _undeliverable(address: str) -> bool:
    # Tickets from mail without a usable sender get a placeholder under .invalid.
    return not address or "@" not in address or address.endswith(".invalid")


# --- queueing -------------------------------------------------------------------------


def outbound_queue(
    *,
    ticket: Ticket,
    comment: Comment | None = None,
    kind: str,
    subject: str,
    body: str,
    automatic: bool = False,
    mailbox: Mailbox | None = None,
    in_reply_to: str = "",
    new_ticket: bool = False,
) -> OutboundMessage:
    """Queue a mail to the ticket's requester, in the caller's transaction.

    ``mailbox`` and ``in_reply_to`` default to the ticket's mailbox and latest inbound
    message; the acknowledgement passes them because it runs while the message that
    opened the ticket is still being processed. ``new_ticket`` says the ticket was
    opened in this transaction (the acknowledgement): it has no mail history yet to look
    up for the threading headers.

    A requester whose address bounced before still gets the mail: a bounce may have
    been temporary, or the address fixed since, and silently not sending a reply an
    agent wrote is worse than one more bounce (which is recorded on the ticket again).
    """
    if kind not in OutboundKind.values:
        raise ValueError(f"unknown outbound kind {kind!r}")
    if mailbox is None:
        mailbox = ticket_mailbox(ticket)
    from_header = _from_header(mailbox)
    to_email = ticket.requester.email.strip().lower()
    # Automatic mail with its parent given needs nothing from the latest inbound mail:
    # no CCs (below), no In-Reply-To.
    inbound = None if automatic and in_reply_to else _latest_inbound(ticket)
    if not in_reply_to:
        if inbound is not None and inbound.message_id:
            in_reply_to = inbound.message_id
        else:
            last = MessageReference.objects.filter(ticket=ticket).order_by("-pk").first()
            in_reply_to = last.message_id if last is not None else ""
    # RFC 3834: automatic replies go to the sender only, never to the whole thread.
    cc = [] if automatic else _reply_cc(ticket, inbound, to_email)
    message_id = f"<tend.{ticket.pk}.{uuid.uuid4().hex}@{_domain(from_header)}>"
    now = timezone.now()
    row = OutboundMessage(
        mailbox=mailbox,
        ticket=ticket,
        comment=comment,
        kind=kind,
        automatic=automatic,
        message_id=message_id,
        from_email=from_header,
        to_email=to_email,
        cc=cc,
        subject=subject_with_token(subject, ticket.number)[:998],
        body=body,
        in_reply_to=in_reply_to,
        references=" ".join(
            [in_reply_to] if new_ticket and in_reply_to else _references(ticket, in_reply_to)
        ),
        next_attempt_at=now,
    )
    if _undeliverable(to_email):
        row.status = OutboundStatus.FAILED
        row.next_attempt_at = None
        row.last_error = "The requester has no deliverable email address."
    row.save()
    # Replies to this mail thread into the ticket by their In-Reply-To.
    MessageReference.objects.create(ticket=ticket, message_id=message_id)
    if row.status == OutboundStatus.QUEUED:
        outbound_id = row.pk
        after_commit(lambda: _enqueue(outbound_id))
    return row


def outbound_queue_to_contact(
    *,
    to_email: str,
    kind: str,
    subject: str,
    body: str,
    html_body: str = "",
    mailbox: Mailbox | None = None,
) -> OutboundMessage:
    """Queue a mail that belongs to no ticket (a survey invitation), in the caller's
    transaction. It starts no thread: a reply to it arrives as a new ticket."""
    if kind not in OutboundKind.values:
        raise ValueError(f"unknown outbound kind {kind!r}")
    if mailbox is None:
        mailbox = mailbox_default()
    from_header = _from_header(mailbox)
    to_email = to_email.strip().lower()
    row = OutboundMessage(
        mailbox=mailbox,
        kind=kind,
        message_id=f"<tend.{kind}.{uuid.uuid4().hex}@{_domain(from_header)}>",
        from_email=from_header,
        to_email=to_email,
        subject=" ".join((subject or "").split())[:998],
        body=body,
        html_body=html_body,
        next_attempt_at=timezone.now(),
    )
    if _undeliverable(to_email):
        row.status = OutboundStatus.FAILED
        row.next_attempt_at = None
        row.last_error = "The contact has no deliverable email address."
    row.save()
    if row.status == OutboundStatus.QUEUED:
        outbound_id = row.pk
        after_commit(lambda: _enqueue(outbound_id))
    return row


def _enqueue(outbound_id: int) -> None:
    from tend.mail.tasks import send_outbound

    # If this is lost (the queue is down), the every-minute sweep sends the row anyway.
    send_outbound.enqueue(outbound_id)


# --- sending --------------------------------------------------------------------------


def _claim(outbound_id: int) -> bool:
    """Take the row for one attempt; False if it is done, not due, or another worker has it.

    While sending, next_attempt_at holds the end of the lease, so a row whose worker
    died becomes due again by the same test as a row waiting for its retry.
    """
    now = timezone.now()
    claimed = (
        OutboundMessage.objects.filter(pk=outbound_id, status__in=_DUE_STATUSES)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            status=OutboundStatus.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + SEND_LEASE,
        )
    )
    return claimed == 1


def retry_delay(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failed try: 1, 2, 4, 8 ... minutes, at most an hour."""
    return min(timedelta(minutes=2 ** max(attempts - 1, 0)), BACKOFF_CAP)


def _jitter(delay: timedelta) -> timedelta:
    # Spread retries so a relay that was down is not hit by every queued mail at once.
    return delay + delay * random.uniform(0, 0.1)


def _is_permanent(exc: Exception) -> bool:
    """A failure that will not go away by trying again (RFC 5321 5xx), or bad data."""
    if isinstance(exc, smtplib.SMTPAuthenticationError | SecretUnreadable):
        return False  # an admin can fix the credentials before the retries run out
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _msg in exc.recipients.values()]
        return bool(codes) and all(code >= 500 for code in codes)
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    # Connection trouble, timeouts and 4xx pass; ValueError (an invalid address),
    # header errors and the like fail the same way every time.
    return not isinstance(exc, smtplib.SMTPException | OSError)


def _connection(mailbox: Mailbox | None) -> BaseEmailBackend:
    if mailbox is None or not mailbox.smtp_host:
        return mail.mailers.default
    return SMTPBackend(
        alias=f"mailbox-{mailbox.pk}",
        host=mailbox.smtp_host,
        port=mailbox.smtp_port,
        username=mailbox.smtp_user or None,
        password=mailbox_password(mailbox, "smtp") or None,
        use_tls=mailbox.smtp_security == Security.STARTTLS,
        use_ssl=mailbox.smtp_security == Security.SSL,
        timeout=SMTP_TIMEOUT,
    )


def _auto_submitted(row: OutboundMessage) -> str:
    if row.automatic:
        return "auto-replied"  # RFC 3834: an automatic response to a message
    if row.kind in (OutboundKind.NOTIFICATION, OutboundKind.SURVEY):
        # Written by Tend, not by a person (the "is it solved?" request, a survey):
        # vacation responders and other robots should not answer it.
        return "auto-generated"
    return ""  # a person's reply


def build_email(row: OutboundMessage) -> EmailMessage:
    """The message exactly as it goes on the wire; the same for every attempt."""
    headers = {"Message-ID": row.message_id}
    if row.in_reply_to:
        headers["In-Reply-To"] = row.in_reply_to
    if row.references:
        headers["References"] = row.references
    auto = _auto_submitted(row)
    if auto:
        headers["Auto-Submitted"] = auto
        # Asks Exchange/Outlook not to send out-of-office or other automatic replies.
        headers["X-Auto-Response-Suppress"] = "All"
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body,
        from_email=row.from_email,
        to=[row.to_email],
        cc=list(row.cc),
        headers=headers,
    )
    if row.html_body:
        # multipart/alternative: clients that show HTML show it, the rest the text.
        message.attach_alternative(row.html_body, "text/html")
    if row.comment_id is not None:
        for attachment in row.comment.attachments.order_by("pk"):  # type: ignore[union-attr]
            with attachment.file.open("rb") as fh:
                message.attach(attachment.filename, fh.read(), attachment.content_type)
    return message


def outbound_send(*, outbound_id: int) -> OutboundMessage:
    """Make one attempt at sending a queued row, if it is due and nobody else has it."""
    if not _claim(outbound_id):
        return OutboundMessage.objects.get(pk=outbound_id)
    row = OutboundMessage.objects.select_related("mailbox", "comment").get(pk=outbound_id)
    if row.attempts > MAX_ATTEMPTS:
        # Only reachable through expired leases: a worker keeps dying on this row.
        return _fail(row, row.last_error or "The worker stopped while sending, too often.")
    try:
        message = build_email(row)
        with _connection(row.mailbox) as connection:
            sent = connection.send_messages([message])
        if not sent:
            raise smtplib.SMTPException("The mail server did not take the message.")
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        if _is_permanent(exc) or row.attempts >= MAX_ATTEMPTS:
            logger.warning("outbound %s failed for good: %s", row.pk, error)
            return _fail(row, error)
        logger.info("outbound %s attempt %s failed: %s", row.pk, row.attempts, error)
        row.status = OutboundStatus.RETRYING
        row.last_error = error
        row.next_attempt_at = timezone.now() + _jitter(retry_delay(row.attempts))
        row.save(update_fields=["status", "last_error", "next_attempt_at"])
        return row
    row.status = OutboundStatus.SENT
    row.sent_at = timezone.now()
    row.next_attempt_at = None
    row.last_error = ""
    row.save(update_fields=["status", "sent_at", "next_attempt_at", "last_error"])
    return row


def _fail(row: OutboundMessage, error: str) -> OutboundMessage:
    row.status = OutboundStatus.FAILED
    row.last_error = error
    row.next_attempt_at = None
    row.save(update_fields=["status", "last_error", "next_attempt_at"])
    return row


def outbound_due_ids(*, limit: int = 500) -> list[int]:
    return list(
        OutboundMessage.objects.filter(
            status__in=_DUE_STATUSES, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )


def outbound_send_due() -> int:
    """Send every row that is due (new rows whose job was lost, retries, dead leases);
    returns how many went out."""
    sent = 0
    for outbound_id in outbound_due_ids():
        if outbound_send(outbound_id=outbound_id).status == OutboundStatus.SENT:
            sent += 1
    return sent
