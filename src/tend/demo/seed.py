"""Seed a believable demo company: customers, staff, six months of tickets.

Bulk rows (contacts, tickets, comments, events) are written with bulk_create in one
transaction, so a full seed takes seconds; the few configuration objects (calendar,
macros, saved views) go through the real services so they obey the same rules as
ones made in the product. Every random choice comes from one seeded generator:
two seeds of the same size produce the same company.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import models, transaction
from django.db.models import Max
from django.utils import timezone

from tend.core.business_hours import BusinessClock, business_calendar_create
from tend.core.models import BusinessCalendar, Sequence, User
from tend.core.roles import Role, assign_role
from tend.crm.models import Account, AccountDomain, Contact
from tend.crm.search import index_accounts_bulk, index_contacts_bulk
from tend.demo import names
from tend.demo.stories import Agent, StoryCast, story_plan, story_replay
from tend.demo.success import seed_accounts_and_usage
from tend.demo.texts import TOPICS
from tend.demo.workspace import macros_and_views_create
from tend.desk.models import (
    AssignmentMethod,
    Channel,
    Comment,
    Feature,
    Priority,
    ProductArea,
    SLAPolicy,
    Tag,
    Team,
    Ticket,
    TicketEvent,
)
from tend.desk.search import index_tickets_bulk
from tend.desk.sla import sla_policy_create
from tend.health.demo import seed_health
from tend.health.services import health_recompute
from tend.kb.demo import seed_kb
from tend.mail.mailboxes import mailbox_create
from tend.mail.models import Mailbox
from tend.success.demo import seed_success as seed_risk_tasks
from tend.surveys.demo import seed_surveys
from tend.usage.metrics_demo import seed_metrics
from tend.usage.models import WriteKey
from tend.usage.services import writekey_create

# Accounts made by the seeder carry this external-id prefix; finding one means the
# demo is already there, which makes seeding idempotent.
DEMO_MARKER = "DEMO-"
RANDOM_SEED = 20_240_611
HISTORY_DAYS = 180
CALENDAR_NAME = "Support hours"
POLICY_NAME = "Standard SLA"


@dataclass(frozen=True)
class DemoSize:
    accounts: int
    contacts: int
    tickets: int


SIZES: dict[str, DemoSize] = {
    "small": DemoSize(accounts=5, contacts=30, tickets=100),
    "full": DemoSize(accounts=len(names.ACCOUNTS), contacts=330, tickets=2400),
}

# (first response, resolution) in business minutes, per priority.
SLA_TARGET_MINUTES: dict[str, tuple[int, int]] = {
    Priority.URGENT: (60, 8 * 60),
    Priority.HIGH: (4 * 60, 2 * 16 * 60),
    Priority.NORMAL: (8 * 60, 4 * 16 * 60),
    Priority.LOW: (16 * 60, 10 * 16 * 60),
}
PRIORITY_WEIGHTS = {Priority.LOW: 14, Priority.NORMAL: 60, Priority.HIGH: 21, Priority.URGENT: 5}
CHANNEL_WEIGHTS = {
    Channel.EMAIL: 45,
    Channel.WEB: 33,
    Channel.CHAT: 9,
    Channel.API: 5,
    Channel.PHONE: 5,
    Channel.SOCIAL: 3,
}
CHINESE_SHARE = 1 / 3


@dataclass
class DemoSummary:
    accounts: int = 0
    contacts: int = 0
    staff: int = 0
    tickets: int = 0
    comments: int = 0
    events: int = 0
    staff_password: str = ""


Progress = Callable[[str], None]

DEMO_MAILBOX = "support@tend-demo.example"
DEMO_WRITE_KEY = "Demo product"
# Days of metric history computed at seeding (each day is one pass over all accounts).
DEMO_METRIC_DAYS = 30


def demo_exists() -> bool:
    return Account.objects.filter(external_id__startswith=DEMO_MARKER).exists()


def demo_seed(
    *, size: str = "full", now: datetime | None = None, progress: Progress | None = None
) -> DemoSummary | None:
    """Seed the demo company; None (and nothing written) if it is already there."""
    say: Progress = progress or (lambda message: None)
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}")
    if demo_exists():
        say("Demo data is already present; nothing to do.")
        return None
    seeder = _Seeder(SIZES[size], now or timezone.now(), say)
    with transaction.atomic(), _given_timestamps(Account, Contact, Ticket, Comment, TicketEvent):
        summary = seeder.run()
    seeder.index()
    return summary


@contextmanager
def _given_timestamps(*model_classes: type[models.Model]) -> Iterator[None]:
    """Let bulk_create keep the historical timestamps we set instead of "now".

    auto_now/auto_now_add fields overwrite any value on insert; six months of history
    needs the real past dates, so the flags are lifted for the duration of the seed.
    """
    switched: list[tuple[Any, bool, bool]] = []
    for model_class in model_classes:
        for field in model_class._meta.concrete_fields:
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                switched.append((field, field.auto_now, field.auto_now_add))  # type: ignore[attr-defined]
                field.auto_now = field.auto_now_add = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in switched:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def staff_password_file() -> Path:
    return Path(settings.DATA_DIR) / "demo_staff_password"


def _staff_password() -> str:
    """One random password for every demo agent, kept so re-runs print the same one.

    Never a fixed, published password: a demo bound to a public address would
    otherwise be open to anyone who read the docs.
    """
    path = staff_password_file()
    if not path.exists():
        path.write_text(secrets.token_urlsafe(12) + "\n")
        path.chmod(0o600)
    return path.read_text().strip()


class _Seeder:
    def __init__(self, size: DemoSize, now: datetime, say: Progress) -> None:
        self.size = size
        self.now = now
        self.say = say
        self.rng = random.Random(RANDOM_SEED)
        self.summary = DemoSummary()
        self.ticket_ids: list[int] = []
        self.contact_ids: list[int] = []
        self.account_ids: list[int] = []
        self.chinese_account_ids: set[int] = set()

    def run(self) -> DemoSummary:
        users, teams = self.staff()
        policy, clock = self.calendar_and_sla()
        areas, features, tags = self.product_map()
        _accounts, contacts = self.customers()
        self.customer_success(users)
        self.tickets(users, teams, policy, clock, features, tags, contacts)
        self.macros_and_views(users, teams, areas)
        self.mailbox(teams)
        seed_kb(progress=self.say, now=self.now)
        seed_surveys(progress=self.say, now=self.now)
        self.scores_and_risks()
        return self.summary

    def scores_and_risks(self) -> None:
        """Metrics over the seeded usage, today's health scores and grades, the day's
        risk tasks, and a write key for trying the tracking API."""
        values = seed_metrics(days=DEMO_METRIC_DAYS)
        snapshots = seed_health()
        # Score the earlier days too (oldest first), so trend arrows and the health
        # chart have a history to show from the first sign-in.
        today = timezone.now().date()
        for back in range(DEMO_METRIC_DAYS - 1, 0, -1):
            snapshots += health_recompute(day=today - timedelta(days=back))
        tasks = seed_risk_tasks()
        self.say(
            f"scores: {values:,} metric values, {snapshots} health snapshots, {tasks} risk tasks"
        )
        if not WriteKey.objects.filter(name=DEMO_WRITE_KEY).exists():
            _key, plaintext = writekey_create(actor=None, name=DEMO_WRITE_KEY)
            path = Path(settings.DATA_DIR) / "demo_write_key"
            path.write_text(plaintext + "\n")
            path.chmod(0o600)
            self.say(f"write key for /ingest/v1/ (Segment clients): {path}")

    def mailbox(self, teams: dict[str, Team]) -> None:
        """support@ for the built-in SMTP receiver (`tend run` listens on 2525)."""
        if Mailbox.objects.filter(address__iexact=DEMO_MAILBOX).exists():
            return
        mailbox_create(
            actor=None,
            address=DEMO_MAILBOX,
            name="Tend Demo Support",
            default_team=teams.get(names.TEAM_SUPPORT),
            auto_acknowledge=True,
        )
        self.say(f"mailbox: {DEMO_MAILBOX} (mail to it via SMTP on port 2525)")

    # -- staff ------------------------------------------------------------------------

    def staff(self) -> tuple[dict[str, User], dict[str, Team]]:
        password = _staff_password()
        hashed = make_password(password)  # hashed once: hashing per user costs ~0.3 s each
        existing = {
            u.username: u
            for u in User.objects.filter(username__in=[s.username for s in names.STAFF])
        }
        users: dict[str, User] = {}
        for seed in names.STAFF:
            user = existing.get(seed.username)
            if user is None:
                user = User.objects.create(
                    username=seed.username,
                    first_name=seed.first_name,
                    last_name=seed.last_name,
                    email=f"{seed.username}@tend-demo.example",
                    password=hashed,
                    language=seed.language,
                    time_zone=seed.time_zone,
                    is_away=seed.is_away,
                )
                assign_role(user, Role(seed.role))
                self.summary.staff += 1
            users[seed.username] = user
        methods = {
            names.TEAM_SUPPORT: AssignmentMethod.ROUND_ROBIN,
            names.TEAM_BILLING: AssignmentMethod.LEAST_OPEN,
            names.TEAM_TIER2: AssignmentMethod.MANUAL,
        }
        teams: dict[str, Team] = {}
        for team_name, method in methods.items():
            team, _created = Team.objects.get_or_create(name=team_name)
            team.assignment = method
            team.save(update_fields=["assignment"])
            team.members.add(*[users[s.username] for s in names.STAFF if team_name in s.teams])
            teams[team_name] = team
        self.summary.staff_password = password
        self.say(f"staff: {len(users)} users ({self.summary.staff} new), {len(teams)} teams")
        return users, teams

    # -- calendar, SLA ----------------------------------------------------------------

    def calendar_and_sla(self) -> tuple[SLAPolicy, BusinessClock]:
        calendar = BusinessCalendar.objects.filter(name=CALENDAR_NAME).first()
        if calendar is None:
            # Two shifts (Shanghai day, then Europe) on weekdays, in Shanghai time.
            weekdays = {str(day): [["08:00", "24:00"]] for day in range(1, 6)}
            calendar = business_calendar_create(
                name=CALENDAR_NAME,
                time_zone="Asia/Shanghai",
                weekly_hours=weekdays,
                holidays=_holidays(self.now.year),
            )
        policy = SLAPolicy.objects.filter(name=POLICY_NAME).first()
        if policy is None:
            policy = sla_policy_create(
                name=POLICY_NAME,
                calendar=calendar,
                targets={str(p): minutes for p, minutes in SLA_TARGET_MINUTES.items()},
                is_default=True,
            )
        clock = BusinessClock.for_calendar(policy.calendar)
        self.say(f"calendar: {calendar.name} ({calendar.time_zone}), SLA policy: {policy.name}")
        return policy, clock

    # -- product areas, features, tags ---------------------------------------------------

    def product_map(
        self,
    ) -> tuple[dict[str, ProductArea], dict[tuple[str, str], Feature], dict[str, Tag]]:
        areas: dict[str, ProductArea] = {}
        features: dict[tuple[str, str], Feature] = {}
        for area_name, area_slug, area_features in names.PRODUCT_MAP:
            area, _created = ProductArea.objects.get_or_create(
                slug=area_slug, defaults={"name": area_name}
            )
            areas[area_slug] = area
            for feature_name, feature_slug in area_features:
                feature, _created = Feature.objects.get_or_create(
                    product_area=area, slug=feature_slug, defaults={"name": feature_name}
                )
                features[(area_slug, feature_slug)] = feature
        tags = {}
        for tag_name in names.TAGS:
            tags[tag_name], _created = Tag.objects.get_or_create(name=tag_name)
        self.say(f"product map: {len(areas)} areas, {len(features)} features, {len(tags)} tags")
        return areas, features, tags

    # -- customers --------------------------------------------------------------------

    def customers(self) -> tuple[list[Account], list[tuple[Contact, bool]]]:
        rng = self.rng
        english = [a for a in names.ACCOUNTS if not a.chinese]
        chinese = [a for a in names.ACCOUNTS if a.chinese]
        wanted_zh = max(1, round(self.size.accounts * len(chinese) / len(names.ACCOUNTS)))
        picked = english[: self.size.accounts - wanted_zh] + chinese[:wanted_zh]
        taken_domains = set(AccountDomain.objects.values_list("domain", flat=True))
        picked = [a for a in picked if a.domain not in taken_domains]
        created_start = self.now - timedelta(days=HISTORY_DAYS + 400)
        accounts = Account.objects.bulk_create(
            Account(
                name=seed.name,
                external_id=f"{DEMO_MARKER}{index + 1:03d}",
                created_at=created_start + timedelta(days=rng.randint(0, 380)),
                updated_at=self.now - timedelta(days=rng.randint(0, 30)),
            )
            for index, seed in enumerate(picked)
        )
        AccountDomain.objects.bulk_create(
            AccountDomain(account=account, domain=seed.domain)
            for account, seed in zip(accounts, picked, strict=True)
        )
        # Contacts: most belong to an account (bigger ones get more), a few use free mail.
        weights = [
            3 if names.ACCOUNTS.index(seed) in names.LARGE_ACCOUNT_INDEXES else 1 for seed in picked
        ]
        taken_emails = {e.lower() for e in Contact.objects.values_list("email", flat=True)}
        rows: list[tuple[Contact, bool]] = []
        while len(rows) < self.size.contacts:
            free_mail = rng.random() < 0.08
            index = rng.choices(range(len(picked)), weights=weights)[0]
            seed = picked[index]
            is_zh = seed.chinese if not free_mail else rng.random() < CHINESE_SHARE
            if is_zh and rng.random() < 0.1 and not free_mail:
                is_zh = False  # the foreign colleague at a Chinese company
            if is_zh:
                (surname, surname_py), (given, given_py) = (
                    rng.choice(names.ZH_SURNAMES),
                    rng.choice(names.ZH_GIVEN_NAMES),
                )
                name, local = (
                    surname + given,
                    rng.choice([f"{given_py}.{surname_py}", f"{surname_py}{given_py}"]),
                )
            else:
                first, last = rng.choice(names.FIRST_NAMES), rng.choice(names.LAST_NAMES)
                name, local = (
                    f"{first} {last}",
                    rng.choice([f"{first}.{last}", f"{first[0]}{last}", first]).lower(),
                )
            domain = rng.choice(names.FREEMAIL_DOMAINS) if free_mail else seed.domain
            email = f"{local}@{domain}"
            suffix = 2
            while email.lower() in taken_emails:
                email = f"{local}{suffix}@{domain}"
                suffix += 1
            taken_emails.add(email.lower())
            created = self.now - timedelta(days=rng.randint(HISTORY_DAYS, HISTORY_DAYS + 300))
            rows.append(
                (
                    Contact(
                        name=name,
                        email=email,
                        account=None if free_mail else accounts[index],
                        created_at=created,
                        updated_at=created,
                    ),
                    is_zh,
                )
            )
        Contact.objects.bulk_create([contact for contact, _zh in rows])
        self.account_ids = [a.pk for a in accounts]
        self.chinese_account_ids = {
            a.pk for a, seed in zip(accounts, picked, strict=True) if seed.chinese
        }
        self.contact_ids = [c.pk for c, _zh in rows]
        self.summary.accounts, self.summary.contacts = len(accounts), len(rows)
        self.say(f"customers: {len(accounts)} accounts, {len(rows)} contacts")
        return accounts, rows

    # -- customer success -------------------------------------------------------------

    def customer_success(self, users: dict[str, User]) -> None:
        counts = seed_accounts_and_usage(
            rng=self.rng,
            now=self.now,
            account_ids=self.account_ids,
            users=users,
            chinese_account_ids=self.chinese_account_ids,
        )
        self.say(
            f"customer success: {counts['subscriptions']} subscriptions, "
            f"{counts['rollups']:,} daily usage rollups, {counts['touchpoints']} notes"
        )

    # -- tickets ----------------------------------------------------------------------

    def tickets(
        self,
        users: dict[str, User],
        teams: dict[str, Team],
        policy: SLAPolicy,
        clock: BusinessClock,
        features: dict[tuple[str, str], Feature],
        tags: dict[str, Tag],
        contacts: list[tuple[Contact, bool]],
    ) -> None:
        rng = self.rng
        agents_by_team: dict[int, list[Agent]] = {}
        for team_name, member_team in teams.items():
            members = [
                users[s.username]
                for s in names.STAFF
                if team_name in s.teams and s.role == Role.AGENT
            ]
            agents_by_team[member_team.pk] = [
                Agent(u.pk, u.display_name, u.language.startswith("zh"), u.is_away) for u in members
            ]
        cast = StoryCast(
            team_agents=agents_by_team,
            tier2_team_id=teams[names.TEAM_TIER2].pk,
            team_names={t.pk: t.name for t in teams.values()},
            targets={p: (f * 60, r * 60) for p, (f, r) in SLA_TARGET_MINUTES.items()},
        )
        zh_contacts = [c for c, zh in contacts if zh]
        en_contacts = [c for c, zh in contacts if not zh]
        topic_weights = [t.weight for t in TOPICS]
        priorities, priority_weights = list(PRIORITY_WEIGHTS), list(PRIORITY_WEIGHTS.values())
        channels, channel_weights = list(CHANNEL_WEIGHTS), list(CHANNEL_WEIGHTS.values())
        vip_accounts = {
            c.account_id for c, _zh in contacts[:: max(1, len(contacts) // 6)] if c.account_id
        }

        planned = []
        # A few urgent tickets arrived minutes ago and are still waiting for a reply, so
        # the SLA queue shows tickets at risk (during business hours) as well as breached.
        just_arrived = max(1, self.size.tickets // 600)
        for index in range(self.size.tickets):
            chinese = bool(zh_contacts) and rng.random() < CHINESE_SHARE
            requester = rng.choice(zh_contacts if chinese else en_contacts or zh_contacts)
            topic = rng.choices(TOPICS, weights=topic_weights)[0]
            created_at = self._arrival(chinese)
            urgent_now = index < just_arrived
            if urgent_now:
                created_at = self.now - timedelta(minutes=rng.uniform(8, 40))
            if topic.area == "billing":
                team: Team | None = teams[names.TEAM_BILLING]
            elif rng.random() < (0.4 if self.now - created_at < timedelta(days=3) else 0.12):
                # Arrived by email with no routing rule: triaged by hand (a recent surge
                # keeps the Unassigned queue from being empty in the demo).
                team = None
            else:
                team = teams[names.TEAM_SUPPORT]
            priority = rng.choices(priorities, weights=priority_weights)[0]
            if urgent_now:
                priority = Priority.URGENT
            first_name = requester.name if chinese else requester.name.split()[0]
            opening, steps = story_plan(
                rng,
                cast=cast,
                clock=clock,
                now=self.now,
                created_at=created_at,
                topic=topic,
                chinese=chinese,
                requester_id=requester.pk,
                requester_first_name=first_name,
                requester_email=requester.email,
                channel=rng.choices(channels, weights=channel_weights)[0],
                priority=priority,
                team_id=team.pk if team else None,
                auto_assign=team is not None,
                late_first_reply=urgent_now,
            )
            tag_names = set(topic.tags)
            if requester.account_id in vip_accounts:
                tag_names.add("vip")
            tag_names.update(rng.sample(names.GENERIC_TAGS, rng.choice([0, 0, 1, 1, 2])))
            planned.append((created_at, requester, topic, priority, opening, steps, tag_names))
        planned.sort(key=lambda row: row[0])

        start_number = (
            Sequence.objects.filter(name="ticket").values_list("value", flat=True).first() or 0
        )
        start_number = max(start_number, Ticket.objects.aggregate(m=Max("number"))["m"] or 0)
        tickets: list[Ticket] = []
        replays = []
        for offset, (created_at, requester, topic, priority, opening, steps, _tags) in enumerate(
            planned
        ):
            replay = story_replay(
                steps, now=self.now, clock=clock, targets=cast.targets, priority=priority
            )
            fields = dict(replay.fields)
            feature = features[(topic.area, topic.feature)]
            tickets.append(
                Ticket(
                    number=start_number + offset + 1,
                    subject=opening["subject"],
                    description=opening["description"],
                    priority=fields.pop("priority", priority),
                    type=topic.type,
                    channel=steps[0].events[0].new,
                    requester_id=requester.pk,
                    account_id=requester.account_id,
                    product_area_id=feature.product_area_id,
                    feature_id=feature.pk,
                    sla_policy_id=policy.pk,
                    created_at=created_at,
                    **fields,
                )
            )
            replays.append(replay)
        Ticket.objects.bulk_create(tickets, batch_size=500)
        Sequence.objects.update_or_create(
            name="ticket", defaults={"value": start_number + len(tickets)}
        )
        self.ticket_ids = [t.pk for t in tickets]
        self.say(f"tickets: {len(tickets)} (#{start_number + 1}–#{start_number + len(tickets)})")

        comments, events = [], []
        for ticket, replay in zip(tickets, replays, strict=True):
            for spec, at, version in replay.comments:
                comments.append(
                    Comment(
                        ticket_id=ticket.pk,
                        created_at=at,
                        author_user_id=spec.user_id,
                        author_contact_id=spec.contact_id,
                        public=spec.public,
                        body=spec.body,
                        channel=spec.channel,
                        ticket_version=version,
                    )
                )
            for event_spec, at, version in replay.events:
                events.append(
                    TicketEvent(
                        ticket_id=ticket.pk,
                        created_at=at,
                        actor_id=event_spec.actor_id,
                        actor_contact_id=event_spec.contact_id,
                        kind=event_spec.kind,
                        old_value=event_spec.old[:300],
                        new_value=event_spec.new[:300],
                        version=version,
                    )
                )
        Comment.objects.bulk_create(comments, batch_size=1000)
        TicketEvent.objects.bulk_create(events, batch_size=1000)
        through = Ticket.tags.through
        tag_links = [
            through(ticket_id=ticket.pk, tag_id=tags[name].pk)
            for ticket, row in zip(tickets, planned, strict=True)
            for name in sorted(row[6])
        ]
        through.objects.bulk_create(tag_links, batch_size=1000)
        self.summary.tickets, self.summary.comments, self.summary.events = (
            len(tickets),
            len(comments),
            len(events),
        )
        self.say(
            f"conversation: {len(comments)} comments, {len(events)} events, "
            f"{len(tag_links)} tag links"
        )

    def _arrival(self, chinese: bool) -> datetime:
        """When a customer writes: more recently (the business grows), mostly on
        weekdays during the customer's own working day."""
        rng = self.rng
        days_ago = HISTORY_DAYS * (rng.random() ** 1.25)
        day = (self.now - timedelta(days=days_ago)).date()
        if day.isoweekday() >= 6 and rng.random() < 0.7:
            day -= timedelta(days=day.isoweekday() - 5)
        # Working hours in UTC: China 01–10, Europe/Americas 08–22.
        hour = rng.uniform(0.5, 10.5) if chinese else rng.uniform(7.5, 22.0)
        moment = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)
        if moment >= self.now:
            moment = self.now - timedelta(minutes=rng.randint(5, 600))
        return moment

    # -- macros, saved views ---------------------------------------------------------

    def macros_and_views(
        self, users: dict[str, User], teams: dict[str, Team], areas: dict[str, ProductArea]
    ) -> None:
        shared, personal, views = macros_and_views_create(users, teams, areas)
        self.say(f"macros: {shared} shared, {personal} personal; saved views: {views}")

    # -- search -----------------------------------------------------------------------

    def index(self) -> None:
        """Index what was seeded, in bulk, after the rows are committed."""
        tickets = index_tickets_bulk(self.ticket_ids)
        contacts = index_contacts_bulk(self.contact_ids)
        accounts = index_accounts_bulk(self.account_ids)
        self.say(f"search index: {tickets} tickets, {contacts} contacts, {accounts} accounts")


def _holidays(year: int) -> list[tuple[date, str]]:
    """Public holidays the support team takes off, around the demo's six months."""
    days: list[tuple[date, str]] = []
    for y in (year - 1, year, year + 1):
        days += [
            (date(y, 1, 1), "New Year's Day"),
            (date(y, 5, 1), "Labour Day"),
            (date(y, 12, 25), "Christmas Day"),
        ]
        days += [(date(y, 10, d), "National Day") for d in range(1, 4)]
    return days
