"""Ticket lifecycle, conversation, assignment, macros and permissions, through the
real services on the real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.models import Contact
from tend.crm.services import account_create
from tend.desk import services
from tend.desk.models import (
    AssignmentMethod,
    Attachment,
    EventKind,
    Macro,
    Status,
    Ticket,
    TicketEvent,
)
from tend.desk.selectors import (
    queue_counts,
    queue_tickets,
    ticket_changes_since,
    ticket_for_user,
    ticket_timeline,
    tickets_filtered,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def new_ticket(team=None, **kwargs) -> Ticket:  # type: ignore[no-untyped-def]
    params = {
        "actor": None,
        "subject": "Cannot log in",
        "description": "The login page says my password is wrong.",
        "requester_email": "li.wei@acme.cn",
        "requester_name": "Li Wei",
        "team": team,
    }
    params.update(kwargs)
    return services.ticket_create(**params)


@pytest.mark.django_db(transaction=True)
class TestTicketCreate:
    def test_numbers_are_sequential_and_requester_contact_is_created_once(self):
        first = new_ticket()
        second = new_ticket(requester_email="LI.WEI@acme.cn")
        assert second.number == first.number + 1
        assert Contact.objects.filter(email__iexact="li.wei@acme.cn").count() == 1
        assert first.requester_id == second.requester_id
        assert first.requester.name == "Li Wei"

    def test_account_is_matched_by_requester_email_domain(self):
        acme = account_create(actor=None, name="Acme China", domains=["acme.cn"])
        ticket = new_ticket()
        assert ticket.account == acme
        assert new_ticket(requester_email="x@elsewhere.com").account is None

    def test_description_is_the_first_public_comment_and_created_event_is_recorded(self):
        ticket = new_ticket(
            description_html='<p>hi<script>alert(1)</script><a href="javascript:x">l</a></p>'
        )
        comment = ticket.comments.get()
        assert comment.public and comment.author_contact == ticket.requester
        assert "<script" not in comment.body_html and "javascript:" not in comment.body_html
        assert ticket.events.filter(kind=EventKind.CREATED).exists()

    def test_bad_input_is_refused_and_nothing_is_written(self):
        with pytest.raises(ValidationError):
            new_ticket(subject="   ")
        with pytest.raises(ValidationError):
            new_ticket(priority="whenever")
        with pytest.raises(ValidationError):
            new_ticket(requester_email="not-an-address")
        assert Ticket.objects.count() == 0
        assert Contact.objects.count() == 0

    def test_read_only_staff_cannot_create(self, readonly):
        with pytest.raises(PermissionDenied):
            new_ticket(actor=readonly)


@pytest.mark.django_db
class TestStatusRules:
    def test_agent_cannot_mark_solved_directly(self, agent, team):
        ticket = new_ticket(team=team)
        with pytest.raises(ValidationError) as err:
            services.ticket_update(actor=agent, ticket=ticket, status=Status.SOLVED)
        assert "confirm" in str(err.value)
        ticket.refresh_from_db()
        assert ticket.status == Status.NEW

    def test_solve_without_confirmation_needs_a_reason(self, agent, team):
        ticket = new_ticket(team=team)
        with pytest.raises(ValidationError):
            services.ticket_solve(actor=agent, ticket=ticket, reason="  ")
        ticket = services.ticket_solve(
            actor=agent, ticket=ticket, reason="Customer stopped answering"
        )
        assert ticket.status == Status.SOLVED
        assert ticket.unconfirmed_solve_reason == "Customer stopped answering"
        assert ticket.events.filter(kind=EventKind.SOLVED_UNCONFIRMED).exists()

    def test_request_confirmation_makes_pending_and_emails_a_link_that_solves(
        self, agent, team, django_capture_on_commit_callbacks, deliver_mail
    ):
        ticket = new_ticket(team=team)
        with django_capture_on_commit_callbacks(execute=True):
            ticket = services.ticket_request_confirmation(actor=agent, ticket=ticket)
        assert ticket.status == Status.PENDING
        outbox = deliver_mail()  # customer mail is queued, then sent by a task
        assert len(outbox) == 1 and "/support/confirm/" in outbox[0].body
        token = outbox[0].body.split("/support/confirm/")[1].split("/")[0]
        confirmed = services.ticket_confirm_solution(
            ticket=services.confirmation_token_ticket(token)
        )
        assert confirmed.status == Status.SOLVED and confirmed.solve_confirmed_at is not None

    def test_tampered_confirmation_token_is_refused(self):
        with pytest.raises(ValidationError):
            services.confirmation_token_ticket("nonsense:token")

    def test_customer_reply_reopens_pending_and_solved(self, agent, team):
        ticket = new_ticket(team=team)
        ticket = services.ticket_update(actor=agent, ticket=ticket, status=Status.PENDING)
        services.comment_add_customer(ticket=ticket, contact=ticket.requester, body="Still broken")
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN
        ticket = services.ticket_solve(actor=agent, ticket=ticket, reason="Fixed in 2.3")
        services.comment_add_customer(ticket=ticket, contact=ticket.requester, body="No it isn't")
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN and ticket.solved_at is None
        assert ticket.events.filter(kind=EventKind.REOPENED).count() == 2

    def test_automatic_reply_is_filed_without_reopening(self, agent, team):
        solved = services.ticket_solve(actor=agent, ticket=new_ticket(team=team), reason="done")
        comment = services.comment_add_customer(
            ticket=solved, contact=solved.requester, body="I am out of office", reopen=False
        )
        solved.refresh_from_db()
        assert comment.ticket_id == solved.pk and solved.status == Status.SOLVED
        services.tickets_close_solved(now=timezone.now() + timedelta(days=30))
        solved.refresh_from_db()
        comment = services.comment_add_customer(
            ticket=solved, contact=solved.requester, body="Still out", reopen=False
        )
        solved.refresh_from_db()
        assert comment.ticket_id == solved.pk and solved.status == Status.CLOSED
        assert not solved.events.filter(kind__in=[EventKind.REOPENED, EventKind.FOLLOW_UP])

    def test_solved_tickets_close_after_configured_days(self, agent, team, settings):
        settings.TEND_AUTO_CLOSE_DAYS = 4
        ticket = services.ticket_solve(actor=agent, ticket=new_ticket(team=team), reason="done")
        now = timezone.now()
        assert services.tickets_close_solved(now=now + timedelta(days=3)) == 0
        assert services.tickets_close_solved(now=now + timedelta(days=4, minutes=1)) == 1
        ticket.refresh_from_db()
        assert ticket.status == Status.CLOSED and ticket.closed_at is not None

    def test_closed_ticket_is_immutable_and_a_reply_creates_a_linked_follow_up(self, agent, team):
        ticket = services.ticket_solve(actor=agent, ticket=new_ticket(team=team), reason="done")
        services.tickets_close_solved(now=timezone.now() + timedelta(days=30))
        ticket.refresh_from_db()
        with pytest.raises(services.TicketClosedError):
            services.ticket_update(actor=agent, ticket=ticket, priority="high")
        with pytest.raises(services.TicketClosedError):
            services.comment_add_agent(actor=agent, ticket=ticket, body="hello?")
        comments_before = ticket.comments.count()
        comment = services.comment_add_customer(
            ticket=ticket, contact=ticket.requester, body="It broke again"
        )
        follow_up = comment.ticket
        assert follow_up.pk != ticket.pk and follow_up.follow_up_of == ticket
        assert follow_up.status == Status.NEW and follow_up.number == ticket.number + 1
        ticket.refresh_from_db()
        assert ticket.status == Status.CLOSED and ticket.comments.count() == comments_before
        assert ticket.events.filter(kind=EventKind.FOLLOW_UP).exists()

    def test_invalid_status_values_are_refused(self, agent, team):
        ticket = services.ticket_update(actor=agent, ticket=new_ticket(team=team), status="open")
        for bad in ("closed", "new", "done"):
            with pytest.raises(ValidationError):
                services.ticket_update(actor=agent, ticket=ticket, status=bad)


@pytest.mark.django_db
class TestConversation:
    def test_public_reply_and_internal_note(
        self, agent, team, django_capture_on_commit_callbacks, deliver_mail
    ):
        ticket = new_ticket(team=team)
        with django_capture_on_commit_callbacks(execute=True):
            reply = services.comment_add_agent(actor=agent, ticket=ticket, body="Try resetting it")
            note = services.comment_add_agent(
                actor=agent, ticket=ticket, body="Probably SSO", public=False
            )
        assert reply.public and not note.public
        # The note is not emailed.
        assert [m.to for m in deliver_mail()] == [["li.wei@acme.cn"]]
        ticket.refresh_from_db()
        assert ticket.status == Status.OPEN and ticket.assignee == agent
        assert ticket.first_responded_at is not None

    def test_attachments_are_stored_and_checked(self, agent, team, settings, tmp_path):
        settings.MEDIA_ROOT = tmp_path
        ticket = new_ticket(team=team)
        upload = SimpleUploadedFile("screen.png", PNG, content_type="image/png")
        comment = services.comment_add_agent(
            actor=agent, ticket=ticket, body="see", attachments=[upload]
        )
        attachment = comment.attachments.get()
        assert attachment.size == len(PNG) and (tmp_path / attachment.file.name).exists()

        settings.MAX_ATTACHMENT_BYTES = 10
        with pytest.raises(ValidationError) as too_big:
            services.comment_add_agent(
                actor=agent,
                ticket=ticket,
                body="big",
                attachments=[SimpleUploadedFile("b.png", PNG, "image/png")],
            )
        assert "at most" in str(too_big.value)
        settings.MAX_ATTACHMENT_BYTES = 10_000
        with pytest.raises(ValidationError):
            services.comment_add_agent(
                actor=agent,
                ticket=ticket,
                body="x",
                attachments=[SimpleUploadedFile("a.png", b"MZ\x90\x00", "image/png")],
            )
        with pytest.raises(ValidationError):
            services.comment_add_agent(
                actor=agent,
                ticket=ticket,
                body="x",
                attachments=[SimpleUploadedFile("a.exe", b"MZ", "application/x-msdownload")],
            )
        assert Attachment.objects.count() == 1
        assert ticket.comments.count() == 2  # nothing half-written by the refused sends

    def test_timeline_records_who_changed_what(self, agent, teammate, team):
        ticket = new_ticket(team=team)
        services.ticket_update(
            actor=agent, ticket=ticket, priority="urgent", add_tags=["SSO", "login"]
        )
        services.ticket_update(actor=teammate, ticket=ticket, assignee=teammate)
        kinds = [(e.kind, e.actor) for e in ticket.events.all()]
        assert (EventKind.PRIORITY, agent) in kinds
        assert (EventKind.TAGS, agent) in kinds
        assert (EventKind.ASSIGNEE, teammate) in kinds
        tags_event = ticket.events.get(kind=EventKind.TAGS)
        assert tags_event.new_value == "login, sso"
        timeline = ticket_timeline(ticket, user=agent)
        assert timeline[0].kind == EventKind.CREATED  # type: ignore[union-attr]


@pytest.mark.django_db
class TestCollisionGuard:
    def test_stale_reply_is_stopped_with_what_changed(self, agent, teammate, team):
        ticket = new_ticket(team=team)
        seen = ticket.version
        services.comment_add_agent(actor=teammate, ticket=ticket, body="I'm on it")
        with pytest.raises(services.TicketConflict) as conflict:
            services.comment_add_agent(
                actor=agent, ticket=ticket, body="Me too", expected_version=seen
            )
        bodies = [getattr(c, "body", None) for c in conflict.value.changes]
        assert "I'm on it" in bodies
        assert ticket.comments.filter(body="Me too").count() == 0
        ticket.refresh_from_db()
        services.comment_add_agent(
            actor=agent, ticket=ticket, body="Me too", expected_version=ticket.version
        )
        assert ticket.comments.filter(body="Me too").count() == 1

    def test_changes_since_lists_field_changes(self, agent, teammate, team):
        ticket = new_ticket(team=team)
        seen = ticket.version
        services.ticket_update(actor=teammate, ticket=ticket, priority="high")
        changes = ticket_changes_since(ticket, seen)
        assert [c.kind for c in changes if isinstance(c, TicketEvent)] == [EventKind.PRIORITY]


@pytest.mark.django_db
class TestPermissions:
    def test_other_teams_ticket_is_invisible_and_unchangeable(self, agent, outsider, team):
        ticket = new_ticket(team=team)
        with pytest.raises(Ticket.DoesNotExist):
            ticket_for_user(outsider, number=ticket.number)
        with pytest.raises(PermissionDenied):
            services.ticket_update(actor=outsider, ticket=ticket, priority="low")
        with pytest.raises(PermissionDenied):
            services.comment_add_agent(actor=outsider, ticket=ticket, body="hi")
        assert ticket_for_user(agent, number=ticket.number) == ticket

    def test_manager_sees_every_team_and_read_only_cannot_write(self, manager, readonly, team):
        ticket = new_ticket(team=team)
        assert ticket_for_user(manager, pk=ticket.pk) == ticket
        with pytest.raises(PermissionDenied):
            services.comment_add_agent(actor=readonly, ticket=ticket, body="hi")
        with pytest.raises(PermissionDenied):
            services.ticket_update(actor=readonly, ticket=ticket, priority="low")

    def test_bulk_update_only_touches_visible_tickets(self, agent, other_team, team):
        mine = new_ticket(team=team)
        theirs = new_ticket(team=other_team)
        count = services.tickets_bulk_update(
            actor=agent, ticket_ids=[mine.pk, theirs.pk], status=Status.PENDING, add_tags=["bulk"]
        )
        assert count == 1
        mine.refresh_from_db()
        theirs.refresh_from_db()
        assert mine.status == Status.PENDING and theirs.status == Status.NEW
        assert list(mine.tags.values_list("name", flat=True)) == ["bulk"]


@pytest.mark.django_db
class TestAssignment:
    def test_round_robin_skips_away_agents(self, agent, teammate, team):
        team.assignment = AssignmentMethod.ROUND_ROBIN
        team.save()
        third = make_staff("carol", Role.AGENT)
        team.members.add(third)
        assignees = [new_ticket(team=team).assignee for _ in range(3)]
        assert assignees == [agent, teammate, third]
        teammate.is_away = True
        teammate.save()
        assert [new_ticket(team=team).assignee for _ in range(2)] == [agent, third]

    def test_least_open_picks_the_agent_with_fewest_unresolved(self, agent, teammate, team):
        team.assignment = AssignmentMethod.LEAST_OPEN
        team.save()
        for _ in range(2):
            new_ticket(team=team, assignee=agent)
        assert new_ticket(team=team).assignee == teammate

    def test_manual_team_leaves_ticket_unassigned(self, team, agent):
        assert new_ticket(team=team).assignee is None


@pytest.mark.django_db
class TestMacros:
    def test_preview_renders_placeholders_and_lists_changes(self, agent, team):
        ticket = new_ticket(team=team)
        macro = services.macro_create(
            actor=agent,
            name="Ask for logs",
            body="Hi {{ requester.first_name }}, about #{{ ticket.number }}: please send logs. — {{ agent.name }} {{ nope }}",
            actions={"status": "pending", "priority": "high", "add_tags": ["needs_logs"]},
            shared=False,
        )
        preview = services.macro_preview(actor=agent, ticket=ticket, macro=macro)
        assert preview.body.startswith(f"Hi Li, about #{ticket.number}: please send logs. — Alice")
        assert "{{ nope }}" in preview.body
        assert {c.field for c in preview.changes} == {"status", "priority", "tags"}
        ticket.refresh_from_db()
        assert ticket.priority == "normal"  # preview changes nothing

    def test_sending_with_a_macro_applies_actions_and_counts_use(self, agent, team):
        ticket = new_ticket(team=team)
        macro = services.macro_create(
            actor=agent,
            name="Pending",
            body="x",
            actions={"status": "pending", "add_tags": ["m"]},
            shared=False,
        )
        services.comment_add_agent(actor=agent, ticket=ticket, body="x", macro=macro)
        ticket.refresh_from_db()
        macro.refresh_from_db()
        assert ticket.status == Status.PENDING and macro.usage_count == 1
        assert list(ticket.tags.values_list("name", flat=True)) == ["m"]

    def test_shared_macros_need_a_manager_and_personal_ones_stay_personal(
        self, agent, teammate, manager, team
    ):
        with pytest.raises(PermissionDenied):
            services.macro_create(actor=agent, name="S", body="", actions={}, shared=True)
        shared = services.macro_create(actor=manager, name="S", body="", actions={}, shared=True)
        personal = services.macro_create(actor=agent, name="P", body="", actions={}, shared=False)
        ticket = new_ticket(team=team)
        services.macro_preview(actor=teammate, ticket=ticket, macro=shared)
        with pytest.raises(PermissionDenied):
            services.macro_preview(actor=teammate, ticket=ticket, macro=personal)

    def test_macro_actions_are_validated(self, manager):
        with pytest.raises(ValidationError):
            services.macro_create(
                actor=manager, name="x", body="", actions={"status": "solved"}, shared=True
            )
        with pytest.raises(ValidationError):
            services.macro_create(
                actor=manager, name="x", body="", actions={"explode": True}, shared=True
            )
        assert Macro.objects.count() == 0


@pytest.mark.django_db
class TestQueues:
    def test_queues_and_counts(self, agent, teammate, outsider, team, other_team):
        unassigned = new_ticket(team=team)
        mine = new_ticket(team=team, assignee=agent)
        pending = services.ticket_update(
            actor=agent, ticket=new_ticket(team=team, assignee=agent), status="pending"
        )
        hidden = new_ticket(team=other_team)
        assert list(queue_tickets(agent, "unassigned")) == [unassigned]
        assert set(queue_tickets(agent, "mine")) == {mine, pending}
        assert list(queue_tickets(agent, "pending")) == [pending]
        assert hidden not in set(queue_tickets(agent, "open"))
        counts = queue_counts(agent)
        assert counts["unassigned"] == 1 and counts["mine"] == 2 and counts["open"] == 2
        assert list(queue_tickets(outsider, "unassigned")) == [hidden]

    def test_saved_view_filters_and_sort(self, agent, team):
        a = new_ticket(team=team, priority="urgent", tags=["billing"])
        new_ticket(team=team, priority="low")
        view = services.saved_view_create(
            actor=agent,
            name="Urgent billing",
            filters={"priority": ["urgent"], "tags": ["billing"]},
            sort="-priority",
        )
        assert list(tickets_filtered(agent, view.filters, view.sort)) == [a]
        with pytest.raises(ValidationError):
            services.saved_view_create(actor=agent, name="x", filters={"bogus": [1]})
