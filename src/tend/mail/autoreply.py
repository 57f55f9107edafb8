"""Loop protection and the automatic acknowledgement of new tickets.

An acknowledgement answering another robot (a vacation notice, a bounce, a mailing
list, another help desk's own acknowledgement) can start a mail loop that runs until a
quota stops it. So Tend acknowledges only mail that looks written by a person, never
answers its own addresses, and sends at most a few automatic mails per address per hour
whatever the headers say.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tend.crm.models import Contact
from tend.desk.models import Ticket
from tend.mail.models import Mailbox, OutboundKind, OutboundMessage
from tend.mail.outbound import outbound_queue, own_addresses
from tend.mail.parsing import ParsedMessage

AUTOMATIC_PER_HOUR = 3

# Local parts (lower-cased, without "+tag", "-", "_" and ".") of addresses no person reads.
_ROBOT_LOCAL_PARTS = {
    "mailerdaemon",
    "postmaster",
    "bounce",
    "bounces",
    "listserv",
    "majordomo",
    "autoreply",
    "autoresponder",
}
_NO_REPLY_MARKERS = ("noreply", "donotreply", "noresponse")
_BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
_SEPARATORS = re.compile(r"[-_.]")
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_KANA_HANGUL = re.compile(r"[\u3040-\u30ff\uac00-\ud7af]")
_PLACEHOLDER = re.compile(r"\{(number|subject|name)\}")


def robot_address(address: str) -> bool:
    """mailer-daemon@, postmaster@, no-reply@, do_not_reply@, noreply+x@ and friends."""
    local = address.lower().rpartition("@")[0].split("+", 1)[0]
    local = _SEPARATORS.sub("", local)
    if local in _ROBOT_LOCAL_PARTS:
        return True
    return any(local.startswith(m) or local.endswith(m) for m in _NO_REPLY_MARKERS)


def is_automatic(parsed: ParsedMessage) -> bool:
    """True for mail that a program sent, or that asks not to be answered automatically.

    Decisions beyond RFC 3834: any X-Auto-Response-Suppress value counts (the sender
    asked for no automatic responses, and an acknowledgement is one); List-Id and
    List-Unsubscribe count as bulk mail, since an answer would go to a list or a
    newsletter robot.
    """
    headers = parsed.headers
    auto_submitted = headers.get("auto-submitted", "").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if headers.get("precedence", "").strip().lower() in _BULK_PRECEDENCE:
        return True
    if any(
        name in headers
        for name in (
            "x-autoreply",
            "x-autorespond",
            "x-auto-response-suppress",
            "list-id",
            "list-unsubscribe",
            "x-failed-recipients",
        )
    ):
        return True
    # Delivery and read reports, and mail with the null reverse-path (bounces).
    if parsed.report_type or parsed.content_type == "multipart/report":
        return True
    if "return-path" in headers and headers["return-path"].strip() in ("<>", ""):
        return True
    sender = parsed.from_email.lower()
    if not sender or "@" not in sender or robot_address(sender):
        return True
    return sender in own_addresses()


def customer_language(parsed: ParsedMessage) -> str:
    """The language to answer in: Simplified Chinese when the customer wrote Chinese.

    Contacts have no language yet, so the message is the best signal there is. Han
    characters without kana or hangul are taken as Chinese (Japanese and Korean mail
    uses Han characters too); everything else gets the site language.
    """
    sample = f"{parsed.subject}\n{parsed.text[:2000]}"
    available = {code for code, _name in settings.LANGUAGES}
    if _HAN.search(sample) and not _KANA_HANGUL.search(sample) and "zh-hans" in available:
        return "zh-hans"
    return settings.LANGUAGE_CODE


def render_template(template: str, values: dict[str, str]) -> str:
    """Fill {number}, {subject} and {name}; anything else is left as written.

    Admins write these templates, so no str.format: a stray brace must not crash the
    mail path, and "{subject.__class__}" must not reach into Python objects.
    """
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def _recent_automatic(address: str) -> int:
    since = timezone.now() - timedelta(hours=1)
    return OutboundMessage.objects.filter(
        automatic=True, to_email=address, created_at__gte=since
    ).count()


def acknowledge(
    *, ticket: Ticket, mailbox: Mailbox | None, parsed: ParsedMessage
) -> OutboundMessage | None:
    """Queue the acknowledgement of a ticket just opened by ``parsed``, if it is wanted
    and safe; None when not sent. Runs in the caller's transaction."""
    if mailbox is None or not mailbox.auto_acknowledge or is_automatic(parsed):
        return None
    # Two workers processing two messages from the same sender could both see two
    # earlier acknowledgements; locking the contact makes the count and the insert one step.
    contact = Contact.objects.select_for_update().get(pk=ticket.requester_id)
    address = contact.email.strip().lower()
    if _recent_automatic(address) >= AUTOMATIC_PER_HOUR:
        return None
    values = {
        "number": str(ticket.number),
        "subject": ticket.subject,
        "name": contact.name or parsed.from_name or address,
    }
    with translation.override(customer_language(parsed)):
        if mailbox.auto_acknowledge_subject:
            subject = render_template(mailbox.auto_acknowledge_subject, values)
        else:
            subject = _("Re: %(subject)s") % {"subject": ticket.subject}
        if mailbox.auto_acknowledge_body:
            body = render_template(mailbox.auto_acknowledge_body, values)
        else:
            body = (
                _(
                    "Hello %(name)s,\n\n"
                    "Thank you for writing to us. We have received your message and opened "
                    "request #%(number)s “%(subject)s”. We will answer as soon as we can.\n\n"
                    "To add anything, simply reply to this email and keep [#%(number)s] in the "
                    "subject.\n\n"
                    "This is an automatic message.\n"
                )
                % values
            )
    return outbound_queue(
        ticket=ticket,
        kind=OutboundKind.ACKNOWLEDGEMENT,
        subject=subject,
        body=body,
        automatic=True,
        mailbox=mailbox,
        in_reply_to=parsed.message_id,
        new_ticket=True,
    )
