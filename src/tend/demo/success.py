"""Demo data for customer success: CSMs, segments, contracts, roles, 90 days of usage.

Accounts follow one of four stories so the cockpit has something to say: thriving
(most seats active, growing), steady, slipping (usage falling over the last weeks, the
champion gone quiet) and dormant (almost nobody logs in, renewal close).
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from tend.core.models import User
from tend.crm.models import (
    Account,
    Contact,
    Lifecycle,
    Role,
    Subscription,
    SubscriptionStatus,
    Touchpoint,
    TouchpointKind,
)
from tend.usage.models import DailyRollup

USAGE_DAYS = 90
# Events and how often an active user does them on an active day.
# The names match the demo metrics (tend.usage.metrics_demo).
EVENTS = (("Login", 1.0), ("Report Viewed", 0.6), ("Dashboard Viewed", 2.5), ("Export Run", 0.2))
STORIES = ("thriving", "steady", "slipping", "dormant")
STORY_WEIGHTS = (3, 4, 2, 1)
# Share of the account's people active on a day: (90 days ago, today).
ACTIVITY = {
    "thriving": (0.55, 0.75),
    "steady": (0.5, 0.5),
    "slipping": (0.6, 0.15),
    "dormant": (0.12, 0.03),
}
PLANS = (("Starter", 30_000), ("Team", 120_000), ("Business", 450_000), ("Enterprise", 1_500_000))


def seed_accounts_and_usage(
    *,
    rng: random.Random,
    now: datetime,
    account_ids: list[int],
    users: dict[str, User],
    chinese_account_ids: set[int],
) -> dict[str, int]:
    """Fill in the customer-success side of the demo accounts; returns counts."""
    csms = [u for key, u in users.items() if key in ("csm", "manager")]
    accounts = list(Account.objects.filter(pk__in=account_ids).order_by("pk"))
    people: dict[int, list[Contact]] = defaultdict(list)
    for contact in Contact.objects.filter(account_id__in=account_ids).order_by("pk"):
        people[contact.account_id or 0].append(contact)
    today = timezone.localdate(now)
    stories: dict[int, str] = {}
    subscriptions: list[Subscription] = []
    for account in accounts:
        story = rng.choices(STORIES, weights=STORY_WEIGHTS)[0]
        stories[account.pk] = story
        staff = people[account.pk]
        account.owner = csms[0] if rng.random() < 0.7 or len(csms) == 1 else csms[1]
        size = len(staff)
        account.segment = "Enterprise" if size >= 15 else "Mid-market" if size >= 6 else "SMB"
        account.tier = {"Enterprise": "Tier 1", "Mid-market": "Tier 2"}.get(
            account.segment, "Tier 3"
        )
        account.lifecycle = {
            "thriving": Lifecycle.MATURE,
            "steady": rng.choice([Lifecycle.ADOPTING, Lifecycle.MATURE]),
            "slipping": Lifecycle.ADOPTING,
            "dormant": Lifecycle.AT_RISK,
        }[story]
        plan, base = PLANS[min(3, size // 6)]
        seats = max(3, round(size * rng.uniform(1.1, 1.6)))
        started = today - timedelta(days=rng.randint(120, 700))
        renews = today + timedelta(
            days=rng.randint(10, 80) if story == "dormant" else rng.randint(20, 360)
        )
        subscriptions.append(
            Subscription(
                account=account,
                plan=plan,
                mrr_minor=base + seats * 2_000,
                currency="CNY" if account.pk in chinese_account_ids else "USD",
                seats=seats,
                starts_on=started,
                renews_on=renews,
                auto_renew=story != "dormant",
                status=SubscriptionStatus.ACTIVE,
            )
        )
        for index, contact in enumerate(staff):
            roles = [Role.USER.value]
            if index == 0:
                roles.append(Role.CHAMPION.value)
            elif index == 1:
                roles = [Role.DECISION_MAKER.value]
            elif index == 2:
                roles.append(Role.MANAGER.value)
            elif index == 3 and size > 8:
                roles = [Role.EXECUTIVE_SPONSOR.value]
            contact.roles = roles
    Account.objects.bulk_update(accounts, ["owner", "segment", "tier", "lifecycle"])
    Subscription.objects.bulk_create(subscriptions)
    all_people = [c for staff in people.values() for c in staff]
    Contact.objects.bulk_update(all_people, ["roles"])
    rollups = _usage(rng, today, accounts, people, stories)
    touchpoints = _touchpoints(rng, now, accounts, people, stories)
    return {"subscriptions": len(subscriptions), "rollups": rollups, "touchpoints": touchpoints}


def _usage(
    rng: random.Random,
    today: date,
    accounts: list[Account],
    people: dict[int, list[Contact]],
    stories: dict[int, str],
) -> int:
    rows: list[DailyRollup] = []
    last_seen: dict[int, datetime] = {}
    for account in accounts:
        start_share, end_share = ACTIVITY[stories[account.pk]]
        # Each person has their own appetite; the champion of a slipping account stops.
        appetite = {c.pk: rng.uniform(0.4, 1.6) for c in people[account.pk]}
        for offset in range(USAGE_DAYS, -1, -1):
            day = today - timedelta(days=offset)
            if day.weekday() >= 5 and rng.random() < 0.8:
                continue  # quiet weekends
            progress = 1 - offset / USAGE_DAYS
            share = start_share + (end_share - start_share) * progress
            for index, contact in enumerate(people[account.pk]):
                if stories[account.pk] == "slipping" and index == 0 and offset < 35:
                    continue
                if rng.random() > min(0.98, share * appetite[contact.pk]):
                    continue
                hour = rng.randint(1, 12)
                first = timezone.make_aware(datetime.combine(day, time(hour)))
                for event, rate in EVENTS:
                    count = _poisson(rng, rate * 3) if event != "Login" else 1
                    if count == 0:
                        continue
                    last = first + timedelta(minutes=rng.randint(1, 300))
                    rows.append(
                        DailyRollup(
                            day=day,
                            account=account,
                            contact=contact,
                            event=event,
                            count=count,
                            first_at=first,
                            last_at=last,
                        )
                    )
                    if last > last_seen.get(contact.pk, first - timedelta(days=9999)):
                        last_seen[contact.pk] = last
    DailyRollup.objects.bulk_create(rows, batch_size=2000)
    contacts = [c for staff in people.values() for c in staff if c.pk in last_seen]
    for contact in contacts:
        contact.last_seen_at = last_seen[contact.pk]
    Contact.objects.bulk_update(contacts, ["last_seen_at"], batch_size=500)
    for account in accounts:
        seen = [last_seen[c.pk] for c in people[account.pk] if c.pk in last_seen]
        account.last_seen_at = max(seen) if seen else None
    Account.objects.bulk_update(accounts, ["last_seen_at"])
    return len(rows)


def _poisson(rng: random.Random, mean: float) -> int:
    # Knuth's method: fine for the small means used here.
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _touchpoints(
    rng: random.Random,
    now: datetime,
    accounts: list[Account],
    people: dict[int, list[Contact]],
    stories: dict[int, str],
) -> int:
    notes = {
        "thriving": ("Expansion call", "They want to roll out to the finance team next quarter."),
        "steady": ("Quarterly check-in", "Happy with reporting; asked about the API limits."),
        "slipping": ("Champion changing roles", "Our champion moves to another team next month."),
        "dormant": ("No answer", "Two emails and a call without reply; renewal is close."),
    }
    rows = []
    for account in accounts:
        subject, body = notes[stories[account.pk]]
        staff = people[account.pk]
        rows.append(
            Touchpoint(
                account=account,
                contact=staff[0] if staff else None,
                author=account.owner,
                kind=rng.choice([TouchpointKind.CALL, TouchpointKind.MEETING, TouchpointKind.NOTE]),
                subject=subject,
                body=body,
                happened_at=now - timedelta(days=rng.randint(2, 40)),
            )
        )
    Touchpoint.objects.bulk_create(rows)
    return len(rows)
