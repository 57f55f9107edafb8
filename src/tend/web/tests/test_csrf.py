"""A forged cross-site POST changes nothing in the staff UI."""

from __future__ import annotations

import pytest
from django.test import Client

from tend.desk import services


@pytest.mark.django_db
def test_forged_post_without_csrf_token_is_refused_and_writes_nothing(agent, team):
    ticket = services.ticket_create(
        actor=None, subject="Refund", description="Please", requester_email="a@b.test", team=team
    )
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)

    reply = client.post(f"/tickets/{ticket.number}/comments/", {"body": "forged", "action": "send"})
    fields = client.post(f"/tickets/{ticket.number}/fields/", {"priority": "urgent"})
    bulk = client.post("/queues/open/", {"tickets": [ticket.pk], "status": "pending"})

    assert reply.status_code == fields.status_code == bulk.status_code == 403
    ticket.refresh_from_db()
    assert ticket.priority == "normal" and ticket.status == "new"
    assert not ticket.comments.filter(body="forged").exists()

    # The same request with the token the page hands out goes through.
    page = client.get(f"/tickets/{ticket.number}/")
    token = (
        page.cookies["csrftoken"].value
        if "csrftoken" in page.cookies
        else client.cookies["csrftoken"].value
    )
    ok = client.post(
        f"/tickets/{ticket.number}/comments/",
        {
            "body": "genuine",
            "mode": "public",
            "status": "",
            "action": "send",
            "expected_version": ticket.version,
        },
        HTTP_X_CSRFTOKEN=token,
    )
    assert ok.status_code in (200, 302)
    assert ticket.comments.filter(body="genuine").exists()
