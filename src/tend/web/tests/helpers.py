"""Ticket set-up for the staff UI tests, through the real desk services."""

from __future__ import annotations

from typing import Any

from tend.desk import services
from tend.desk.models import Ticket


def new_ticket(subject: str = "Cannot log in", **kwargs: Any) -> Ticket:
    params: dict[str, Any] = {
        "actor": None,
        "subject": subject,
        "description": "The login page says my password is wrong.",
        "requester_email": "li.wei@acme.cn",
        "requester_name": "Li Wei",
    }
    params.update(kwargs)
    return services.ticket_create(**params)
