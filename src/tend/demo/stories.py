"""One demo ticket's life, planned step by step and replayed up to "now".

A story is the whole conversation a ticket would have (customer writes, agent
answers, maybe asks for details, escalates, solves, the ticket closes). Cutting the
story at the present moment gives every ticket a status that fits its age: old
tickets are closed, yesterday's are open or pending, the last hours' are new. The SLA
fields are then computed from the status history with the real business calendar, so
breaches in the demo are the breaches Tend itself would have recorded.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tend.core.business_hours import BusinessClock
from tend.demo.texts import Conversation, Topic, fill_values
from tend.desk.models import PAUSED_STATUSES, Channel, EventKind, Status

RUNNING_STATUSES = frozenset({Status.NEW, Status.OPEN})
STOPPED_STATUSES = frozenset({Status.SOLVED, Status.CLOSED})
AUTO_CLOSE_AFTER = timedelta(days=4)

SOLVE_REASONS_EN = (
    "Customer stopped replying after the workaround.",
    "Fixed in today's release; verified on the customer's workspace.",
    "Answered the question; nothing left to do.",
)
SOLVE_REASONS_ZH = (
    "客户未再回复，已提供临时方案。",
    "今日版本已修复，并在客户账号中验证。",
    "问题已解答。",
)


@dataclass
class EventSpec:
    kind: str
    actor_id: int | None = None
    contact_id: int | None = None
    old: str = ""
    new: str = ""


@dataclass
class CommentSpec:
    body: str
    public: bool
    user_id: int | None = None
    contact_id: int | None = None
    channel: str = Channel.WEB


@dataclass
class Step:
    at: datetime
    changes: dict[str, Any] = field(default_factory=dict)
    events: list[EventSpec] = field(default_factory=list)
    comment: CommentSpec | None = None


@dataclass
class Agent:
    id: int
    name: str
    chinese: bool
    away: bool


@dataclass
class StoryCast:
    """Who may take part: agents per team name, the Tier 2 team, SLA targets."""

    team_agents: dict[int, list[Agent]]
    tier2_team_id: int
    team_names: dict[int, str]
    # priority -> (first response, resolution) in business seconds
    targets: dict[str, tuple[int, int]]


@dataclass
class Replayed:
    """A ticket's fields and rows after its story is replayed up to now."""

    fields: dict[str, Any]
    comments: list[tuple[CommentSpec, datetime, int]]
    events: list[tuple[EventSpec, datetime, int]]


def _pick(rng: random.Random, options: tuple[str, ...], values: dict[str, str]) -> str:
    return rng.choice(options).format(**values)


def _choose_agent(
    rng: random.Random, agents: list[Agent], *, chinese: bool, now_ish: bool
) -> Agent:
    # Away agents are skipped by assignment, so recent tickets never land on them.
    pool = [a for a in agents if not (now_ish and a.away)] or agents
    speakers = [a for a in pool if a.chinese == chinese]
    if speakers and rng.random() < 0.85:
        return rng.choice(speakers)
    return rng.choice(pool)


def story_plan(
    rng: random.Random,
    *,
    cast: StoryCast,
    clock: BusinessClock,
    now: datetime,
    created_at: datetime,
    topic: Topic,
    chinese: bool,
    requester_id: int,
    requester_first_name: str,
    requester_email: str,
    channel: str,
    priority: str,
    team_id: int | None,
    auto_assign: bool,
    late_first_reply: bool = False,
) -> tuple[dict[str, Any], list[Step]]:
    """The ticket's opening fields and every step of its story, in time order."""
    conv: Conversation = topic.zh if chinese else topic.en
    values = fill_values(
        rng, chinese=chinese, first_name=requester_first_name, email=requester_email
    )
    recent = now - created_at < timedelta(days=21)
    first_target, resolution_target = cast.targets[priority]

    opening = {
        "subject": _pick(rng, conv.subjects, values),
        "description": _pick(rng, conv.descriptions, values),
    }
    steps: list[Step] = []

    # 1. The customer writes in; Support and Billing assign automatically.
    assignee: Agent | None = None
    create = Step(
        created_at,
        changes={"status": Status.NEW, "team_id": team_id, "assignee_id": None},
        events=[EventSpec(EventKind.CREATED, contact_id=requester_id, new=channel)],
        comment=CommentSpec(opening["description"], True, contact_id=requester_id, channel=channel),
    )
    if team_id is not None and auto_assign:
        assignee = _choose_agent(rng, cast.team_agents[team_id], chinese=chinese, now_ish=recent)
        create.changes["assignee_id"] = assignee.id
        create.events.append(EventSpec(EventKind.ASSIGNEE, new=assignee.name))
    steps.append(create)

    # 2. First public reply: most within target, some late.
    roll = rng.random()
    share = (
        rng.uniform(0.05, 0.9) if roll < 0.86 and not late_first_reply else rng.uniform(1.1, 3.0)
    )
    t = clock.add(created_at, int(first_target * share) + rng.randint(60, 600))
    if assignee is None:
        pool_team = team_id if team_id is not None else rng.choice(list(cast.team_agents))
        assignee = _choose_agent(rng, cast.team_agents[pool_team], chinese=chinese, now_ish=recent)
    reply = Step(t, changes={"first_responded_at": t, "assignee_id": assignee.id})
    if create.changes["assignee_id"] is None:
        reply.events.append(EventSpec(EventKind.ASSIGNEE, actor_id=assignee.id, new=assignee.name))
    asks_for_details = rng.random() < 0.4
    new_status = Status.PENDING if asks_for_details else Status.OPEN
    reply.changes["status"] = new_status
    reply.events.append(
        EventSpec(EventKind.STATUS, actor_id=assignee.id, old=Status.NEW, new=new_status)
    )
    reply.comment = CommentSpec(_pick(rng, conv.replies, values), True, user_id=assignee.id)
    steps.append(reply)
    status = new_status

    # 3. The customer answers (always when asked, sometimes anyway).
    if asks_for_details or rng.random() < 0.3:
        t = t + timedelta(minutes=rng.randint(20, 60 * 48))
        answer = Step(
            t,
            comment=CommentSpec(
                _pick(rng, conv.followups, values), True, contact_id=requester_id, channel=channel
            ),
        )
        if status == Status.PENDING:
            answer.changes["status"] = Status.OPEN
            answer.events.append(
                EventSpec(
                    EventKind.REOPENED, contact_id=requester_id, old=Status.PENDING, new=Status.OPEN
                )
            )
            status = Status.OPEN
        steps.append(answer)

    # 4. Sometimes priority goes up, an internal note is left, or Tier 2 takes over.
    if priority in {"low", "normal"} and rng.random() < 0.05:
        t = clock.add(t, rng.randint(600, 3 * 3600))
        steps.append(
            Step(
                t,
                changes={"priority": "high"},
                events=[
                    EventSpec(EventKind.PRIORITY, actor_id=assignee.id, old=priority, new="high")
                ],
            )
        )
    if rng.random() < 0.3:
        t = clock.add(t, rng.randint(300, 2 * 3600))
        steps.append(
            Step(t, comment=CommentSpec(_pick(rng, conv.notes, values), False, user_id=assignee.id))
        )
    if topic.area != "billing" and rng.random() < 0.08:
        t = clock.add(t, rng.randint(1800, 6 * 3600))
        tier2 = _choose_agent(
            rng, cast.team_agents[cast.tier2_team_id], chinese=chinese, now_ish=recent
        )
        old_team = cast.team_names.get(team_id, "") if team_id is not None else ""
        escalate = Step(
            t,
            changes={
                "team_id": cast.tier2_team_id,
                "assignee_id": tier2.id,
                "status": Status.ON_HOLD,
            },
            events=[
                EventSpec(
                    EventKind.TEAM,
                    actor_id=assignee.id,
                    old=old_team,
                    new=cast.team_names[cast.tier2_team_id],
                ),
                EventSpec(
                    EventKind.ASSIGNEE, actor_id=assignee.id, old=assignee.name, new=tier2.name
                ),
                EventSpec(EventKind.STATUS, actor_id=assignee.id, old=status, new=Status.ON_HOLD),
            ],
            comment=CommentSpec(
                "升级到二线：需要工程团队协助排查。"
                if chinese
                else "Escalating to Tier 2: needs engineering to look at logs.",
                False,
                user_id=assignee.id,
            ),
        )
        steps.append(escalate)
        assignee = tier2
        t = t + timedelta(hours=rng.randint(4, 96))
        steps.append(
            Step(
                t,
                changes={"status": Status.OPEN},
                events=[
                    EventSpec(
                        EventKind.STATUS, actor_id=tier2.id, old=Status.ON_HOLD, new=Status.OPEN
                    )
                ],
            )
        )
        status = Status.OPEN

    # 5. Solve: usually well within target, some late, a few very late (the backlog).
    roll = rng.random()
    if roll < 0.82:
        share = rng.uniform(0.1, 0.9)
    elif roll < 0.94:
        share = rng.uniform(1.05, 2.5)
    else:
        share = rng.uniform(3.0, 9.0)
    spent = clock.between(created_at, steps[1].at)
    t = clock.add(max(t, steps[1].at), max(900, int(resolution_target * share) - spent))
    closing = Step(
        t, comment=CommentSpec(_pick(rng, conv.closings, values), True, user_id=assignee.id)
    )
    steps.append(closing)
    if rng.random() < 0.65:
        closing.changes.update({"status": Status.PENDING, "confirmation_requested_at": t})
        closing.events += [
            EventSpec(EventKind.STATUS, actor_id=assignee.id, old=status, new=Status.PENDING),
            EventSpec(EventKind.CONFIRMATION_REQUESTED, actor_id=assignee.id),
        ]
        t = t + timedelta(minutes=rng.randint(30, 60 * 72))
        steps.append(
            Step(
                t,
                changes={"status": Status.SOLVED, "solved_at": t, "solve_confirmed_at": t},
                events=[
                    EventSpec(
                        EventKind.STATUS,
                        contact_id=requester_id,
                        old=Status.PENDING,
                        new=Status.SOLVED,
                    ),
                    EventSpec(EventKind.CONFIRMED, contact_id=requester_id),
                ],
            )
        )
    else:
        reason = rng.choice(SOLVE_REASONS_ZH if chinese else SOLVE_REASONS_EN)
        closing.changes.update(
            {
                "status": Status.SOLVED,
                "solved_at": t,
                "confirmation_requested_at": t,
                "unconfirmed_solve_reason": reason,
            }
        )
        closing.events += [
            EventSpec(EventKind.STATUS, actor_id=assignee.id, old=status, new=Status.SOLVED),
            EventSpec(EventKind.SOLVED_UNCONFIRMED, actor_id=assignee.id, new=reason),
        ]

    # 6. Solved tickets close by themselves a few days later.
    t = t + AUTO_CLOSE_AFTER + timedelta(minutes=rng.randint(1, 60))
    steps.append(
        Step(
            t,
            changes={"status": Status.CLOSED, "closed_at": t},
            events=[EventSpec(EventKind.STATUS, old=Status.SOLVED, new=Status.CLOSED)],
        )
    )
    # Wall-clock jumps above may overtake a later business-clock step; keep time order.
    for earlier, later in itertools.pairwise(steps):
        if later.at <= earlier.at:
            later.at = earlier.at + timedelta(minutes=rng.randint(5, 90))
            for key in (
                "first_responded_at",
                "solved_at",
                "solve_confirmed_at",
                "closed_at",
                "confirmation_requested_at",
            ):
                if key in later.changes:
                    later.changes[key] = later.at
    return opening, steps


def story_replay(
    steps: list[Step],
    *,
    now: datetime,
    clock: BusinessClock,
    targets: dict[str, tuple[int, int]],
    priority: str,
) -> Replayed:
    """Apply the steps that have happened by ``now``; derive version and SLA fields.

    Targets are those of the ticket's current priority: a priority change re-bases
    the due times on the new targets, counted from the start as before.
    """
    fields: dict[str, Any] = {
        "version": 0,
        "first_responded_at": None,
        "confirmation_requested_at": None,
        "solved_at": None,
        "solve_confirmed_at": None,
        "unconfirmed_solve_reason": "",
        "closed_at": None,
    }
    comments: list[tuple[CommentSpec, datetime, int]] = []
    events: list[tuple[EventSpec, datetime, int]] = []
    history: list[tuple[datetime, str]] = []
    versions: list[tuple[datetime, int]] = []
    for step in steps:
        if step.at > now:
            break
        fields["version"] += 1
        fields.update(step.changes)
        fields["last_activity_at"] = step.at
        if "status" in step.changes:
            history.append((step.at, step.changes["status"]))
        versions.append((step.at, fields["version"]))
        if step.comment is not None:
            comments.append((step.comment, step.at, fields["version"]))
        events += [(event, step.at, fields["version"]) for event in step.events]

    created_at = steps[0].at
    # The same rules as tend.desk.sla: a due time is stored only while its clock runs;
    # breach flags stick. The first response is judged by the priority it was awaited
    # under (priority changes in these stories come after it); resolution by the
    # current priority with the business time already used.
    first_target = targets[priority][0]
    resolution_target = targets[fields.get("priority", priority)][1]
    first_due = clock.add(created_at, first_target)
    responded = fields["first_responded_at"]
    final_status = fields["status"]
    awaiting_first = responded is None and final_status not in STOPPED_STATUSES
    fields["first_response_due_at"] = first_due if awaiting_first else None
    fields["first_response_breached"] = (responded or now) > first_due

    # Resolution clock: runs while new/open, pauses while pending/on-hold, stops when solved.
    remaining = resolution_target
    elapsed_before = 0
    breach_at: datetime | None = None
    started: datetime | None = None
    for (since, status), nxt in zip(history, [*history[1:], (None, None)], strict=False):
        until = nxt[0]
        if status not in RUNNING_STATUSES:
            continue
        if until is None:
            started = since
            # Resumed past the target: breached at once, due "now" (the resume moment).
            due = clock.add(since, max(0, remaining))
            if breach_at is None and due <= now:
                breach_at = due
            break
        spent = clock.between(since, until)
        if breach_at is None and spent >= remaining > 0:
            breach_at = clock.add(since, remaining)
        remaining -= spent
        elapsed_before += spent
    fields["sla_clock_started_at"] = started
    fields["sla_elapsed_seconds"] = elapsed_before
    fields["resolution_due_at"] = (
        clock.add(started, max(0, remaining)) if started is not None else None
    )
    fields["resolution_breached"] = breach_at is not None and (
        final_status in PAUSED_STATUSES or final_status in STOPPED_STATUSES or breach_at <= now
    )
    fields["updated_at"] = fields["last_activity_at"]

    breach_events: list[tuple[datetime, str]] = []
    if fields["first_response_breached"] and first_due <= now:
        breach_events.append((first_due, "first_response"))
    if fields["resolution_breached"] and breach_at is not None and breach_at <= now:
        breach_events.append((breach_at, "resolution"))
    for at, which in breach_events:
        version = max((v for when, v in versions if when <= at), default=1)
        events.append((EventSpec(EventKind.SLA_BREACH, new=which), at, version))
    events.sort(key=lambda item: item[1])
    return Replayed(fields, comments, events)
