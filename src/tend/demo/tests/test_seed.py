"""The demo seed produces a company whose data obeys the same rules as real data."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from tend.core.business_hours import BusinessClock
from tend.core.models import Sequence, User
from tend.core.roles import Role, user_role
from tend.crm.models import Account, Contact, Subscription
from tend.demo.seed import SIZES, demo_seed
from tend.desk.models import (
    UNRESOLVED_STATUSES,
    AssignmentMethod,
    Comment,
    EventKind,
    Macro,
    SavedView,
    SLAPolicy,
    Status,
    Team,
    Ticket,
    TicketEvent,
)
from tend.desk.search import search_everything
from tend.desk.selectors import tickets_visible_to
from tend.usage.models import DailyRollup


@pytest.fixture(autouse=True)
def private_data_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    # The seed keeps the demo agents' password in the data directory.
    settings.DATA_DIR = tmp_path
    # One password hash per seed; the fast hasher keeps the many small seeds quick.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def small_demo(db):  # type: ignore[no-untyped-def]
    summary = demo_seed(size="small")
    assert summary is not None
    return summary


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def test_ticket_numbers_are_sequential_and_the_counter_continues_after_them(small_demo):
    numbers = list(Ticket.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, SIZES["small"].tickets + 1))
    assert Sequence.objects.get(name="ticket").value == numbers[-1]
    # Numbers follow arrival order, as they would had the tickets come in one by one.
    created = list(Ticket.objects.order_by("number").values_list("created_at", flat=True))
    assert created == sorted(created)


def test_every_ticket_has_a_requester_and_opens_with_their_message(small_demo):
    tickets = Ticket.objects.select_related("requester").prefetch_related("comments")
    for ticket in tickets:
        assert ticket.requester_id is not None
        assert ticket.account_id == ticket.requester.account_id
        first = ticket.comments.all()[0]
        assert first.author_contact_id == ticket.requester_id
        assert first.body == ticket.description
        assert first.created_at == ticket.created_at


def test_status_history_and_versions_agree_with_each_ticket(small_demo):
    status_kinds = {EventKind.STATUS, EventKind.REOPENED}
    for ticket in Ticket.objects.prefetch_related("events", "comments"):
        events = list(ticket.events.all())
        assert events[0].kind == EventKind.CREATED
        changes = [e for e in events if e.kind in status_kinds]
        last_status = changes[-1].new_value if changes else Status.NEW
        assert last_status == ticket.status, ticket.number
        versions = [e.version for e in events] + [c.ticket_version for c in ticket.comments.all()]
        assert max(versions) == ticket.version
        if ticket.status == Status.CLOSED:
            assert ticket.solved_at and ticket.closed_at and ticket.closed_at > ticket.solved_at
        if ticket.status == Status.NEW:
            assert ticket.first_responded_at is None


def test_sla_fields_follow_the_business_calendar(small_demo):
    policy = SLAPolicy.objects.get(is_default=True)
    targets = {t.priority: t for t in policy.targets.all()}
    clock = BusinessClock.for_calendar(policy.calendar)
    now = timezone.now()
    for ticket in Ticket.objects.all():
        assert ticket.sla_policy_id == policy.pk
        running = ticket.status in {Status.NEW, Status.OPEN}
        # As tend.desk.sla keeps them: due times only while their clock runs.
        assert (ticket.sla_clock_started_at is not None) == running
        assert (ticket.resolution_due_at is not None) == running
        if ticket.first_responded_at is None and ticket.status in UNRESOLVED_STATUSES:
            expected = clock.add(
                ticket.created_at, targets[ticket.priority].first_response_minutes * 60
            )
            assert ticket.first_response_due_at == expected
            assert ticket.first_response_breached == (expected < now)
        else:
            assert ticket.first_response_due_at is None
        if running:
            remaining = targets[ticket.priority].resolution_minutes * 60
            remaining -= ticket.sla_elapsed_seconds
            assert ticket.resolution_due_at == clock.add(
                ticket.sla_clock_started_at, max(0, remaining)
            )


def test_sla_outcomes_are_mixed_and_breaches_are_in_the_timeline(small_demo):
    tickets = Ticket.objects.all()
    assert tickets.filter(first_response_breached=True).exists()
    assert tickets.filter(first_response_breached=False).exists()
    assert tickets.filter(resolution_breached=True).exists()
    for ticket in tickets.filter(first_response_breached=True, first_responded_at__isnull=False):
        assert ticket.events.filter(kind=EventKind.SLA_BREACH, new_value="first_response").exists()


def test_the_demo_has_a_realistic_mix(small_demo):
    tickets = Ticket.objects.all()
    statuses = dict(tickets.values_list("status").annotate(n=Count("id")))
    assert statuses.get(Status.CLOSED, 0) > len(tickets) / 2
    assert sum(statuses.get(s, 0) for s in UNRESOLVED_STATUSES) > 0
    chinese = sum(_has_chinese(t.subject) for t in tickets)
    assert 0.2 < chinese / len(tickets) < 0.5
    assert Comment.objects.filter(public=False).exists()  # internal notes
    assert Ticket.tags.through.objects.exists()


def test_seeding_twice_adds_nothing(small_demo):
    counts = (
        Account.objects.count(),
        Contact.objects.count(),
        Ticket.objects.count(),
        Comment.objects.count(),
        User.objects.count(),
        Macro.objects.count(),
    )

    call_command("seed_demo", "--size", "small", stdout=io.StringIO())

    assert (
        Account.objects.count(),
        Contact.objects.count(),
        Ticket.objects.count(),
        Comment.objects.count(),
        User.objects.count(),
        Macro.objects.count(),
    ) == counts


@pytest.mark.django_db(transaction=True)
def test_the_same_size_seeds_the_same_company():
    class Rollback(Exception):
        pass

    fixed_now = timezone.now().replace(microsecond=0)
    runs = []
    for _ in range(2):
        try:
            with transaction.atomic():
                demo_seed(size="small", now=fixed_now)
                runs.append(
                    list(
                        Ticket.objects.order_by("number").values_list(
                            "subject", "status", "created_at", "requester__email"
                        )
                    )
                )
                raise Rollback
        except Rollback:
            pass
    assert runs[0] == runs[1]


@pytest.mark.django_db
def test_full_demo_meets_the_promised_size_within_a_minute():
    started = time.monotonic()
    summary = demo_seed(size="full")
    elapsed = time.monotonic() - started

    assert summary is not None
    assert elapsed < 60
    assert Account.objects.filter(domains__isnull=False).distinct().count() >= 40
    assert Account.objects.filter(name__regex=r"[\u4e00-\u9fff]").count() >= 10
    assert Contact.objects.count() >= 300
    assert Ticket.objects.count() >= 2000
    oldest = Ticket.objects.order_by("created_at").first()
    assert oldest is not None and (timezone.now() - oldest.created_at).days >= 150
    assert Ticket.objects.aggregate(m=Max("number"))["m"] == Ticket.objects.count()
    # Staff in every role, one agent away, teams that assign differently.
    roles = {user_role(u) for u in User.objects.all()}
    assert roles >= set(Role)
    assert User.objects.filter(is_away=True).count() == 1
    methods = set(Team.objects.values_list("assignment", flat=True))
    assert methods == set(AssignmentMethod.values)
    assert Macro.objects.filter(owner__isnull=True).count() >= 3
    assert Macro.objects.filter(owner__isnull=False).count() >= 1
    assert Macro.objects.filter(body__contains="{{ requester.first_name }}").exists()
    assert SavedView.objects.count() >= 2
    assert TicketEvent.objects.filter(kind=EventKind.SLA_BREACH).exists()


def test_chinese_tickets_are_found_by_searching_for_a_chinese_word(small_demo):
    manager = User.objects.get(username="manager")
    refunds = {t.pk for t in Ticket.objects.all() if "退款" in t.subject + t.description}
    assert refunds, "the small demo should contain refund tickets in Chinese"

    results = search_everything(manager, "退款", limit=100)

    found = {t.pk for t in results.tickets}
    assert refunds <= found
    assert all(_has_chinese(t.subject + t.description) for t in results.tickets)


def test_an_agent_finds_only_tickets_they_may_see(small_demo):
    agent = User.objects.get(username="hannah")  # Billing only
    results = search_everything(agent, "refund", limit=100)
    visible = set(tickets_visible_to(agent).values_list("pk", flat=True))
    assert results.tickets
    assert {t.pk for t in results.tickets} <= visible


def test_demo_accounts_have_a_csm_a_contract_roles_and_usage(small_demo):
    accounts = list(Account.objects.filter(external_id__startswith="DEMO-"))
    assert accounts and all(a.owner is not None and a.segment for a in accounts)
    assert Subscription.objects.filter(account__in=accounts).count() == len(accounts)
    assert all(s.seats > 0 and s.mrr_minor > 0 for s in Subscription.objects.all())
    champions = [c for c in Contact.objects.filter(account__in=accounts) if "champion" in c.roles]
    assert len(champions) == len([a for a in accounts if a.contacts.exists()])
    # 90 days of usage for the people who use the product, and their last-seen times.
    assert DailyRollup.objects.filter(account__in=accounts).exists()
    assert Contact.objects.filter(account__in=accounts, last_seen_at__isnull=False).exists()
