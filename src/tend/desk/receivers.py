"""What the desk does when other apps' signals fire (connected in DeskConfig.ready)."""

from __future__ import annotations

from typing import Any

from tend.desk.models import Ticket
from tend.desk.search import index_ticket, index_tickets_bulk


def tickets_follow_contacts_to_account(
    sender: Any, *, account_id: int, contact_ids: list[int], **kwargs: Any
) -> None:
    """A requester's earlier tickets belong to the account their company just got."""
    ticket_ids = list(
        Ticket.objects.filter(requester_id__in=contact_ids, account__isnull=True).values_list(
            "pk", flat=True
        )
    )
    Ticket.objects.filter(pk__in=ticket_ids).update(account_id=account_id)
    for ticket_id in ticket_ids:
        index_ticket(ticket_id)


def tickets_forget_account(sender: Any, *, ticket_ids: list[int], **kwargs: Any) -> None:
    """The account was deleted: its tickets stay, and their search entries must stop
    naming it."""
    if ticket_ids:
        index_tickets_bulk(ticket_ids)
