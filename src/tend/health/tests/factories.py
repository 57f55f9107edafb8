"""Test data for health: accounts, people, metric values and tickets written directly,
so a test says exactly what each input is on the scored day."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from tend.crm.models import Account, Contact
from tend.desk.models import Ticket
from tend.health import scoring
from tend.usage.models import Metric, MetricValue

DAY = date(2026, 6, 15)
_seq = itertools.count(1)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


def make_account(**fields: Any) -> Account:
    fields.setdefault("name", f"Account {next(_seq)}")
    fields.setdefault("last_seen_at", noon(DAY))
    return Account.objects.create(**fields)


def make_contact(account: Account | None, **fields: Any) -> Contact:
    n = next(_seq)
    fields.setdefault("email", f"user{n}@example.test")
    fields.setdefault("name", f"User {n}")
    return Contact.objects.create(account=account, **fields)


def make_metric(name: str = "Logins", kind: str = "event_count", **fields: Any) -> Metric:
    return Metric.objects.create(name=name, kind=kind, event=fields.pop("event", "Login"), **fields)


def set_value(
    metric: Metric, account: Account, value: float, contact: Contact | None = None, day: date = DAY
) -> None:
    MetricValue.objects.create(
        metric=metric, account=account, contact=contact, day=day, value=value
    )


def make_ticket(
    account: Account,
    priority: str = "normal",
    status: str = "open",
    created: date = DAY,
    **fields: Any,
) -> Ticket:
    requester = make_contact(account)
    ticket = Ticket.objects.create(
        number=next(_seq),
        subject="Help",
        requester=requester,
        account=account,
        priority=priority,
        status=status,
        **fields,
    )
    # created_at is auto-set to now; scoring reads "as of" the test's day.
    Ticket.objects.filter(pk=ticket.pk).update(created_at=noon(created))
    return ticket


def metric_config(metric: Metric, **extra: Any) -> dict[str, Any]:
    """Logins 50 (steps 0→0, 5→50, 20→100), urgent tickets 25, NPS 25 (always missing)."""
    config: dict[str, Any] = {
        "measures": [
            {
                "key": "logins",
                "kind": scoring.METRIC,
                "metric": metric.pk,
                "weight": 50,
                "thresholds": [[0, 0], [5, 50], [20, 100]],
            },
            {
                "key": "urgent",
                "kind": scoring.URGENT_TICKETS,
                "weight": 25,
                "thresholds": [[0, 100], [1, 40], [3, 0]],
            },
            {
                "key": "nps",
                "kind": scoring.NPS,
                "weight": 25,
                "scale": "linear",
                "thresholds": [[-100, 0], [100, 100]],
            },
        ],
        "bands": {"red_below": 40, "green_from": 70},
        "overrides": [],
    }
    config.update(extra)
    return config


def days_before(n: int) -> date:
    return DAY - timedelta(days=n)
