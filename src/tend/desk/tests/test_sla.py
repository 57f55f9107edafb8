from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
from django.core.exceptions import ValidationError

from tend.core.business_hours import BusinessClock, business_calendar_create
from tend.core.models import BusinessCalendar
from tend.crm.models import Contact
from tend.desk.models import EventKind, Priority, SLAPolicy, Status, Ticket, TicketEvent
from tend.desk.sla import (
    sla_attention_q,
    sla_breaches_mark,
    sla_on_first_response,
    sla_on_priority_change,
    sla_on_status_change,
    sla_policy_create,
    sla_start,
    sla_state,
)

pytestmark = pytest.mark.django_db

HOUR = 3600
OFFICE = {str(day): [["09:00", "17:00"]] for day in range(1, 6)}  # Mon-Fri 9-5 UTC
MONDAY_10AM = datetime(2024, 6, 3, 10, tzinfo=UTC)
_numbers = count(1)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 3 June 2024 (day 3 = Monday)."""
    return datetime(2024, 6, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def calendar() -> BusinessCalendar:
    return business_calendar_create(name="Office", time_zone="UTC", weekly_hours=OFFICE)


@pytest.fixture
def policy(calendar: BusinessCalendar) -> SLAPolicy:
    # Normal: answer within 1 business hour, solve within one business day.
    return sla_policy_create(
        name="Standard",
        calendar=calendar,
        targets={Priority.NORMAL: (60, 480), Priority.URGENT: (30, 120)},
        is_default=True,
    )


@pytest.fixture
def clock(calendar: BusinessCalendar) -> BusinessClock:
    return BusinessClock.for_calendar(calendar)


def ticket_make(
    created_at: datetime = MONDAY_10AM,
    *,
    status: str = Status.NEW,
    priority: str = Priority.NORMAL,
    start: bool = True,
    **fields: object,
) -> Ticket:
    """A saved ticket created at ``created_at`` with its SLA started, as services do."""
    number = next(_numbers)
    requester, _ = Contact.objects.get_or_create(email="ana@example.com")
    ticket = Ticket.objects.create(
        number=number,
        subject=f"Ticket {number}",
        requester=requester,
        status=status,
        priority=priority,
        **fields,
    )
    Ticket.objects.filter(pk=ticket.pk).update(created_at=created_at)
    ticket.created_at = created_at
    if start:
        changed = sla_start(ticket, created_at)
        ticket.save(update_fields=changed)
    return ticket


def status_change(ticket: Ticket, status: str, now: datetime) -> list[str]:
    """Change the status as desk services do: hook, then save the fields it names."""
    old_status, ticket.status = ticket.status, status
    changed = sla_on_status_change(ticket, old_status, now)
    ticket.save(update_fields=["status", *changed])
    ticket.refresh_from_db()
    return changed


# -- starting ---------------------------------------------------------------------------------


def test_a_new_ticket_gets_the_default_policy_and_its_due_times(policy: SLAPolicy) -> None:
    ticket = ticket_make()

    ticket.refresh_from_db()
    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at == at(3, 11)
    assert ticket.resolution_due_at == at(4, 10)  # eight business hours later: Tuesday 10:00
    assert ticket.sla_clock_started_at == MONDAY_10AM
    assert ticket.sla_elapsed_seconds == 0


def test_a_policy_set_on_the_ticket_wins_over_the_default(
    policy: SLAPolicy, calendar: BusinessCalendar
) -> None:
    vip = sla_policy_create(name="VIP", calendar=calendar, targets={Priority.NORMAL: (15, 60)})

    ticket = ticket_make(sla_policy=vip)

    assert ticket.sla_policy == vip
    assert ticket.first_response_due_at == at(3, 10, 15)
    assert ticket.resolution_due_at == at(3, 11)


def test_a_ticket_created_out_of_hours_is_due_from_the_next_opening(policy: SLAPolicy) -> None:
    saturday = datetime(2024, 6, 8, 12, tzinfo=UTC)

    ticket = ticket_make(saturday)

    assert ticket.first_response_due_at == datetime(2024, 6, 10, 10, tzinfo=UTC)


def test_without_any_policy_tickets_are_left_alone(calendar: BusinessCalendar) -> None:
    ticket = ticket_make(start=False)

    assert sla_start(ticket, MONDAY_10AM) == []
    ticket.status = Status.PENDING
    assert sla_on_status_change(ticket, Status.NEW, at(3, 11)) == []
    ticket.priority = Priority.URGENT
    assert sla_on_priority_change(ticket, at(3, 12)) == []
    assert sla_breaches_mark(at(20, 12)) == 0
    assert ticket.first_response_due_at is None
    assert ticket.resolution_due_at is None
    assert ticket.sla_clock_started_at is None
    assert not ticket.sla_breached


def test_a_priority_without_a_target_gets_no_due_times(policy: SLAPolicy) -> None:
    ticket = ticket_make(priority=Priority.LOW)

    assert ticket.sla_policy == policy
    assert ticket.first_response_due_at is None
    assert ticket.resolution_due_at is None


# -- pausing and resuming --------------------------------------------------------------------


@pytest.mark.parametrize("waiting", [Status.PENDING, Status.ON_HOLD])
def test_waiting_on_the_customer_pauses_the_resolution_clock(
    policy: SLAPolicy, clock: BusinessClock, waiting: str
) -> None:
    ticket = ticket_make()
    ticket.save(update_fields=sla_on_first_response(ticket, at(3, 10, 30)))
    status_change(ticket, Status.OPEN, at(3, 10, 30))
    original_due = ticket.resolution_due_at
    assert original_due is not None

    # Given two business hours used, the agent waits on the customer from Monday noon
    status_change(ticket, waiting, at(3, 12))
    assert ticket.sla_elapsed_seconds == 2 * HOUR
    assert ticket.sla_clock_started_at is None
    assert ticket.resolution_due_at is None
    assert sla_state(ticket, at(3, 13)) == "paused"

    # When the customer answers on Wednesday afternoon
    status_change(ticket, Status.OPEN, at(5, 15))

    # Then the due time moved by exactly the business time spent waiting
    paused = clock.between(at(3, 12), at(5, 15))
    assert paused == (5 + 8 + 6) * HOUR
    assert ticket.resolution_due_at == clock.add(original_due, paused)
    assert ticket.resolution_due_at == at(6, 13)  # six hours left, from Wednesday 15:00
    assert ticket.sla_clock_started_at == at(5, 15)


def test_the_first_response_clock_keeps_running_while_pending(policy: SLAPolicy) -> None:
    ticket = ticket_make()

    status_change(ticket, Status.PENDING, at(3, 10, 5))

    assert ticket.first_response_due_at == at(3, 11)
    assert sla_breaches_mark(at(3, 11, 1)) == 1
    ticket.refresh_from_db()
    assert ticket.first_response_breached
    assert not ticket.resolution_breached


def test_a_ticket_created_pending_starts_its_clock_when_it_opens(policy: SLAPolicy) -> None:
    ticket = ticket_make(status=Status.PENDING)
    assert ticket.resolution_due_at is None
    assert ticket.sla_clock_started_at is None

    status_change(ticket, Status.OPEN, at(4, 9))

    assert ticket.resolution_due_at == at(4, 17)


# -- solving ----------------------------------------------------------------------------------


def test_solving_in_time_stops_the_clock_without_a_breach(policy: SLAPolicy) -> None:
    ticket = ticket_make()

    changed = status_change(ticket, Status.SOLVED, at(3, 15))

    assert set(changed) >= {"sla_elapsed_seconds", "sla_clock_started_at", "resolution_due_at"}
    assert ticket.sla_elapsed_seconds == 5 * HOUR
    assert ticket.resolution_due_at is None
    assert ticket.first_response_due_at is None
    assert not ticket.resolution_breached


def test_solving_after_the_due_time_records_the_breach(policy: SLAPolicy) -> None:
    ticket = ticket_make()
    sla_on_first_response(ticket, at(3, 10, 30))

    status_change(ticket, Status.SOLVED, at(4, 11))

    assert ticket.resolution_breached
    assert not ticket.first_response_breached
    assert sla_state(ticket, at(4, 11)) == ""  # solved tickets show no SLA badge


def test_a_reopened_ticket_resumes_with_the_time_it_had_left(policy: SLAPolicy) -> None:
    ticket = ticket_make()
    status_change(ticket, Status.SOLVED, at(3, 12))  # two of eight hours used

    status_change(ticket, Status.OPEN, at(7, 16))

    assert ticket.sla_elapsed_seconds == 2 * HOUR
    assert ticket.resolution_due_at == at(10, 14)  # Friday 16-17, then Monday 9-14
    assert not ticket.resolution_breached


# -- priority changes ---------------------------------------------------------------------------


def test_raising_the_priority_recomputes_both_due_times_keeping_time_used(
    policy: SLAPolicy,
) -> None:
    ticket = ticket_make()

    ticket.priority = Priority.URGENT
    changed = sla_on_priority_change(ticket, at(3, 10, 20))

    assert set(changed) == {"first_response_due_at", "resolution_due_at"}
    assert ticket.first_response_due_at == at(3, 10, 30)  # 30 minutes from creation
    assert ticket.resolution_due_at == at(3, 12)  # 20 of 120 minutes used
    assert not ticket.sla_breached


def test_a_priority_change_while_paused_keeps_the_clock_paused(policy: SLAPolicy) -> None:
    ticket = ticket_make()
    status_change(ticket, Status.PENDING, at(3, 11))

    ticket.priority = Priority.URGENT
    sla_on_priority_change(ticket, at(3, 12))
    ticket.save()
    status_change(ticket, Status.OPEN, at(3, 14))

    assert ticket.sla_elapsed_seconds == HOUR
    assert ticket.resolution_due_at == at(3, 15)  # 60 of 120 urgent minutes left


def test_a_tighter_target_already_exceeded_is_breached_at_once(policy: SLAPolicy) -> None:
    ticket = ticket_make()
    sla_on_first_response(ticket, at(3, 10, 10))

    ticket.priority = Priority.URGENT
    sla_on_priority_change(ticket, at(3, 13))  # three hours used, urgent allows two

    assert ticket.resolution_breached
    assert ticket.resolution_due_at == at(3, 13)
    assert not ticket.first_response_breached


# -- first response -----------------------------------------------------------------------------


def test_a_first_response_in_time_clears_the_due_time(policy: SLAPolicy) -> None:
    ticket = ticket_make()

    changed = sla_on_first_response(ticket, at(3, 10, 45))

    assert set(changed) == {"first_responded_at", "first_response_due_at"}
    assert ticket.first_response_due_at is None
    assert not ticket.first_response_breached
    assert sla_on_first_response(ticket, at(3, 12)) == []  # only the first one counts
    assert ticket.first_responded_at == at(3, 10, 45)


def test_a_late_first_response_is_breached(policy: SLAPolicy) -> None:
    ticket = ticket_make()

    sla_on_first_response(ticket, at(3, 11, 1))

    assert ticket.first_response_breached


# -- breach marking and the attention queue -----------------------------------------------------


def test_breaches_are_marked_in_bulk_once(
    policy: SLAPolicy, django_assert_max_num_queries: object
) -> None:
    late_answer = [ticket_make() for _ in range(5)]  # first response due Monday 11:00
    late_solution = ticket_make()
    sla_on_first_response(late_solution, at(3, 10, 5))
    late_solution.save()
    in_time = ticket_make(at(4, 10))
    no_policy = ticket_make(start=False, sla_policy=None)
    solved = ticket_make()
    status_change(solved, Status.SOLVED, at(3, 10, 30))

    with django_assert_max_num_queries(6):  # type: ignore[operator]
        marked = sla_breaches_mark(at(4, 10, 30))

    assert marked == 6
    for ticket in late_answer:
        ticket.refresh_from_db()
        assert ticket.first_response_breached
        assert ticket.resolution_breached
    late_solution.refresh_from_db()
    assert late_solution.resolution_breached and not late_solution.first_response_breached
    for ticket in (in_time, no_policy, solved):
        ticket.refresh_from_db()
        assert not ticket.sla_breached
    assert TicketEvent.objects.filter(kind=EventKind.SLA_BREACH).count() == 5 * 2 + 1
    assert sla_breaches_mark(at(4, 10, 45)) == 0  # already flagged


def test_the_attention_queue_holds_overdue_and_soon_due_tickets(policy: SLAPolicy) -> None:
    now = at(3, 16, 30)
    unanswered = ticket_make(at(3, 10))  # first response overdue since 11:00
    answered_late = ticket_make(at(3, 10))
    sla_on_first_response(answered_late, at(3, 12))
    answered_late.save()  # solution due Tuesday 10:00: no action needed now
    due_soon = ticket_make(at(3, 15, 45))  # first response due 16:45
    fine = ticket_make(at(3, 16, 15))  # first response due Tuesday 9:15
    waiting = ticket_make(at(3, 10))
    sla_on_first_response(waiting, at(3, 10, 30))
    waiting.save()
    status_change(waiting, Status.PENDING, at(3, 11))
    no_policy = ticket_make(at(3, 9), start=False)

    matched = set(Ticket.objects.filter(sla_attention_q(now)))

    assert matched == {unanswered, due_soon}
    assert sla_state(unanswered, now) == "breached"
    assert sla_state(due_soon, now) == "at_risk"
    assert sla_state(fine, now) == "ok"
    assert {answered_late, waiting, no_policy}.isdisjoint(matched)


def test_due_times_sort_tickets_by_urgency(policy: SLAPolicy) -> None:
    later = ticket_make(at(3, 12))
    sooner = ticket_make(at(3, 10), priority=Priority.URGENT)
    middle = ticket_make(at(3, 11))

    ordered = list(Ticket.objects.order_by("resolution_due_at"))

    assert ordered == [sooner, middle, later]


# -- policies ---------------------------------------------------------------------------------------


def test_a_new_default_policy_takes_over_the_default_flag(
    policy: SLAPolicy, calendar: BusinessCalendar
) -> None:
    newer = sla_policy_create(
        name="Newer", calendar=calendar, targets={Priority.LOW: (240, 2400)}, is_default=True
    )

    assert list(SLAPolicy.objects.filter(is_default=True)) == [newer]
    assert newer.targets.get().resolution_minutes == 2400


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"critical": (10, 20)}, "Unknown priority"),
        ({Priority.HIGH: (0, 20)}, "between 1 and"),
        ({Priority.HIGH: (10, 10**9)}, "between 1 and"),
        ({Priority.HIGH: 10}, "give \\(first response, resolution\\)"),
    ],
)
def test_malformed_targets_are_rejected(
    calendar: BusinessCalendar, targets: dict[str, object], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        sla_policy_create(name="Bad", calendar=calendar, targets=targets)  # type: ignore[arg-type]
    assert not SLAPolicy.objects.exists()


def test_long_targets_cross_weekends_and_holidays(calendar: BusinessCalendar) -> None:
    calendar.holidays.create(date=date(2024, 6, 10))
    week = sla_policy_create(
        name="Slow", calendar=calendar, targets={Priority.LOW: (60, 3 * 5 * 8 * 60)}
    )

    ticket = ticket_make(priority=Priority.LOW, sla_policy=week)

    # Three working weeks from Monday 10:00, one day longer for the holiday.
    assert ticket.resolution_due_at == datetime(2024, 6, 25, 10, tzinfo=UTC)
    assert timedelta(days=22) == ticket.resolution_due_at - MONDAY_10AM
