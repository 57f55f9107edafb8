"""Builders for the customer-success tests: accounts with a CSM, people, usage, tickets."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.utils import timezone

from conftest import make_staff
from tend.core.models import User
from tend.core.roles import Role
from tend.crm.models import Account, Contact, Subscription
from tend.health.models import HealthSnapshot
from tend.usage.models import DailyRollup

TODAY = timezone.localdate()


def at(day: date, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("cora", Role.CSM, first_name="Cora")


@pytest.fixture
def other_csm(db: Any) -> User:
    return make_staff("carl", Role.CSM, first_name="Carl")


@pytest.fixture
def account(csm: User) -> Account:
    return Account.objects.create(name="Acme", owner=csm)


@pytest.fixture
def make_contact(account: Account) -> Callable[..., Contact]:
    counter = iter(range(1, 10_000))

    def build(
        name: str = "",
        roles: tuple[str, ...] = ("user",),
        last_seen: date | None = None,
        of: Account | None = None,
    ) -> Contact:
        n = next(counter)
        return Contact.objects.create(
            name=name or f"Person {n}",
            email=f"p{n}@acme.test",
            account=of or account,
            roles=list(roles),
            last_seen_at=at(last_seen) if last_seen else None,
        )

    return build


def rollup(account: Account, day: date, count: int, contact: Contact | None = None) -> None:
    DailyRollup.objects.create(
        day=day,
        account=account,
        contact=contact,
        event="Report Viewed",
        count=count,
        first_at=at(day, 9),
        last_at=at(day, 17),
    )


def subscription(account: Account, seats: int, renews_on: date | None = None) -> Subscription:
    return Subscription.objects.create(
        account=account,
        plan="Team",
        seats=seats,
        starts_on=TODAY - timedelta(days=300),
        renews_on=renews_on,
    )


def snapshot(account: Account, day: date, band: str) -> HealthSnapshot:
    return HealthSnapshot.objects.create(account=account, day=day, score=30, band=band)
