"""Tickets over the API: create, list with filters, read, update, and every refusal."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tend.crm.models import Contact
from tend.crm.services import account_create
from tend.desk.models import Channel, Priority, Status, Ticket, TicketEvent
from tend.desk.services import ticket_update

from .conftest import close_ticket

# --- create -----------------------------------------------------------------


def test_agent_creates_ticket(api_as, agent):
    response = api_as(agent).post(
        "/api/v1/tickets",
        {
            "subject": "Export fails",
            "description": "CSV export times out.",
            "requester_email": "Li@Acme.com",
            "priority": "high",
            "tags": ["Billing", "export"],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert {"id", "number", "status", "subject"} <= body.keys()
    assert body["status"] == "new" and body["priority"] == "high"
    assert body["tags"] == ["billing", "export"]
    assert body["channel"] == Channel.API
    assert body["requester"]["email"] == "li@acme.com"
    ticket = Ticket.objects.get(pk=body["id"])
    assert ticket.number == body["number"]


def test_create_with_assignee_and_team_ids(api_as, agent, teammate, team):
    response = api_as(agent).post(
        "/api/v1/tickets",
        {
            "subject": "Hi",
            "description": "",
            "requester_email": "li@acme.com",
            "team": team.pk,
            "assignee": teammate.pk,
        },
    )

    body = response.json()
    assert response.status_code == 201
    assert body["team"] == {"id": team.pk, "name": "Support"}
    assert body["assignee"]["username"] == "bob"
    assert body["status"] == "open"


def test_create_with_unknown_field_is_422_and_writes_nothing(api_as, agent):
    response = api_as(agent).post(
        "/api/v1/tickets",
        {"subject": "Hi", "description": "", "requester_email": "li@acme.com", "priorty": "high"},
    )

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "priorty"]
    assert error["type"] == "extra_forbidden"
    assert not Ticket.objects.exists()


def test_create_with_bad_values_is_422(api_as, agent):
    client = api_as(agent)
    base = {"subject": "Hi", "description": "", "requester_email": "li@acme.com"}

    bad_priority = client.post("/api/v1/tickets", {**base, "priority": "whenever"})
    missing = client.post("/api/v1/tickets", {"subject": "Hi"})
    bad_email = client.post("/api/v1/tickets", {**base, "requester_email": "not-an-email"})
    bad_team = client.post("/api/v1/tickets", {**base, "team": 9999})
    bad_assignee = client.post("/api/v1/tickets", {**base, "assignee": 9999})

    assert bad_priority.status_code == 422
    assert bad_priority.json()["detail"][0]["loc"] == ["body", "priority"]
    assert missing.status_code == 422
    assert {e["loc"][-1] for e in missing.json()["detail"]} == {"description", "requester_email"}
    assert bad_email.status_code == 422 and "email" in bad_email.json()["errors"]
    assert bad_team.status_code == 422 and bad_team.json()["errors"] == {
        "team": ["No team with id 9999."]
    }
    assert bad_assignee.status_code == 422 and "assignee" in bad_assignee.json()["errors"]
    assert not Ticket.objects.exists()
    assert not Contact.objects.exists()


def test_readonly_user_can_read_but_not_create(api_as, readonly, make_ticket):
    ticket = make_ticket(team=None)
    client = api_as(readonly)

    assert client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 200
    response = client.post(
        "/api/v1/tickets", {"subject": "Hi", "description": "", "requester_email": "x@y.com"}
    )

    assert response.status_code == 403
    assert response.json() == {"detail": "You do not have permission to do that."}
    assert Ticket.objects.count() == 1


# --- list -------------------------------------------------------------------


def test_list_shape_and_pagination(api_as, agent, make_ticket):
    tickets = [make_ticket(subject=f"Ticket {i}") for i in range(5)]
    client = api_as(agent)

    first = client.get("/api/v1/tickets", sort="number", limit=2).json()
    rest = client.get("/api/v1/tickets", sort="number", limit=2, offset=4).json()

    assert set(first) == {"items", "count"}
    assert first["count"] == 5
    assert [t["id"] for t in first["items"]] == [tickets[0].pk, tickets[1].pk]
    assert [t["id"] for t in rest["items"]] == [tickets[4].pk]
    assert client.get("/api/v1/tickets", limit=1000).status_code == 422


def test_list_filters(api_as, agent, teammate, manager, make_ticket):
    acme = account_create(actor=manager, name="Acme", domains=["acme.com"])
    urgent = make_ticket(subject="Down", priority=Priority.URGENT, tags=["outage"])
    mine = make_ticket(subject="Invoice question", requester_email="ann@globex.com")
    ticket_update(actor=agent, ticket=mine, assignee=agent, status=Status.PENDING)
    theirs = make_ticket(subject="Other", requester_email="bo@globex.com", assignee=teammate)
    client = api_as(agent)

    def ids(**params):
        response = client.get("/api/v1/tickets", **params)
        assert response.status_code == 200, response.json()
        return {t["id"] for t in response.json()["items"]}

    assert ids(status="pending") == {mine.pk}
    assert ids(status="new,pending") == {urgent.pk, mine.pk}
    assert ids(priority="urgent") == {urgent.pk}
    assert ids(tag="outage") == {urgent.pk}
    assert ids(assignee="me") == {mine.pk}
    assert ids(assignee=str(teammate.pk)) == {theirs.pk}
    assert ids(assignee="none") == {urgent.pk}
    assert ids(account=str(acme.pk)) == {urgent.pk}


def test_list_rejects_unknown_or_bad_filters(api_as, agent):
    client = api_as(agent)

    typo = client.get("/api/v1/tickets", stauts="open")
    bad_status = client.get("/api/v1/tickets", status="done")
    bad_assignee = client.get("/api/v1/tickets", assignee="alice")

    assert typo.status_code == 422
    assert typo.json()["detail"][0]["loc"] == ["query", "stauts"]
    assert bad_status.status_code == 422
    assert bad_assignee.status_code == 422


def test_list_hides_other_teams_tickets(api_as, outsider, make_ticket):
    make_ticket()

    assert api_as(outsider).get("/api/v1/tickets").json() == {"items": [], "count": 0}


def test_list_query_count_does_not_grow_with_rows(api_as, agent, make_ticket):
    make_ticket(tags=["a"])
    client = api_as(agent)
    client.get("/api/v1/tickets")  # the first use of a token also records it
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/tickets")
    for i in range(5):
        make_ticket(subject=f"More {i}", tags=["b", "c"], requester_email=f"p{i}@x.com")
    with CaptureQueriesContext(connection) as six:
        response = client.get("/api/v1/tickets")

    assert response.json()["count"] == 6
    assert len(six) == len(one)


# --- read -------------------------------------------------------------------


def test_read_ticket(api_as, agent, make_ticket):
    ticket = make_ticket(tags=["export"])

    body = api_as(agent).get(f"/api/v1/tickets/{ticket.pk}").json()

    assert body["id"] == ticket.pk and body["number"] == ticket.number
    assert body["subject"] == "Export fails"
    assert body["tags"] == ["export"]
    assert body["version"] == ticket.version


def test_other_teams_ticket_is_404_like_a_missing_one(api_as, outsider, make_ticket):
    ticket = make_ticket()
    client = api_as(outsider)

    hidden = client.get(f"/api/v1/tickets/{ticket.pk}")
    missing = client.get("/api/v1/tickets/999999")

    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json() == {"detail": "Not found."}


# --- update -----------------------------------------------------------------


def test_patch_changes_fields(api_as, agent, teammate, make_ticket):
    ticket = make_ticket(tags=["old"])

    response = api_as(agent).patch(
        f"/api/v1/tickets/{ticket.pk}",
        {"priority": "high", "assignee": teammate.pk, "tags": ["new", "x"], "status": "on_hold"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["priority"] == "high" and body["status"] == "on_hold"
    assert body["assignee"]["id"] == teammate.pk
    assert body["tags"] == ["new", "x"]
    assert body["version"] > ticket.version


def test_patch_null_unassigns_and_clears_team(api_as, agent, make_ticket):
    ticket = make_ticket(assignee=agent)

    body = (
        api_as(agent).patch(f"/api/v1/tickets/{ticket.pk}", {"assignee": None, "team": None}).json()
    )

    assert body["assignee"] is None and body["team"] is None


def test_patch_null_for_a_required_field_is_422(api_as, agent, make_ticket):
    ticket = make_ticket()

    response = api_as(agent).patch(f"/api/v1/tickets/{ticket.pk}", {"priority": None})

    assert response.status_code == 422
    assert "priority" in response.json()["detail"][0]["msg"]


def test_patch_unknown_field_is_422(api_as, agent, make_ticket):
    ticket = make_ticket()

    response = api_as(agent).patch(f"/api/v1/tickets/{ticket.pk}", {"stauts": "open"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "stauts"]


def test_solving_without_reason_says_how_and_writes_nothing(api_as, agent, make_ticket):
    ticket = make_ticket()
    events_before = TicketEvent.objects.count()

    response = api_as(agent).patch(
        f"/api/v1/tickets/{ticket.pk}", {"priority": "urgent", "status": "solved"}
    )

    assert response.status_code == 422
    detail = response.json()["detail"]
    assert "solve_reason" in detail and "request-confirmation" in detail
    ticket.refresh_from_db()
    assert ticket.priority == Priority.NORMAL and ticket.status == Status.NEW
    assert TicketEvent.objects.count() == events_before


def test_solving_with_reason(api_as, agent, make_ticket):
    ticket = make_ticket()

    response = api_as(agent).patch(
        f"/api/v1/tickets/{ticket.pk}",
        {"status": "solved", "solve_reason": "Customer confirmed by phone", "priority": "low"},
    )

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "solved" and body["priority"] == "low"
    assert body["solved_at"] is not None
    ticket.refresh_from_db()
    assert ticket.unconfirmed_solve_reason == "Customer confirmed by phone"


def test_solve_reason_without_solved_status_is_422(api_as, agent, make_ticket):
    ticket = make_ticket()

    response = api_as(agent).patch(f"/api/v1/tickets/{ticket.pk}", {"solve_reason": "x"})

    assert response.status_code == 422
    assert "solve_reason" in response.json()["errors"]


def test_invalid_status_transition_is_422_and_writes_nothing(api_as, agent, make_ticket):
    ticket = make_ticket()

    response = api_as(agent).patch(
        f"/api/v1/tickets/{ticket.pk}", {"priority": "urgent", "status": "closed"}
    )

    assert response.status_code == 422
    assert "status" in response.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.priority == Priority.NORMAL


def test_request_confirmation_sets_pending_and_emails_customer(
    api_as, agent, make_ticket, deliver_mail, django_capture_on_commit_callbacks
):
    ticket = make_ticket()

    with django_capture_on_commit_callbacks(execute=True):
        response = api_as(agent).post(f"/api/v1/tickets/{ticket.pk}/request-confirmation", {})

    assert response.status_code == 200
    assert response.json()["status"] == "pending"
    assert [m.to for m in deliver_mail()] == [["li@acme.com"]]


def test_stale_expected_version_is_409_with_the_changes(api_as, agent, teammate, make_ticket):
    ticket = make_ticket()
    seen = ticket.version
    ticket_update(actor=teammate, ticket=ticket, priority=Priority.HIGH)

    response = api_as(agent).patch(
        f"/api/v1/tickets/{ticket.pk}", {"priority": "low", "expected_version": seen}
    )

    assert response.status_code == 409
    body = response.json()
    assert body["detail"] and body["version"] == seen + 1
    assert [(c["kind"], c["new"], c["author"]) for c in body["changes"]] == [
        ("priority", "high", "Bob")
    ]
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH


def test_current_expected_version_is_accepted(api_as, agent, make_ticket):
    ticket = make_ticket()

    response = api_as(agent).patch(
        f"/api/v1/tickets/{ticket.pk}", {"priority": "low", "expected_version": ticket.version}
    )

    assert response.status_code == 200


def test_closed_ticket_cannot_change(api_as, agent, make_ticket):
    ticket = make_ticket()
    close_ticket(ticket, agent)

    response = api_as(agent).patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "high"})

    assert response.status_code == 409
    assert "closed" in response.json()["detail"]


def test_readonly_cannot_patch(api_as, readonly, make_ticket):
    ticket = make_ticket(team=None)

    response = api_as(readonly).patch(f"/api/v1/tickets/{ticket.pk}", {"status": "solved"})

    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_outsider_cannot_patch_other_teams_ticket(api_as, outsider, make_ticket):
    ticket = make_ticket()

    response = api_as(outsider).patch(f"/api/v1/tickets/{ticket.pk}", {"priority": "low"})

    assert response.status_code == 404
    ticket.refresh_from_db()
    assert ticket.priority == Priority.NORMAL


def test_moving_a_ticket_to_another_team_answers_then_hides_it(
    api_as, agent, other_team, make_ticket
):
    ticket = make_ticket()
    client = api_as(agent)

    moved = client.patch(f"/api/v1/tickets/{ticket.pk}", {"team": other_team.pk})

    assert moved.status_code == 200
    assert moved.json()["team"]["name"] == "Billing"
    assert client.get(f"/api/v1/tickets/{ticket.pk}").status_code == 404
