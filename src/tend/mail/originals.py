"""The original of an emailed comment, as it arrived: every header, the untrimmed text,
the HTML (sanitised for display) and the attachments, for the "view original" page.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterable
from dataclasses import dataclass, field

from tend.core.html import sanitize_html
from tend.desk.models import Comment
from tend.mail.models import InboundMessage
from tend.mail.parsing import decode_header_value, parse_message

# Enough for any real message; beyond it the page would be unusable anyway and the raw
# download has everything.
DISPLAY_LIMIT = 1_000_000
MAX_HEADERS = 300


@dataclass
class OriginalAttachment:
    filename: str
    content_type: str
    size: int


@dataclass
class OriginalMessage:
    inbound: InboundMessage
    headers: list[tuple[str, str]] = field(default_factory=list)
    text: str = ""
    html: str = ""
    attachments: list[OriginalAttachment] = field(default_factory=list)
    truncated: bool = False
    # Why the message could not be read, when it could not (it is still downloadable).
    error: str = ""


def inbound_for_comments(comment_ids: Iterable[int]) -> dict[int, int]:
    """comment id -> id of the inbound message it was made from, in one query."""
    ids = list(comment_ids)
    if not ids:
        return {}
    out: dict[int, int] = {}
    rows = (
        InboundMessage.objects.filter(comment_id__in=ids)
        .order_by("comment_id", "pk")
        .values_list("comment_id", "pk")
    )
    for comment_id, pk in rows:
        if comment_id is not None:
            out.setdefault(comment_id, pk)
    return out


def inbound_for_comment(comment: Comment) -> InboundMessage | None:
    return InboundMessage.objects.filter(comment=comment).order_by("pk").first()


def inbound_raw(inbound: InboundMessage) -> bytes:
    with inbound.raw.open("rb") as fh:
        data: bytes = fh.read()
    return data


def original_message(inbound: InboundMessage) -> OriginalMessage:
    """Everything the page shows; never raises on bad mail (the error is reported)."""
    original = OriginalMessage(inbound=inbound)
    try:
        raw = inbound_raw(inbound)
    except OSError as exc:
        original.error = str(exc)
        return original
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        original.headers = [
            (str(name), decode_header_value(value)) for name, value in msg.items()[:MAX_HEADERS]
        ]
        parsed = parse_message(raw)
    except Exception as exc:  # a message the parser cannot read is still shown raw
        original.error = str(exc) or type(exc).__name__
        original.text = raw[:DISPLAY_LIMIT].decode("utf-8", errors="replace")
        original.truncated = len(raw) > DISPLAY_LIMIT
        return original
    original.text = parsed.text[:DISPLAY_LIMIT]
    original.html = sanitize_html(parsed.html[:DISPLAY_LIMIT])
    original.truncated = len(parsed.text) > DISPLAY_LIMIT or len(parsed.html) > DISPLAY_LIMIT
    original.attachments = [
        OriginalAttachment(a.filename, a.content_type, len(a.data)) for a in parsed.attachments
    ]
    return original
