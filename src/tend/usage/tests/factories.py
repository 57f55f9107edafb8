"""Test data for usage: accounts, people, hand-built rollups and raw events.

Rollups and events are written straight through the ORM (ingestion has its own tests);
that lets a test say exactly which day each count falls on.
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tend.crm.models import Account, Contact, Subscription, SubscriptionStatus
from tend.usage.models import DailyRollup, Event, Metric, WriteKey

_seq = itertools.count(1)


def make_account(name: str | None = None, **fields: Any) -> Account:
    return Account.objects.create(name=name or f"Account {next(_seq)}", **fields)


def make_contact(account: Account | None, name: str | None = None, **fields: Any) -> Contact:
    n = next(_seq)
    fields.setdefault("email", f"person{n}@example.test")
    return Contact.objects.create(account=account, name=name or f"Person {n}", **fields)


def make_subscription(
    account: Account, seats: int, status: str = SubscriptionStatus.ACTIVE, **fields: Any
) -> Subscription:
    fields.setdefault("plan", "Team")
    fields.setdefault("starts_on", date(2026, 1, 1))
    return Subscription.objects.create(account=account, seats=seats, status=status, **fields)


def at(day: date, hour: int = 12) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def make_rollup(
    day: date,
    account: Account | None,
    contact: Contact | None = None,
    event: str = "Report Viewed",
    count: int = 1,
) -> DailyRollup:
    return DailyRollup.objects.create(
        day=day,
        account=account,
        contact=contact,
        event=event,
        count=count,
        first_at=at(day, 9),
        last_at=at(day, 17),
    )


def make_metric(name: str | None = None, **fields: Any) -> Metric:
    fields.setdefault("kind", "event_count")
    fields.setdefault("event", "Report Viewed" if fields["kind"] == "event_count" else "")
    return Metric.objects.create(name=name or f"Metric {next(_seq)}", **fields)


def write_key() -> WriteKey:
    key, _created = WriteKey.objects.get_or_create(
        key_hash="0" * 64, defaults={"name": "tests", "prefix": "test"}
    )
    return key


def make_event(
    when: datetime,
    account: Account | None,
    contact: Contact | None = None,
    name: str = "Report Viewed",
    properties: dict[str, Any] | None = None,
) -> Event:
    return Event.objects.create(
        write_key=write_key(),
        message_id=f"msg-{next(_seq)}",
        type="track",
        name=name,
        user_id=contact.external_id if contact else "",
        account=account,
        contact=contact,
        timestamp=when,
        received_at=when + timedelta(seconds=1),
        properties=properties or {},
    )
