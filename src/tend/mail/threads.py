"""Find the ticket an incoming message belongs to."""

from __future__ import annotations

import re

from tend.desk.models import Ticket
from tend.mail.models import MessageReference
from tend.mail.parsing import ParsedMessage

# "[#1234]" as Tend puts it in the subjects of mail it sends; also "[Tend #1234]".
_SUBJECT_TOKEN = re.compile(r"\[(?:[^\]#]*\s)?#(\d{1,9})\]")


def subject_ticket_number(subject: str) -> int | None:
    match = _SUBJECT_TOKEN.search(subject or "")
    return int(match.group(1)) if match else None


def known_references(parsed: ParsedMessage) -> dict[str, int]:
    """Ticket ids of every Message-ID the message carries (its own, In-Reply-To,
    References) that Tend has seen before: one query for both the duplicate check and
    threading."""
    ids = [mid for mid in (parsed.message_id, *parsed.in_reply_to, *parsed.references) if mid]
    if not ids:
        return {}
    return dict(
        MessageReference.objects.filter(message_id__in=ids).values_list("message_id", "ticket_id")
    )


def ticket_for_message(parsed: ParsedMessage, known: dict[str, int] | None = None) -> Ticket | None:
    """The existing ticket this message replies to, or None for a new conversation.

    Message-IDs are checked first (most specific: In-Reply-To, then References from
    newest to oldest), then the subject token. ``known`` is known_references(parsed),
    when the caller has it already.
    """
    if known is None:
        known = known_references(parsed)
    for mid in [*parsed.in_reply_to, *reversed(parsed.references)]:
        if mid in known:
            return Ticket.objects.get(pk=known[mid])
    number = subject_ticket_number(parsed.subject)
    if number is not None:
        # Ticket numbers are guessable, so a subject token only counts when the sender is
        # the ticket's requester; anyone else starts a new ticket instead of writing into
        # someone else's conversation.
        return Ticket.objects.filter(
            number=number, requester__email__iexact=parsed.from_email
        ).first()
    return None
