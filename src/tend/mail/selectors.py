"""Reads about mail that views, the API and other apps share."""

from __future__ import annotations

from collections.abc import Iterable

from tend.mail.models import OutboundMessage


def outbound_for_comments(comment_ids: Iterable[int]) -> dict[int, OutboundMessage]:
    """The latest outbound mail of each comment (its delivery status), in one query."""
    ids = list(comment_ids)
    if not ids:
        return {}
    latest: dict[int, OutboundMessage] = {}
    rows = OutboundMessage.objects.filter(comment_id__in=ids).order_by(
        "comment_id", "-created_at", "-pk"
    )
    for row in rows:
        if row.comment_id is not None and row.comment_id not in latest:
            latest[row.comment_id] = row
    return latest
