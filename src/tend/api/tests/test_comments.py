"""Comments over the API: public replies, internal notes, and refused replies."""

from __future__ import annotations

from tend.desk.models import Comment, Status

from .conftest import close_ticket


def test_reply_and_internal_note_then_list(api_as, agent, make_ticket):
    ticket = make_ticket()
    client = api_as(agent)

    reply = client.post(f"/api/v1/tickets/{ticket.pk}/comments", {"body": "On it.", "public": True})
    note = client.post(
        f"/api/v1/tickets/{ticket.pk}/comments", {"body": "Customer is VIP", "public": False}
    )

    assert reply.status_code == note.status_code == 201
    assert reply.json()["public"] is True and note.json()["public"] is False
    assert reply.json()["author"] == {"kind": "user", "id": agent.pk, "name": "Alice"}
    listing = client.get(f"/api/v1/tickets/{ticket.pk}/comments").json()
    # The ticket's description is its first comment.
    assert listing["count"] == 3
    assert [c["body"] for c in listing["items"]] == [
        "CSV export times out.",
        "On it.",
        "Customer is VIP",
    ]
    notes = client.get(f"/api/v1/tickets/{ticket.pk}/comments", public="false").json()
    assert [c["body"] for c in notes["items"]] == ["Customer is VIP"]


def test_public_reply_is_emailed_and_can_set_status(
    api_as, agent, make_ticket, deliver_mail, django_capture_on_commit_callbacks
):
    ticket = make_ticket()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(agent).post(
            f"/api/v1/tickets/{ticket.pk}/comments",
            {"body": "Which browser?", "public": True, "status": "pending"},
        )

    assert response.status_code == 201
    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert [m.body for m in deliver_mail()] == ["Which browser?"]


def test_internal_note_is_not_emailed(
    api_as, agent, make_ticket, deliver_mail, django_capture_on_commit_callbacks
):
    ticket = make_ticket()

    with django_capture_on_commit_callbacks(execute=True):
        api_as(agent).post(f"/api/v1/tickets/{ticket.pk}/comments", {"body": "x", "public": False})

    assert deliver_mail() == []


def test_reply_to_closed_ticket_is_409_and_writes_nothing(api_as, agent, make_ticket):
    ticket = make_ticket()
    close_ticket(ticket, agent)
    before = Comment.objects.count()

    response = api_as(agent).post(
        f"/api/v1/tickets/{ticket.pk}/comments", {"body": "Any news?", "public": True}
    )

    assert response.status_code == 409
    assert f"#{ticket.number} is closed" in response.json()["detail"]
    assert Comment.objects.count() == before


def test_empty_body_or_unknown_field_is_422(api_as, agent, make_ticket):
    ticket = make_ticket()
    client = api_as(agent)

    empty = client.post(f"/api/v1/tickets/{ticket.pk}/comments", {"body": "   "})
    extra = client.post(f"/api/v1/tickets/{ticket.pk}/comments", {"body": "x", "internal": True})

    assert empty.status_code == extra.status_code == 422
    assert extra.json()["detail"][0]["loc"] == ["body", "internal"]
    assert Comment.objects.filter(ticket=ticket).count() == 1


def test_stale_version_reply_is_409(api_as, agent, teammate, make_ticket):
    ticket = make_ticket()
    seen = ticket.version
    api_as(teammate).post(
        f"/api/v1/tickets/{ticket.pk}/comments", {"body": "Mine", "public": False}
    )

    response = api_as(agent).post(
        f"/api/v1/tickets/{ticket.pk}/comments", {"body": "Hi", "expected_version": seen}
    )

    assert response.status_code == 409
    assert [c["kind"] for c in response.json()["changes"]] == ["comment"]
    assert not Comment.objects.filter(body="Hi").exists()


def test_outsider_gets_404_and_readonly_gets_403(api_as, outsider, readonly, make_ticket):
    hidden = make_ticket()
    shared = make_ticket(team=None)

    assert api_as(outsider).get(f"/api/v1/tickets/{hidden.pk}/comments").status_code == 404
    assert (
        api_as(outsider).post(f"/api/v1/tickets/{hidden.pk}/comments", {"body": "x"}).status_code
        == 404
    )
    assert api_as(readonly).get(f"/api/v1/tickets/{shared.pk}/comments").status_code == 200
    response = api_as(readonly).post(f"/api/v1/tickets/{shared.pk}/comments", {"body": "x"})
    assert response.status_code == 403
    assert Comment.objects.filter(body="x").count() == 0
