"""View as customer: a permitted staff member sees the portal as one contact does —
read only, under a banner, with an audit row for every start."""

from __future__ import annotations

from typing import Any

import pytest
from django.core import mail
from django.test import Client

from conftest import make_staff
from tend.core.models import AuditEntry, User
from tend.core.roles import Role
from tend.crm.models import Contact
from tend.desk.models import Comment, Ticket
from tend.desk.services import comment_add_agent, ticket_create
from tend.portal.view_as import SESSION_KEY

pytestmark = pytest.mark.django_db

BASE = "/portal/view-as/"


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("carla", Role.CSM, first_name="Carla")


@pytest.fixture
def tickets(agent: User) -> dict[str, Ticket]:
    mine = ticket_create(
        actor=None,
        subject="Export is empty",
        description="The CSV has no rows.",
        requester_email="li@acme.cn",
        requester_name="Li Wei",
    )
    comment_add_agent(actor=agent, ticket=mine, body="We are on it, Li.", public=True)
    comment_add_agent(actor=agent, ticket=mine, body="Internal: blame the cron job", public=False)
    theirs = ticket_create(
        actor=None,
        subject="Colleague's invoice question",
        description="Another person's ticket.",
        requester_email="wang@acme.cn",
        requester_name="Wang Fang",
    )
    return {"mine": mine, "theirs": theirs}


def li() -> Contact:
    return Contact.objects.get(email="li@acme.cn")


def _start(client: Client, contact: Contact, why: str = "Customer says exports are empty") -> Any:
    return client.post(f"{BASE}start/{contact.pk}/", {"reason": why})


def test_start_writes_an_audit_row_and_shows_only_that_contacts_tickets(
    client: Client, csm: User, tickets: dict[str, Ticket]
) -> None:
    client.force_login(csm)

    response = _start(client, li())

    assert response.status_code == 302 and response["Location"] == BASE
    entry = AuditEntry.objects.get(action="portal.view_as")
    assert entry.actor == csm
    assert entry.target == f"contact:{li().pk}"
    assert entry.reason == "Customer says exports are empty"
    assert entry.created_at is not None
    page = client.get(BASE)
    html = page.content.decode()
    assert "Export is empty" in html
    assert "Colleague&#x27;s invoice question" not in html and "Colleague" not in html
    # The banner says whose eyes these are, that nothing can be changed, and how to leave.
    assert 'id="view-as-banner"' in html
    assert "Viewing as Li Wei — read only" in html
    assert f'action="{BASE}exit/"' in html


def test_ticket_page_shows_the_public_conversation_only(
    client: Client, csm: User, tickets: dict[str, Ticket]
) -> None:
    client.force_login(csm)
    _start(client, li())

    html = client.get(f"{BASE}tickets/{tickets['mine'].number}/").content.decode()

    assert "We are on it, Li." in html
    assert "blame the cron job" not in html
    assert "Viewing as Li Wei" in html
    # Another customer's ticket is not there to be found.
    assert client.get(f"{BASE}tickets/{tickets['theirs'].number}/").status_code == 404


def test_every_write_is_refused_and_nothing_is_sent(
    client: Client, csm: User, tickets: dict[str, Ticket]
) -> None:
    client.force_login(csm)
    _start(client, li())
    comments_before, tickets_before = Comment.objects.count(), Ticket.objects.count()
    mail.outbox.clear()

    for url in (BASE, f"{BASE}tickets/{tickets['mine'].number}/", f"{BASE}help/"):
        assert client.post(url, {"body": "hello"}).status_code == 403, url
    # The public support form too, while the marker is set.
    response = client.post(
        "/support/",
        {"name": "Li Wei", "email": "li@acme.cn", "subject": "x", "description": "y"},
    )
    assert response.status_code == 403

    assert (Comment.objects.count(), Ticket.objects.count()) == (comments_before, tickets_before)
    assert mail.outbox == []


def test_help_pages_are_shown_read_only(client: Client, csm: User, tickets: Any) -> None:
    client.force_login(csm)
    _start(client, li())

    html = client.get(f"{BASE}help/").content.decode()

    assert "Contact support" in html and "Viewing as Li Wei" in html
    assert 'value="li@acme.cn"' in html and "disabled" in html


def test_exit_ends_the_view_and_keeps_the_staff_session(
    client: Client, csm: User, tickets: Any
) -> None:
    client.force_login(csm)
    _start(client, li())
    # While viewing, the staff member is still themselves on staff pages.
    assert client.get("/cs/accounts/").status_code == 200

    response = client.post(f"{BASE}exit/")

    assert response.status_code == 302
    assert SESSION_KEY not in client.session
    assert client.get(BASE).status_code == 403
    assert client.get("/cs/accounts/").status_code == 200
    assert int(client.session["_auth_user_id"]) == csm.pk
    assert AuditEntry.objects.filter(action="portal.view_as_end", actor=csm).count() == 1


def test_a_reason_is_required(client: Client, csm: User, tickets: Any) -> None:
    client.force_login(csm)

    response = _start(client, li(), why="   ")

    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    assert not AuditEntry.objects.filter(action="portal.view_as").exists()
    assert client.get(BASE).status_code == 403


def test_permission_is_required(client: Client, agent: User, tickets: Any) -> None:
    # Agents may read contacts but not view the portal as one.
    client.force_login(agent)

    assert client.get(f"{BASE}start/{li().pk}/").status_code == 403
    assert _start(client, li()).status_code == 403
    assert not AuditEntry.objects.filter(action="portal.view_as").exists()
    assert client.get(BASE).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(client: Client, tickets: Any) -> None:
    response = client.get(f"{BASE}start/{li().pk}/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_every_start_is_audited(client: Client, manager: User, tickets: Any) -> None:
    client.force_login(manager)
    _start(client, li(), why="First look")
    _start(client, li(), why="Second look")
    reasons = list(
        AuditEntry.objects.filter(action="portal.view_as")
        .order_by("pk")
        .values_list("reason", flat=True)
    )
    assert reasons == ["First look", "Second look"]


def test_losing_the_permission_ends_the_view(client: Client, tickets: Any) -> None:
    csm = make_staff("cleo", Role.CSM)
    client.force_login(csm)
    _start(client, li())
    csm.groups.clear()
    csm = User.objects.get(pk=csm.pk)  # fresh permission cache
    client.force_login(csm)
    assert client.get(BASE).status_code == 403
