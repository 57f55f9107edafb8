"""The "is your problem solved?" link the customer gets by email."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tend.desk.models import Channel, Comment, Status, Ticket
from tend.desk.services import (
    confirmation_token_make,
    ticket_create,
    ticket_request_confirmation,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending_ticket(agent: Any) -> Ticket:
    ticket = ticket_create(
        actor=None,
        subject="Invoices show the wrong VAT",
        description="Our March invoice has 19% instead of 7%.",
        requester_email="mei@example.com",
        requester_name="Mei",
        channel=Channel.WEB,
    )
    return ticket_request_confirmation(actor=agent, ticket=ticket)


def confirm_url(ticket: Ticket) -> str:
    return f"/support/confirm/{confirmation_token_make(ticket)}/"


def test_opening_the_link_shows_the_question_and_changes_nothing(
    client: Client, pending_ticket: Ticket
) -> None:
    response = client.get(confirm_url(pending_ticket))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Invoices show the wrong VAT" in html
    assert f"Ticket #{pending_ticket.number}" in html
    assert "Yes, it's solved" in html
    assert "No, I still need help" in html
    assert 'name="body"' in html
    pending_ticket.refresh_from_db()
    assert pending_ticket.status == Status.PENDING


def test_yes_solves_the_ticket_as_confirmed(client: Client, pending_ticket: Ticket) -> None:
    url = confirm_url(pending_ticket)

    response = client.post(url, {"answer": "yes"})

    assert response.status_code == 302
    assert response["Location"] == url
    pending_ticket.refresh_from_db()
    assert pending_ticket.status == Status.SOLVED
    assert pending_ticket.solve_confirmed_at is not None
    page = client.get(url).content.decode()
    assert "is now marked as solved" in page
    assert "Yes, it's solved" not in page


def test_no_with_a_message_reopens_the_ticket_with_the_customers_comment(
    client: Client, pending_ticket: Ticket
) -> None:
    url = confirm_url(pending_ticket)

    response = client.post(url, {"answer": "no", "body": "Still 19% on the April invoice."})

    assert response.status_code == 302
    pending_ticket.refresh_from_db()
    assert pending_ticket.status == Status.OPEN
    comment = Comment.objects.filter(ticket=pending_ticket).latest("id")
    assert comment.body == "Still 19% on the April invoice."
    assert comment.author_contact == pending_ticket.requester
    assert comment.channel == Channel.WEB
    assert comment.public is True
    assert "our team will get back to you" in client.get(url).content.decode()


def test_no_without_a_message_asks_for_one_and_changes_nothing(
    client: Client, pending_ticket: Ticket
) -> None:
    comments_before = Comment.objects.filter(ticket=pending_ticket).count()

    response = client.post(confirm_url(pending_ticket), {"answer": "no", "body": "  "})

    assert response.status_code == 200
    assert "This field is required." in response.content.decode()
    pending_ticket.refresh_from_db()
    assert pending_ticket.status == Status.PENDING
    assert Comment.objects.filter(ticket=pending_ticket).count() == comments_before


@pytest.mark.parametrize("method", ["get", "post"])
def test_a_tampered_link_is_refused_with_a_clear_message(
    client: Client, pending_ticket: Ticket, method: str
) -> None:
    token = confirmation_token_make(pending_ticket)
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")

    response = getattr(client, method)(f"/support/confirm/{tampered}/", {"answer": "yes"})

    assert response.status_code == 400
    assert "This link is not valid" in response.content.decode()
    pending_ticket.refresh_from_db()
    assert pending_ticket.status == Status.PENDING


def test_the_confirm_page_is_csrf_protected(pending_ticket: Ticket) -> None:
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(confirm_url(pending_ticket), {"answer": "yes"})

    assert response.status_code == 403
    pending_ticket.refresh_from_db()
    assert pending_ticket.status == Status.PENDING


def test_the_confirm_page_speaks_chinese(client: Client, pending_ticket: Ticket) -> None:
    response = client.get(confirm_url(pending_ticket), HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = response.content.decode()
    assert "是的，问题已解决" in html
    assert "Yes, it's solved" not in html
