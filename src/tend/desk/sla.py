"""SLA clock for tickets.

Contract used by desk.services: the ``sla_on_*`` hooks mutate the ticket in memory
(never save) and return the names of the fields they changed, for
``save(update_fields=...)``.

How the clocks run (business time of the policy's calendar):

- First response runs from creation and is never paused (as in Zendesk's first reply
  time): ``first_response_due_at`` is set while a first response is awaited and cleared
  once it happens, or when the ticket is solved or closed without one.
- Resolution runs while the ticket is new or open and pauses while pending or on-hold.
  ``sla_elapsed_seconds`` holds business seconds of earlier running stretches and
  ``sla_clock_started_at`` the start of the current one. ``resolution_due_at`` is set
  exactly while the clock runs: None means paused, solved, closed or no target.
- Breach flags are sticky: a target missed stays missed even if the priority is later
  lowered or the ticket reopened.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils.translation import gettext as _

from tend.core.business_hours import BusinessClock
from tend.core.models import BusinessCalendar, Holiday
from tend.core.process_cache import ProcessCache
from tend.desk.models import (
    PAUSED_STATUSES,
    UNRESOLVED_STATUSES,
    EventKind,
    Priority,
    SLAPolicy,
    SLATarget,
    Ticket,
    TicketEvent,
)

# Unresolved tickets with a target due within this window show as "at risk".
SLA_AT_RISK_SECONDS = 60 * 60
# A year of minutes: anything longer is a typo, and would overflow date arithmetic.
SLA_TARGET_MAX_MINUTES = 366 * 24 * 60

RUNNING_STATUSES = UNRESOLVED_STATUSES - PAUSED_STATUSES


def _set(ticket: Ticket, changed: list[str], field: str, value: Any) -> None:
    if getattr(ticket, field) != value:
        setattr(ticket, field, value)
        changed.append(field)


@dataclass(frozen=True)
class _DefaultPolicy:
    policy: SLAPolicy
    targets: dict[str, SLATarget]
    clock: BusinessClock


def _load_default_policy() -> _DefaultPolicy | None:
    policy = (
        SLAPolicy.objects.filter(is_default=True)
        .order_by("pk")
        .select_related("calendar")
        .prefetch_related("calendar__holidays")
        .first()
    )
    if policy is None:
        return None
    targets: dict[str, SLATarget] = {}
    for target in SLATarget.objects.filter(policy_id=policy.pk).order_by("-pk"):
        targets[target.priority] = target  # the first one per priority wins, as before
    return _DefaultPolicy(policy, targets, BusinessClock.for_calendar(policy.calendar))


# Every new ticket asks for the default policy, its targets and its calendar; they change
# rarely, so each process keeps them (a change shows in other processes within seconds).
_default_policy = ProcessCache(
    "desk.default_sla_policy",
    _load_default_policy,
    ttl=5.0,
    watch=[SLAPolicy, SLATarget, BusinessCalendar, Holiday],
)


def _target(ticket: Ticket) -> tuple[SLATarget | None, BusinessClock | None]:
    """The ticket's target for its priority and its policy's clock (two or three queries)."""
    if ticket.sla_policy_id is None:
        return None, None
    target = (
        SLATarget.objects.filter(policy_id=ticket.sla_policy_id, priority=ticket.priority)
        .select_related("policy__calendar")
        .first()
    )
    if target is not None:
        return target, BusinessClock.for_calendar(target.policy.calendar)
    # No target for this priority, but the clock still keeps time so that a later
    # change to a priority with a target counts what has already been used.
    policy = SLAPolicy.objects.select_related("calendar").filter(pk=ticket.sla_policy_id).first()
    if policy is None:
        return None, None
    return None, BusinessClock.for_calendar(policy.calendar)


def _elapsed(ticket: Ticket, clock: BusinessClock, now: datetime) -> int:
    """Business seconds the resolution clock has run so far, current stretch included."""
    running = 0
    if ticket.sla_clock_started_at is not None:
        running = clock.between(ticket.sla_clock_started_at, now)
    return ticket.sla_elapsed_seconds + running


def _resolution_due(
    ticket: Ticket, target: SLATarget, clock: BusinessClock, now: datetime, changed: list[str]
) -> datetime:
    """When the running resolution clock reaches the target; marks the breach if the time
    already used exceeds it (possible after a priority change)."""
    remaining = target.resolution_minutes * 60 - _elapsed(ticket, clock, now)
    if remaining >= 0:
        return clock.add(now, remaining)
    _set(ticket, changed, "resolution_breached", True)
    # The exact past moment is not recoverable once pauses are folded into
    # sla_elapsed_seconds; "now" sorts the ticket among the overdue.
    return now


def sla_start(ticket: Ticket, now: datetime) -> list[str]:
    """Attach the ticket's policy (or the default one) and start its clocks at ``now``
    (the ticket's creation time). Without any policy the ticket is left alone."""
    changed: list[str] = []
    target: SLATarget | None
    clock: BusinessClock | None
    if ticket.sla_policy_id is None:
        default = _default_policy.get()
        if default is None:
            return changed
        ticket.sla_policy = default.policy
        changed.append("sla_policy")
        target = default.targets.get(ticket.priority)
        clock = default.clock
    else:
        target, clock = _target(ticket)
    running = ticket.status in RUNNING_STATUSES
    _set(ticket, changed, "sla_elapsed_seconds", 0)
    _set(ticket, changed, "sla_clock_started_at", now if running else None)
    _set(ticket, changed, "resolution_breached", False)
    first_due = resolution_due = None
    if target is not None and clock is not None:
        if ticket.first_responded_at is None:
            first_due = clock.add(now, target.first_response_minutes * 60)
        if running:
            resolution_due = clock.add(now, target.resolution_minutes * 60)
    if ticket.first_responded_at is None:
        _set(ticket, changed, "first_response_breached", False)
    _set(ticket, changed, "first_response_due_at", first_due)
    _set(ticket, changed, "resolution_due_at", resolution_due)
    return changed


def _stop_resolution(
    ticket: Ticket, changed: list[str], clock: BusinessClock | None, now: datetime
) -> None:
    if ticket.sla_clock_started_at is not None:
        elapsed = ticket.sla_elapsed_seconds
        if clock is not None:
            elapsed = _elapsed(ticket, clock, now)
        _set(ticket, changed, "sla_elapsed_seconds", elapsed)
        _set(ticket, changed, "sla_clock_started_at", None)
    if ticket.resolution_due_at is not None and now > ticket.resolution_due_at:
        _set(ticket, changed, "resolution_breached", True)
    _set(ticket, changed, "resolution_due_at", None)


def sla_on_status_change(ticket: Ticket, old_status: str, now: datetime) -> list[str]:
    """Pause, resume or stop the clocks after ``ticket.status`` changed from ``old_status``.

    Entering pending/on-hold pauses resolution; going back to new/open (also a reopen
    from solved) resumes it with the time already used. Solving or closing stops it and
    settles breaches against the due times; both due times are then cleared, so only
    unresolved tickets ever carry one.
    """
    changed: list[str] = []
    if ticket.sla_policy_id is None or ticket.status == old_status:
        return changed
    target, clock = _target(ticket)
    if ticket.status in RUNNING_STATUSES:
        if ticket.sla_clock_started_at is None:
            _set(ticket, changed, "sla_clock_started_at", now)
            if target is not None and clock is not None:
                due = _resolution_due(ticket, target, clock, now, changed)
                _set(ticket, changed, "resolution_due_at", due)
        return changed
    _stop_resolution(ticket, changed, clock, now)
    if ticket.status not in UNRESOLVED_STATUSES and ticket.first_response_due_at is not None:
        if now > ticket.first_response_due_at:
            _set(ticket, changed, "first_response_breached", True)
        _set(ticket, changed, "first_response_due_at", None)
    return changed


def sla_on_priority_change(ticket: Ticket, now: datetime) -> list[str]:
    """Recompute both due times from the new priority's target, keeping the time used.

    The first response is measured from creation (it never pauses); resolution from the
    business time already used. A target the time used already exceeds is breached at
    once. Solved and closed tickets are left as they are.
    """
    changed: list[str] = []
    if ticket.sla_policy_id is None or ticket.status not in UNRESOLVED_STATUSES:
        return changed
    target, clock = _target(ticket)
    first_due = resolution_due = None
    if target is not None and clock is not None:
        if ticket.first_responded_at is None:
            first_due = clock.add(ticket.created_at or now, target.first_response_minutes * 60)
            if now > first_due:
                _set(ticket, changed, "first_response_breached", True)
        if ticket.sla_clock_started_at is not None:
            resolution_due = _resolution_due(ticket, target, clock, now, changed)
        elif ticket.sla_elapsed_seconds > target.resolution_minutes * 60:
            _set(ticket, changed, "resolution_breached", True)  # paused, but already over
    _set(ticket, changed, "first_response_due_at", first_due)
    _set(ticket, changed, "resolution_due_at", resolution_due)
    return changed


def sla_on_first_response(ticket: Ticket, now: datetime) -> list[str]:
    """Record the first agent response (public reply). The time is recorded even without
    a policy, since first reply time is reported for every ticket."""
    changed: list[str] = []
    if ticket.first_responded_at is not None:
        return changed
    _set(ticket, changed, "first_responded_at", now)
    if ticket.first_response_due_at is not None:
        if now > ticket.first_response_due_at:
            _set(ticket, changed, "first_response_breached", True)
        _set(ticket, changed, "first_response_due_at", None)
    return changed


def sla_breaches_mark(now: datetime) -> int:
    """Flag unresolved tickets whose due time has passed; one TicketEvent per new breach.

    One locked SELECT, one UPDATE and one bulk INSERT whatever the number of tickets.
    Returns how many tickets got a new breach flag.
    """
    first_late = Q(first_response_breached=False, first_response_due_at__lt=now)
    resolution_late = Q(resolution_breached=False, resolution_due_at__lt=now)
    with transaction.atomic():
        # FOR UPDATE (PostgreSQL) so an overlapping run waits and then sees the flags set,
        # rather than writing the same breach events twice.
        late = list(
            Ticket.objects.select_for_update()
            .filter(first_late | resolution_late, status__in=UNRESOLVED_STATUSES)
            .values_list(
                "pk",
                "version",
                "first_response_due_at",
                "resolution_due_at",
                "first_response_breached",
                "resolution_breached",
            )
        )
        if not late:
            return 0
        Ticket.objects.filter(pk__in=[row[0] for row in late]).update(
            first_response_breached=Case(
                When(first_late, then=Value(True)), default=F("first_response_breached")
            ),
            resolution_breached=Case(
                When(resolution_late, then=Value(True)), default=F("resolution_breached")
            ),
        )
        events = []
        for pk, version, first_due, resolution_due, first_flag, resolution_flag in late:
            for target_name, due, flagged in (
                ("first_response", first_due, first_flag),
                ("resolution", resolution_due, resolution_flag),
            ):
                if not flagged and due is not None and due < now:
                    events.append(
                        TicketEvent(
                            ticket_id=pk,
                            kind=EventKind.SLA_BREACH,
                            new_value=target_name,
                            version=version,
                        )
                    )
        TicketEvent.objects.bulk_create(events)
    return len(late)


def sla_attention_q(now: datetime) -> Q:
    """Unresolved tickets with a running target that is overdue or due within
    SLA_AT_RISK_SECONDS. A first response that was late but has since been given, or a
    paused ticket, needs no action and does not match."""
    limit = now + timedelta(seconds=SLA_AT_RISK_SECONDS)
    return Q(status__in=UNRESOLVED_STATUSES) & (
        Q(first_response_due_at__lte=limit) | Q(resolution_due_at__lte=limit)
    )


def sla_state(ticket: Ticket, now: datetime) -> str:
    """One word for badges: "", "paused", "ok", "at_risk" or "breached"."""
    if ticket.sla_policy_id is None or ticket.status not in UNRESOLVED_STATUSES:
        return ""
    dues = [due for due in (ticket.first_response_due_at, ticket.resolution_due_at) if due]
    if any(due < now for due in dues) or ticket.resolution_breached:
        return "breached"
    if any(due <= now + timedelta(seconds=SLA_AT_RISK_SECONDS) for due in dues):
        return "at_risk"
    if ticket.status in PAUSED_STATUSES:
        return "paused"
    return "ok" if dues else ""


@transaction.atomic
def sla_policy_create(
    *,
    name: str,
    calendar: BusinessCalendar,
    targets: Mapping[str, tuple[int, int]],
    is_default: bool = False,
) -> SLAPolicy:
    """Create a policy with ``{priority: (first_response_minutes, resolution_minutes)}``.

    Priorities left out get no target (tickets of that priority carry no due times).
    Making a policy the default takes the flag from the previous default. The caller
    checks the actor's permission.
    """
    rows: list[SLATarget] = []
    for priority, minutes in targets.items():
        if priority not in Priority.values:
            raise ValidationError(
                _("Unknown priority “%(priority)s”.") % {"priority": priority}, code="targets"
            )
        try:
            first_response, resolution = minutes
        except (TypeError, ValueError):
            raise ValidationError(
                _("Priority %(priority)s: give (first response, resolution) in minutes.")
                % {"priority": priority},
                code="targets",
            ) from None
        for value in (first_response, resolution):
            if (
                isinstance(value, bool)
                or not isinstance(value, int)
                or not (0 < value <= SLA_TARGET_MAX_MINUTES)
            ):
                raise ValidationError(
                    _("Priority %(priority)s: targets are whole minutes between 1 and %(max)s.")
                    % {"priority": priority, "max": SLA_TARGET_MAX_MINUTES},
                    code="targets",
                )
        rows.append(
            SLATarget(
                priority=priority,
                first_response_minutes=first_response,
                resolution_minutes=resolution,
            )
        )
    policy = SLAPolicy(name=name, calendar=calendar, is_default=is_default)
    # The one-default constraint is honoured by moving the flag, so skip it here.
    policy.full_clean(validate_constraints=False)
    if is_default:
        SLAPolicy.objects.filter(is_default=True).update(is_default=False)
    policy.save()
    for row in rows:
        row.policy = policy
    SLATarget.objects.bulk_create(rows)
    return policy
