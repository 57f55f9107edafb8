"""Search over the API: the staff search box, and ?q= on the ticket list."""

from __future__ import annotations

from tend.crm.services import account_create, contact_create
from tend.desk.models import Status
from tend.desk.services import ticket_update


def test_search_finds_tickets_contacts_and_accounts(
    api_as, agent, manager, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        ticket = make_ticket(subject="Invoice export is broken")
        make_ticket(subject="Login loop", requester_email="ann@globex.com")
        account_create(actor=manager, name="Invoice Ninjas")
        contact_create(actor=agent, email="kim@invoice.example", name="Kim")

    response = api_as(agent).get("/api/v1/search", q="invoice")

    assert response.status_code == 200
    body = response.json()
    assert [t["id"] for t in body["tickets"]["items"]] == [ticket.pk]
    assert body["tickets"]["count"] == 1
    assert body["tickets"]["items"][0]["tags"] == []
    assert [a["name"] for a in body["accounts"]["items"]] == ["Invoice Ninjas"]
    assert [c["name"] for c in body["contacts"]["items"]] == ["Kim"]


def test_search_filters_by_status_and_kind(
    api_as, agent, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        waiting = make_ticket(subject="Refund request")
        make_ticket(subject="Refund again")
        ticket_update(actor=agent, ticket=waiting, status=Status.PENDING)
    client = api_as(agent)

    body = client.get("/api/v1/search", q="refund", status="pending", kind="ticket").json()

    assert [t["id"] for t in body["tickets"]["items"]] == [waiting.pk]
    assert body["contacts"] is None and body["accounts"] is None


def test_search_hides_other_teams_tickets(
    api_as, outsider, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        make_ticket(subject="Secret roadmap")

    body = api_as(outsider).get("/api/v1/search", q="roadmap").json()

    assert body["tickets"]["items"] == []


def test_search_needs_q_and_refuses_unknown_params(api_as, agent):
    client = api_as(agent)

    assert client.get("/api/v1/search").status_code == 422
    assert client.get("/api/v1/search", q="x", stauts="open").status_code == 422
    assert client.get("/api/v1/search", q="x", kind="invoice").status_code == 422


def test_ticket_list_q_uses_the_search_index(
    api_as, agent, make_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        found = make_ticket(subject="Payment declined", description="Card ends 4242")
        other = make_ticket(subject="Dark mode please")
    client = api_as(agent)

    def ids(**params):
        return [t["id"] for t in client.get("/api/v1/tickets", **params).json()["items"]]

    assert ids(q="4242") == [found.pk]
    assert ids(q="declined", status="new") == [found.pk]
    assert ids(q=f"#{other.number}") == [other.pk]
    assert ids(q="nothing-matches-this") == []
