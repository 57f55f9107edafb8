"""What surveys do when another app's signal fires. Connected in SurveysConfig.ready()."""

from __future__ import annotations

from typing import Any

from tend.desk import events as desk_events


def on_ticket_solved(sender: Any, ticket_id: int, **kwargs: Any) -> None:
    """Ask the requester how we did (CSAT), once per ticket: solving it again, or the
    customer confirming the solution later, asks nothing more."""
    from tend.surveys.services import ticket_solved_survey

    ticket_solved_survey(ticket_id=ticket_id)


def connect() -> None:
    desk_events.ticket_solved.connect(
        on_ticket_solved, dispatch_uid="tend.surveys.on_ticket_solved"
    )
