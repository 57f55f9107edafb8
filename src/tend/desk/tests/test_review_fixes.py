"""Regressions found in review: each test is a way the desk once went wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import make_staff
from tend.core.html import sanitize_html
from tend.core.roles import Role
from tend.crm.models import Contact
from tend.crm.services import account_create, contact_for_email
from tend.desk import services
from tend.desk.models import AssignmentMethod, Status, Ticket
from tend.desk.selectors import queue_tickets, tickets_filtered


def new_ticket(**kwargs) -> Ticket:  # type: ignore[no-untyped-def]
    params = {
        "actor": None,
        "subject": "Refund",
        "description": "Please refund",
        "requester_email": "li@acme.cn",
    }
    params.update(kwargs)
    return services.ticket_create(**params)


@pytest.mark.django_db
def test_an_old_confirmation_link_cannot_solve_a_reopened_ticket(agent, team):
    ticket = services.ticket_request_confirmation(actor=agent, ticket=new_ticket(team=team))
    token = services.confirmation_token_make(ticket)
    services.comment_add_customer(ticket=ticket, contact=ticket.requester, body="Not fixed")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN and ticket.confirmation_requested_at is None
    with pytest.raises(ValidationError):
        services.ticket_confirm_solution(ticket=services.confirmation_token_ticket(token))
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


@pytest.mark.django_db
def test_a_solve_without_confirmation_can_still_be_confirmed(agent, team):
    ticket = services.ticket_solve(actor=agent, ticket=new_ticket(team=team), reason="fixed")
    confirmed = services.ticket_confirm_solution(ticket=ticket)
    assert confirmed.status == Status.SOLVED and confirmed.solve_confirmed_at is not None


@pytest.mark.django_db
def test_least_open_counts_each_ticket_once_for_admins_too(agent, team):
    admin = make_staff("root", Role.ADMIN)
    team.members.add(admin)
    team.assignment = AssignmentMethod.LEAST_OPEN
    team.save()
    new_ticket(team=team, assignee=admin)
    for _ in range(3):
        new_ticket(team=team, assignee=agent)
    assert new_ticket(team=team).assignee == admin


@pytest.mark.django_db
def test_auto_assigned_ticket_is_open_and_a_team_move_assigns(agent, team, other_team, outsider):
    team.assignment = AssignmentMethod.ROUND_ROBIN
    team.save()
    ticket = new_ticket(team=team)
    assert ticket.assignee == agent and ticket.status == Status.OPEN
    other_team.assignment = AssignmentMethod.ROUND_ROBIN
    other_team.save()
    unassigned = new_ticket()
    moved = services.ticket_update(actor=agent, ticket=unassigned, team=other_team)
    assert moved.assignee == outsider


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "declared", "content"),
    [
        ("evil.exe", "text/plain", b"MZ\x90\x00"),
        ("invoice.html", "application/msword", b"<script>alert(1)</script>"),
        ("x.svg", "text/csv", b"<svg onload=alert(1)>"),
    ],
)
def test_attachment_type_follows_the_extension_not_the_declared_type(
    agent, team, name, declared, content
):
    ticket = new_ticket(team=team)
    upload = SimpleUploadedFile(name, content, content_type=declared)
    with pytest.raises(ValidationError):
        services.comment_add_agent(actor=agent, ticket=ticket, body="see", attachments=[upload])
    assert ticket.attachments.count() == 0


@pytest.mark.django_db
def test_sla_queue_and_sort_put_the_nearest_deadline_first(agent, team):
    now = timezone.now()
    later = new_ticket(team=team)
    sooner = new_ticket(team=team)
    none = new_ticket(team=team)
    Ticket.objects.filter(pk=later.pk).update(resolution_due_at=now + timedelta(minutes=50))
    Ticket.objects.filter(pk=sooner.pk).update(
        first_response_due_at=now + timedelta(minutes=5), resolution_due_at=None
    )
    Ticket.objects.filter(pk=none.pk).update(first_response_due_at=None, resolution_due_at=None)
    assert list(queue_tickets(agent, "sla")) == [sooner, later]
    assert list(tickets_filtered(agent, {}, "sla_due")) == [sooner, later, none]


def test_remote_images_are_dropped_inline_ones_kept():
    html = sanitize_html('<p><img src="https://tracker.example/p.gif"><img src="cid:logo@x"></p>')
    assert "tracker.example" not in html and 'src="cid:logo@x"' in html


@pytest.mark.django_db
def test_new_account_takes_in_earlier_contacts_and_their_tickets(
    django_capture_on_commit_callbacks,
):
    ticket = new_ticket(requester_email="wang@cn.acme.com")
    assert ticket.account is None
    with django_capture_on_commit_callbacks(execute=True):
        account = account_create(actor=None, name="Acme", domains=["acme.com"])
    ticket.refresh_from_db()
    assert ticket.account == account
    assert Contact.objects.get(email="wang@cn.acme.com").account == account


@pytest.mark.django_db
def test_contact_lookup_ignores_case():
    first = contact_for_email(email="Mixed.Case@Example.com")
    assert contact_for_email(email="mixed.case@example.COM") == first


@pytest.mark.django_db
def test_system_flag_for_review_tags_once_and_explains_in_the_timeline():
    ticket = new_ticket()
    services.ticket_flag_for_review(ticket=ticket, reason="Unreadable email")
    services.ticket_flag_for_review(ticket=ticket, reason="Unreadable email")
    ticket.refresh_from_db()
    assert list(ticket.tags.values_list("name", flat=True)) == ["needs_review"]
    flagged = ticket.events.filter(kind="flagged")
    assert flagged.count() == 1 and flagged.get().new_value == "Unreadable email"
