"""The account 360 timeline merges tickets, usage changes, touchpoints, tasks and
health band changes, newest first, within what the viewer may see."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from conftest import make_staff
from tend.core.models import User
from tend.core.roles import Role
from tend.crm.models import Account, AccountDomain, Touchpoint, TouchpointKind
from tend.desk.models import Status, Ticket
from tend.health.models import HealthSnapshot
from tend.success.models import Task, TaskOutcome, TaskStatus, TaskType
from tend.usage.models import DailyRollup
from tend.web.selectors_timeline import account_timeline
from tend.web.tests.helpers import new_ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("carla", Role.CSM, first_name="Carla")


def _at(days_ago: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=days_ago)


def _monday(weeks_ago: int) -> dt.date:
    today = timezone.localdate()
    return today - dt.timedelta(days=today.weekday()) - dt.timedelta(weeks=weeks_ago)


def _usage(account: Account, monday: dt.date, count: int) -> None:
    moment = dt.datetime.combine(monday, dt.time(12), tzinfo=dt.UTC)
    DailyRollup.objects.create(
        day=monday,
        account=account,
        event="Report Built",
        count=count,
        first_at=moment,
        last_at=moment,
    )


@pytest.fixture
def account(csm: User) -> Account:
    account = Account.objects.create(name="Acme", owner=csm)
    AccountDomain.objects.create(account=account, domain="acme.cn")
    return account


def _story(account: Account, csm: User) -> None:
    """One of each kind, at known times (days ago in brackets)."""
    # Tickets: opened (20), solved (2).
    ticket = new_ticket(requester_email="li@acme.cn")
    assert ticket.account_id == account.pk
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=_at(20), status=Status.SOLVED, solved_at=_at(2)
    )
    # Usage: 100 events a week, then 40 in the last complete week (a 60% drop).
    for weeks_ago in (4, 3, 2):
        _usage(account, _monday(weeks_ago), 100)
    _usage(account, _monday(1), 40)
    # A note (15) and a logged meeting (5).
    Touchpoint.objects.create(
        account=account,
        author=csm,
        kind=TouchpointKind.NOTE,
        subject="Kick-off notes",
        body="Goals agreed.",
        happened_at=_at(15),
    )
    Touchpoint.objects.create(
        account=account,
        author=csm,
        kind=TouchpointKind.MEETING,
        subject="QBR",
        happened_at=_at(5),
    )
    # A task raised (10) and closed (3).
    task = Task.objects.create(
        account=account,
        type=TaskType.USAGE_DROP,
        title="Usage dropped",
        due_on=timezone.localdate(),
    )
    Task.objects.filter(pk=task.pk).update(
        created_at=_at(10),
        status=TaskStatus.CLOSED,
        outcome=TaskOutcome.RESOLVED,
        closed_at=_at(3),
    )
    # Health: green, green, then red (band change 4 days ago).
    today = timezone.localdate()
    for days_ago, band, score in ((6, "green", 80), (5, "green", 78), (4, "red", 30)):
        HealthSnapshot.objects.create(
            account=account, day=today - dt.timedelta(days=days_ago), band=band, score=score
        )


def test_timeline_merges_every_kind_newest_first(account: Account, csm: User) -> None:
    _story(account, csm)

    entries = account_timeline(account, user=csm)

    kinds = {e.kind for e in entries}
    assert kinds == {
        "ticket_opened",
        "ticket_solved",
        "usage_change",
        "note",
        "meeting",
        "task_raised",
        "task_closed",
        "health_change",
    }
    whens = [e.when for e in entries]
    assert whens == sorted(whens, reverse=True)
    # The first week of use (0 → 100) and the drop (100 → 40), each dated when its week ended.
    usage = [(e.tone, e.when.date()) for e in entries if e.kind == "usage_change"]
    assert usage == [("down", _monday(0)), ("up", _monday(3))]
    drop = next(e for e in entries if e.kind == "usage_change")
    assert "60%" in drop.title and "100 → 40" in drop.title
    health = next(e for e in entries if e.kind == "health_change")
    assert health.tone == "red" and "Green" in health.title and "Red" in health.title
    assert [e.kind for e in entries if e.kind != "usage_change"] == [
        "ticket_solved",
        "task_closed",
        "health_change",
        "meeting",
        "task_raised",
        "note",
        "ticket_opened",
    ]


def test_timeline_limit_and_before_page_through(account: Account, csm: User) -> None:
    _story(account, csm)
    everything = account_timeline(account, user=csm)

    first = account_timeline(account, user=csm, limit=3)
    rest = account_timeline(account, user=csm, before=first[-1].when)

    assert first == everything[:3]
    assert first + rest == everything


def test_timeline_small_usage_moves_are_not_news(account: Account, csm: User) -> None:
    for weeks_ago, count in ((3, 100), (2, 120), (1, 100)):
        _usage(account, _monday(weeks_ago), count)
    changes = [e for e in account_timeline(account, user=csm) if e.kind == "usage_change"]
    # Only the start of use; +20% and −17% stay off the timeline.
    assert [e.when.date() for e in changes] == [_monday(2)]


def test_timeline_leaves_out_what_the_viewer_may_not_read(account: Account, csm: User) -> None:
    _story(account, csm)
    agent = make_staff("abe", Role.AGENT)
    kinds = {e.kind for e in account_timeline(account, user=agent)}
    # Agents read tickets, touchpoints, tasks, health and metric values.
    assert "note" in kinds and "ticket_opened" in kinds
    nobody = User.objects.create_user(username="nobody")
    assert account_timeline(account, user=nobody) == []
