"""A reply whose macro moves the ticket to another team is saved, and the agent is told."""

from __future__ import annotations

import pytest

from tend.desk import services


@pytest.mark.django_db
def test_reply_with_a_macro_that_moves_the_ticket_away_is_kept(client, agent, team, other_team):
    ticket = services.ticket_create(
        actor=None, subject="Invoice wrong", description="x", requester_email="a@b.test", team=team
    )
    macro = services.macro_create(
        actor=agent,
        name="To billing",
        body="Passing you to billing.",
        actions={"team": other_team.pk},
        shared=False,
    )
    client.force_login(agent)
    response = client.post(
        f"/tickets/{ticket.number}/comments/",
        {
            "body": "Passing you to billing.",
            "mode": "public",
            "status": "",
            "action": "send",
            "macro_id": macro.pk,
            "expected_version": ticket.version,
        },
    )
    assert response.status_code == 302 and response["Location"] == "/"
    ticket.refresh_from_db()
    assert ticket.team == other_team
    assert ticket.comments.filter(body="Passing you to billing.").exists()

    htmx = client.post(
        f"/tickets/{ticket.number}/comments/",
        {
            "body": "again",
            "mode": "public",
            "status": "",
            "action": "send",
            "expected_version": ticket.version,
        },
        HTTP_HX_REQUEST="true",
    )
    assert htmx.status_code == 404  # no longer this agent's ticket to write to
