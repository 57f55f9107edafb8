"""Fill a fresh Tend SQLite database with N tickets, 3 comments each, fast.

Rows go in with plain ``executemany`` on the raw SQLite connection, but every column
list comes from the models' own metadata, so the data always matches the schema the
migrations built. Unset columns get the model field's default. Half of the text is
Chinese (from tend.demo.texts), and two marker words are planted in about one ticket
in ten thousand so searches for rare terms have a known answer.

Runs inside a configured Django (bench/run.py sets it up).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, models

RARE_EN = "xylophone"
RARE_ZH = "琵琶"
RARE_EVERY = 10_000  # one Chinese and one English ticket in this many carry a rare word
OPEN_SHARE = 0.03  # the newest 3% are still unresolved
HISTORY_DAYS = 3 * 365
BATCH = 20_000
CONTACTS_PER_TICKET = 20  # 1M tickets -> 50k contacts
ACCOUNTS = 1_000
AGENTS_PER_TEAM = 10
BENCH_AGENT = "bench_agent"
BENCH_MANAGER = "bench_manager"
BENCH_FEW = "bench_newcomer"  # assigned only a handful of tickets (query-count check)

Say = Callable[[str], None]


def _dt(value: datetime) -> str:
    # How Django stores an aware datetime in SQLite: naive UTC text.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ")


class _Table:
    """Column order, defaults and an executemany for one model."""

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in self.fields]
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        template: list[Any] = []
        for f in self.fields:
            default = f.get_default() if f.has_default() else None
            if (
                default is None
                and not f.null
                and isinstance(f, (models.CharField, models.TextField))
            ):
                default = ""
            if isinstance(default, bool):
                default = int(default)
            if isinstance(default, (dict, list)):
                import json

                default = json.dumps(default)
            template.append(default)
        self.template = template
        names = ", ".join(f'"{c}"' for c in self.columns)
        marks = ", ".join("?" for _ in self.columns)
        self.sql = f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({marks})'

    def row(self, **values: Any) -> list[Any]:
        row = list(self.template)
        for name, value in values.items():
            row[self.index[name]] = value
        return row

    def positions(self, *names: str) -> list[int]:
        return [self.index[n] for n in names]


def _text_pools(rng: random.Random, size: int) -> dict[bool, dict[str, list[str]]]:
    """Ready-made filled texts per language and slot; picking from a pool is much
    faster than formatting millions of templates."""
    from tend.demo.names import FIRST_NAMES, ZH_GIVEN_NAMES, ZH_SURNAMES
    from tend.demo.texts import TOPICS, fill_values

    pools: dict[bool, dict[str, list[str]]] = {}
    for chinese in (False, True):
        slots: dict[str, list[str]] = {
            k: [] for k in ("subject", "description", "reply", "followup", "note")
        }
        for _ in range(size):
            topic = rng.choice(TOPICS)
            conv = topic.zh if chinese else topic.en
            name = (
                (rng.choice(ZH_SURNAMES)[0] + rng.choice(ZH_GIVEN_NAMES)[0])
                if chinese
                else rng.choice(FIRST_NAMES)
            )
            values = fill_values(rng, chinese=chinese, first_name=name, email="x@example.com")
            slots["subject"].append(rng.choice(conv.subjects).format(**values))
            slots["description"].append(rng.choice(conv.descriptions).format(**values))
            slots["reply"].append(rng.choice(conv.replies).format(**values))
            slots["followup"].append(rng.choice(conv.followups).format(**values))
            slots["note"].append(rng.choice(conv.notes).format(**values))
        pools[chinese] = slots
    return pools


def _batches(rows: Iterator[list[Any]], size: int) -> Iterator[list[list[Any]]]:
    batch: list[list[Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(
    raw: Any, table: _Table, rows: Iterator[list[Any]], say: Say, label: str, total: int
) -> None:
    started = time.monotonic()
    done = 0
    for batch in _batches(rows, BATCH):
        # Django keeps the raw connection in autocommit; one transaction per batch
        # instead of one per row is what makes this fast.
        raw.execute("BEGIN")
        raw.executemany(table.sql, batch)
        raw.execute("COMMIT")
        done += len(batch)
        if done % (BATCH * 25) == 0 or done == total:
            say(f"  {label}: {done:,}/{total:,} ({time.monotonic() - started:.0f}s)")


def generate(n_tickets: int, *, say: Say, seed: int = 1) -> dict[str, Any]:
    """Write the whole data set; returns facts the measurements need."""
    from tend.core.models import User
    from tend.core.roles import Role, assign_role
    from tend.crm.models import Account, AccountDomain, Contact
    from tend.desk.models import (
        Comment,
        EventKind,
        Feature,
        ProductArea,
        SLAPolicy,
        Tag,
        Team,
        Ticket,
        TicketEvent,
    )

    rng = random.Random(seed)
    now = datetime.now(UTC).replace(microsecond=0)
    say(f"staff, teams, product map ({n_tickets:,} tickets to generate)")
    teams = [
        Team.objects.create(name=name, assignment="round_robin")
        for name in ("Support", "Billing", "Tier 2")
    ]
    agents: list[User] = []
    for team in teams:
        for i in range(AGENTS_PER_TEAM):
            user = User.objects.create(
                username=f"{team.name.lower().replace(' ', '')}{i}",
                first_name=f"Agent {i}",
                last_name=team.name,
            )
            assign_role(user, Role.AGENT)
            team.members.add(user)
            agents.append(user)
    bench_agent = User.objects.create(username=BENCH_AGENT, first_name="Bench", last_name="Agent")
    assign_role(bench_agent, Role.AGENT)
    teams[0].members.add(bench_agent)
    agents.append(bench_agent)
    newcomer = User.objects.create(username=BENCH_FEW, first_name="New", last_name="Comer")
    assign_role(newcomer, Role.AGENT)
    manager = User.objects.create(username=BENCH_MANAGER, first_name="Bench", last_name="Manager")
    assign_role(manager, Role.MANAGER)
    areas = [ProductArea.objects.create(name=f"Area {i}", slug=f"area-{i}") for i in range(7)]
    features = [
        Feature.objects.create(product_area=a, name=f"Feature {a.pk}.{j}", slug=f"feature-{j}")
        for a in areas
        for j in range(3)
    ]
    tags = [Tag.objects.create(name=f"tag{i}") for i in range(30)]
    from tend.core.business_hours import business_calendar_create

    calendar = business_calendar_create(
        name="Bench hours",
        time_zone="UTC",
        weekly_hours={str(d): [["08:00", "20:00"]] for d in range(1, 6)},
    )
    policy = SLAPolicy.objects.create(name="Bench SLA", calendar=calendar, is_default=True)

    raw = connection.connection
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA synchronous=OFF")

    # Accounts and contacts.
    account_t, domain_t, contact_t = _Table(Account), _Table(AccountDomain), _Table(Contact)
    created = _dt(now - timedelta(days=HISTORY_DAYS + 30))
    raw.execute("BEGIN")
    raw.executemany(
        account_t.sql,
        [
            account_t.row(id=i, name=f"Customer {i}", created_at=created, updated_at=created)
            for i in range(1, ACCOUNTS + 1)
        ],
    )
    raw.executemany(
        domain_t.sql,
        [
            domain_t.row(id=i, account_id=i, domain=f"customer{i}.example")
            for i in range(1, ACCOUNTS + 1)
        ],
    )
    n_contacts = max(100, n_tickets // CONTACTS_PER_TICKET)
    contact_account = [0] + [rng.randint(1, ACCOUNTS) for _ in range(n_contacts)]
    raw.executemany(
        contact_t.sql,
        [
            contact_t.row(
                id=i,
                name=f"Person {i}",
                email=f"person{i}@customer{contact_account[i]}.example",
                account_id=contact_account[i],
                created_at=created,
                updated_at=created,
            )
            for i in range(1, n_contacts + 1)
        ],
    )
    raw.execute("COMMIT")
    say(f"  {ACCOUNTS:,} accounts, {n_contacts:,} contacts")

    pools = _text_pools(rng, 4000)
    ticket_t, comment_t, event_t = _Table(Ticket), _Table(Comment), _Table(TicketEvent)
    tag_link_sql = 'INSERT INTO "desk_ticket_tags" ("ticket_id", "tag_id") VALUES (?, ?)'
    agent_ids = [a.pk for a in agents]
    team_ids = [t.pk for t in teams]
    feature_rows = [(f.pk, f.product_area_id) for f in features]
    start = now - timedelta(days=HISTORY_DAYS)
    step = (HISTORY_DAYS * 86400) / n_tickets
    open_from = int(n_tickets * (1 - OPEN_SHARE))
    priorities = ["low", "normal", "normal", "normal", "high", "urgent"]
    channels = ["email", "email", "web", "web", "chat", "api"]
    ticket_times: list[datetime] = [start] * (n_tickets + 1)
    ticket_zh = bytearray(n_tickets + 1)
    ticket_requester = [0] * (n_tickets + 1)
    ticket_assignee = [0] * (n_tickets + 1)
    rare_ids: list[int] = []

    def ticket_rows() -> Iterator[list[Any]]:
        r = rng
        for i in range(1, n_tickets + 1):
            chinese = i % 2 == 0
            slots = pools[chinese]
            created_at = start + timedelta(seconds=i * step + r.uniform(0, step))
            updated_at = created_at + timedelta(hours=r.uniform(0.5, 72))
            if updated_at > now:
                updated_at = now
            requester = r.randint(1, n_contacts)
            description = r.choice(slots["description"])
            order_ref = f"ORD-{r.randint(100000, 999999)}"
            description += f" 订单号 {order_ref}。" if chinese else f" Order reference {order_ref}."
            # Two neighbours (one Chinese, one English) of every RARE_EVERY tickets.
            if i % RARE_EVERY in (RARE_EVERY // 2, RARE_EVERY // 2 + 1):
                description += (
                    f" 另外{RARE_ZH}项目也受影响。"
                    if chinese
                    else f" PS: the {RARE_EN} rollout is affected too."
                )
                rare_ids.append(i)
            if i >= open_from:
                status = r.choice(["new", "open", "open", "open", "pending", "on_hold"])
            else:
                status = "closed" if r.random() < 0.97 else "solved"
            team = r.choice(team_ids) if r.random() < 0.9 else None
            assignee = None if status == "new" else r.choice(agent_ids)
            if status == "new" and r.random() < 0.5 and team is not None:
                assignee = r.choice(agent_ids)
            feature_id, area_id = r.choice(feature_rows)
            priority = r.choice(priorities)
            solved = updated_at if status in ("solved", "closed") else None
            # As tend.desk.sla keeps them: a due time only while its clock runs (first
            # response until it is given, resolution while new/open), so the SLA queue's
            # filter on due times stays selective however many tickets are closed.
            responded = None if status == "new" else created_at + timedelta(hours=2)
            running = status in ("new", "open")
            first_due = created_at + timedelta(hours=8) if responded is None else None
            resolution_due = created_at + timedelta(days=3) if running else None
            ticket_times[i] = created_at
            ticket_zh[i] = chinese
            ticket_requester[i] = requester
            ticket_assignee[i] = assignee or 0
            yield ticket_t.row(
                id=i,
                number=i,
                subject=r.choice(slots["subject"]),
                description=description,
                status=status,
                priority=priority,
                type="question",
                channel=r.choice(channels),
                requester_id=requester,
                account_id=contact_account[requester],
                assignee_id=assignee,
                team_id=team,
                product_area_id=area_id,
                feature_id=feature_id,
                version=4,
                created_at=_dt(created_at),
                updated_at=_dt(updated_at),
                last_activity_at=_dt(updated_at),
                solved_at=_dt(solved) if solved else None,
                closed_at=_dt(solved + timedelta(days=4)) if status == "closed" else None,
                sla_policy_id=policy.pk,
                first_responded_at=_dt(responded) if responded else None,
                first_response_due_at=_dt(first_due) if first_due else None,
                resolution_due_at=_dt(resolution_due) if resolution_due else None,
                first_response_breached=int(r.random() < 0.08),
                resolution_breached=int(r.random() < 0.12),
                sla_clock_started_at=_dt(created_at) if running else None,
            )

    _insert(raw, ticket_t, ticket_rows(), say, "tickets", n_tickets)

    def comment_rows() -> Iterator[list[Any]]:
        r = rng
        cid = 0
        for i in range(1, n_tickets + 1):
            slots = pools[bool(ticket_zh[i])]
            t0 = ticket_times[i]
            agent = ticket_assignee[i] or agent_ids[i % len(agent_ids)]
            for k, (slot, public, by_agent) in enumerate(
                (("reply", 1, True), ("followup", 1, False), ("note", 0, True))
            ):
                cid += 1
                yield comment_t.row(
                    id=cid,
                    ticket_id=i,
                    created_at=_dt(t0 + timedelta(minutes=30 * (k + 1))),
                    author_user_id=agent if by_agent else None,
                    author_contact_id=None if by_agent else ticket_requester[i],
                    public=public,
                    body=r.choice(slots[slot]),
                    channel="web",
                    ticket_version=k + 2,
                )

    _insert(raw, comment_t, comment_rows(), say, "comments", 3 * n_tickets)

    def event_rows() -> Iterator[list[Any]]:
        for i in range(1, n_tickets + 1):
            yield event_t.row(
                id=i,
                ticket_id=i,
                created_at=_dt(ticket_times[i]),
                actor_contact_id=ticket_requester[i],
                kind=EventKind.CREATED,
                new_value="email",
                version=1,
            )

    _insert(raw, event_t, event_rows(), say, "events", n_tickets)
    tag_ids = [t.pk for t in tags]
    raw.execute("BEGIN")
    raw.executemany(tag_link_sql, ((i, rng.choice(tag_ids)) for i in range(1, n_tickets + 1, 2)))
    # The newcomer has exactly three open tickets: the "few rows" side of the query-count check.
    raw.execute(
        f'UPDATE "desk_ticket" SET assignee_id = ?, status = ? WHERE id IN '
        f"({','.join(str(i) for i in range(n_tickets, n_tickets - 3, -1))})",
        (newcomer.pk, "open"),
    )
    raw.execute(
        "INSERT OR REPLACE INTO core_sequence (name, value) VALUES (?, ?)", ("ticket", n_tickets)
    )
    raw.execute("COMMIT")
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("ANALYZE")
    return {"tickets": n_tickets, "contacts": n_contacts, "rare_ticket_ids": rare_ids}


def index_all(say: Say) -> dict[str, int]:
    """Build the search index through the search module's own bulk rebuild."""
    from tend.core.search import search_rebuild

    last = [0.0]
    started = time.monotonic()

    def progress(kind: str, done: int, total: int) -> None:
        if time.monotonic() - last[0] > 15 or done == total:
            last[0] = time.monotonic()
            say(f"  index {kind}: {done:,}/{total:,} ({time.monotonic() - started:.0f}s)")

    counts = search_rebuild(progress)
    connection.connection.execute("ANALYZE")
    return counts
