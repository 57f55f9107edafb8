"""What the mail app does when the desk speaks."""

from __future__ import annotations

from typing import Any

from tend.desk.models import Comment, Ticket
from tend.mail.outbound import outbound_queue


def customer_email_queue(
    sender: object,
    *,
    ticket_id: int,
    comment_id: int | None,
    kind: str,
    subject: str,
    body: str,
    **kwargs: Any,
) -> None:
    """Queue the desk's mail to a customer. Runs inside the desk's transaction, so the
    queued row commits (or rolls back) together with the reply it carries."""
    ticket = Ticket.objects.select_related("requester").get(pk=ticket_id)
    comment = Comment.objects.get(pk=comment_id) if comment_id is not None else None
    outbound_queue(ticket=ticket, comment=comment, kind=kind, subject=subject, body=body)
