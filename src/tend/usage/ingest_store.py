"""Storing read messages: events, daily rollups, last-seen, identities, drops.

``store_prepared`` stores several requests in one transaction (group commit): the
requests that queued up behind SQLite's single writer pay the transaction, the identity
lookups and the counting once per group instead of once per request.

The hot path is plain SQL with few statements, whatever the number of events:
- one query per new identify/group call to find replays (those change contacts and
  accounts before their row is inserted, so a replay must be known first);
- one JSON-aggregated query each to resolve new userIds and groupIds;
- multi-row ``INSERT … ON CONFLICT DO NOTHING`` for the events (a replayed messageId
  inserts nothing);
- the new activity counted into the daily rollups and last-seen.

Counting. The readers tally each request's activity by (day, userId, groupId, event)
while reading. When every row of a group was new, those tallies are the counts, and one
multi-row upsert writes them: no query reads the events back. A group with a replay in
it is counted from the events it actually inserted with ``INSERT … SELECT … GROUP BY``
(on PostgreSQL always so). Those events are found without reading them either: on
SQLite the writer holds the write lock for the whole transaction and event ids only grow
(AUTOINCREMENT), so they are the ids above the largest one before the insert; on
PostgreSQL the INSERT returns its ids.

The ingest writer on SQLite (``WriterState``) goes further under a steady stream: it
keeps the tallies of several transactions in memory and writes them at most every
TEND_INGEST_ROLLUP_EVERY_MS, and it remembers what userIds and groupIds resolved to for
as long. Each transaction records its id range in ``RollupBacklog`` with the writer's
name, so nothing is lost if the process stops first: a range its writer has not counted
within two minutes is counted from the events by anyone (``rollups_catch_up``, also a
job every five minutes).

Few statements matter on SQLite for a second reason: each one hands Python's GIL back
and forth, and the ingest writer shares it with the threads that serve HTTP.

Rollups and last-seen count what people do: track events by name, page and screen views
as "page" and "screen". identify, group and alias calls are stored but are not activity.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from tend.core.commit import after_commit
from tend.usage.events import events_ingested
from tend.usage.hot_cursor import HotCursor
from tend.usage.ingest_read import Prepared, time_adapter
from tend.usage.jsonfast import loads
from tend.usage.sync import (
    Touched,
    account_from_group,
    accounts_for_group_ids,
    contact_from_identify,
    contacts_for_user_ids,
)

LAST_USED_EVERY_SECONDS = 60.0
# Rows per multi-row INSERT (13 parameters each; SQLite allows 32,766). A remainder is
# cut into power-of-two chunks, so a handful of statement texts serve every batch size
# and stay in the driver's statement cache.
INSERT_CHUNK = 512
_ACTIVITY = "('track', 'page', 'screen')"


@dataclass
class Outcome:
    """What storing a group of requests did."""

    stored: int = 0
    replayed: int = 0
    drops: int = 0
    account_ids: list[int] = field(default_factory=list)


# write key id -> when last_used_at was last written by this process (monotonic)
_last_used: dict[int, float] = {}
# A writer's backlog range not counted after this long is counted from the events.
STALE_BACKLOG_SECONDS = 120

# (day, account, contact, event) -> [count, first time, last time]
Counts = dict[tuple[Any, int | None, int | None, str], list[Any]]


@dataclass
class Tallies:
    """Activity counted in memory, not yet written, and the backlog rows it covers."""

    rollups: Counts = field(default_factory=dict)
    contact_seen: dict[int, Any] = field(default_factory=dict)
    account_seen: dict[int, Any] = field(default_factory=dict)
    backlog_ids: list[int] = field(default_factory=list)

    def count(self, key: tuple[Any, int | None, int | None, str], total: list[Any]) -> None:
        """Add [count, first time, last time] under key."""
        mine = self.rollups.get(key)
        if mine is None:
            self.rollups[key] = list(total)
        else:
            mine[0] += total[0]
            mine[1] = min(mine[1], total[1])
            mine[2] = max(mine[2], total[2])

    def seen(self, contact_id: int | None, account_id: int | None, when: Any) -> None:
        if contact_id is not None and self.contact_seen.get(contact_id, "") < when:
            self.contact_seen[contact_id] = when
        if account_id is not None and self.account_seen.get(account_id, "") < when:
            self.account_seen[account_id] = when

    def add(self, other: Tallies) -> None:
        for key, total in other.rollups.items():
            self.count(key, total)
        for contact_id, when in other.contact_seen.items():
            self.seen(contact_id, None, when)
        for account_id, when in other.account_seen.items():
            self.seen(None, account_id, when)
        self.backlog_ids += other.backlog_ids


@dataclass
class WriterState:
    """What one long-lived ingest writer (SQLite) keeps between its transactions."""

    name: str
    remember_seconds: float = 1.0
    pending: Tallies = field(default_factory=Tallies)
    users: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    known_until: float = 0.0

    def known(self, touched: Touched) -> None:
        """Start a transaction's lookups from what this writer resolved lately."""
        if time.monotonic() > self.known_until:
            self.users, self.groups = {}, {}
            self.known_until = time.monotonic() + self.remember_seconds
        touched.users.update(self.users)
        touched.groups.update(self.groups)

    def committed(self, touched: Touched, counted: Tallies | None, deferred: Tallies) -> None:
        # Only after a commit: a rolled-back transaction's stub contacts do not exist.
        self.users, self.groups = touched.users, touched.groups
        if counted is not None:
            self.pending = Tallies()
        self.pending.add(deferred)


def store_prepared(
    items: Sequence[Prepared],
    *,
    count_now: bool = True,
    writer: WriterState | None = None,
    again: bool = False,
) -> Outcome:
    """Store the requests' rows in one transaction; the items are left unchanged, so a
    failed group can be stored again request by request.

    A ``writer`` (SQLite's ingest writer) may defer counting: ``count_now=False`` keeps
    this group's tallies in its memory (see the module docstring). ``again``: the
    requests may have been stored before (the ingest journal's recovery), so a drop
    already recorded for the same request is not recorded twice; events never are. The
    events_ingested signal and the search re-index of contacts and accounts made follow
    the commit."""
    with _ingest_lock(), transaction.atomic():
        outcome, touched, counted, deferred = _store(items, count_now, writer, again)
    if writer is not None:
        writer.committed(touched, counted, deferred)
    touched.reindex_after_commit()
    _signal_after_commit(outcome.account_ids)
    return outcome


def rollups_catch_up(writer: WriterState | None = None) -> list[int]:
    """Write a writer's counts kept in memory, and count backlog ranges nobody will
    (no writer, or one stopped); return the accounts that had activity."""
    if connection.vendor == "postgresql":
        return []  # PostgreSQL counts in the storing transaction and keeps no backlog
    with _ingest_lock(), transaction.atomic(), HotCursor() as cursor:
        account_ids: set[int] = set()
        if writer is not None and writer.pending.backlog_ids:
            account_ids.update(_write_tallies(cursor, writer.pending))
        account_ids.update(_count_backlog(cursor, time_adapter()))
    if writer is not None:
        writer.pending = Tallies()
    found = sorted(account_ids)
    _signal_after_commit(found)
    return found


_lock_fds: dict[str, int] = {}


@contextmanager
def file_lock(path: str) -> Iterator[None]:
    """An exclusive lock shared by every process that opens ``path`` (flock)."""
    fd = _lock_fds.get(path)
    if fd is None:
        fd = _lock_fds[path] = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)


@contextmanager
def _ingest_lock() -> Iterator[None]:
    """Take turns with the other server processes before asking SQLite for its write
    lock. SQLite's own wait (the busy timeout) sleeps 1, 2, 5, 10… ms between tries;
    a file lock wakes the next writer the moment the last one is done, so several
    `tend web` workers share one database file without idling (bench/usage_ingest.py:
    45,000–64,000 events/s with two workers, 39,000–50,000 with one)."""
    database = sqlite_file()
    if database is None:
        yield
        return
    with file_lock(database + "-ingest-lock"):
        yield


def sqlite_file() -> str | None:
    """The SQLite database file (the ingest lock and journal sit next to it); None on
    PostgreSQL and for an in-memory SQLite."""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():  # type: ignore[attr-defined]
        return None
    return str(connection.settings_dict["NAME"])


def _signal_after_commit(account_ids: list[int]) -> None:
    if account_ids:
        after_commit(lambda: events_ingested.send(sender=Outcome, account_ids=account_ids))


def _chunks(total: int) -> list[int]:
    sizes = [INSERT_CHUNK] * (total // INSERT_CHUNK)
    rest = total % INSERT_CHUNK
    size = INSERT_CHUNK
    while rest:
        size //= 2
        if rest >= size:
            sizes.append(size)
            rest -= size
    return sizes


def _existing_ids(cursor: HotCursor, write_key_id: int, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), INSERT_CHUNK):
        chunk = ids[start : start + INSERT_CHUNK]
        marks = ",".join(["%s"] * len(chunk))
        cursor.execute(
            "SELECT message_id FROM usage_event WHERE write_key_id = %s "  # noqa: S608 (placeholders only)
            f"AND message_id IN ({marks})",
            [write_key_id, *chunk],
        )
        found.update(row[0] for row in cursor.fetchall())
    return found


def _apply_syncs(cursor: HotCursor, items: Sequence[Prepared], touched: Touched) -> None:
    """Apply the identify and group calls that are not replays, in order (their rows are
    inserted with the others; a replay's insert does nothing)."""
    taken: set[tuple[int, str]] = set()
    for item in items:
        if not item.syncs:
            continue
        key = item.write_key_id
        existing = _existing_ids(cursor, key, [m.message_id for m in item.syncs])
        for message in item.syncs:
            if message.message_id in existing or (key, message.message_id) in taken:
                continue
            taken.add((key, message.message_id))
            if message.type == "identify":
                if message.user_id or message.properties.get("email"):
                    contact_from_identify(
                        user_id=message.user_id, traits=message.properties, touched=touched
                    )
            else:
                account_from_group(
                    group_id=message.group_id,
                    traits=message.properties,
                    user_id=message.user_id,
                    touched=touched,
                )


def _store(
    items: Sequence[Prepared], count_now: bool, writer: WriterState | None, again: bool = False
) -> tuple[Outcome, Touched, Tallies | None, Tallies]:
    """Returns what storing did, the contacts/accounts touched, and for a writer the
    tallies written now (None: nothing written) and those left for later."""
    adapt = time_adapter()
    postgres = connection.vendor == "postgresql"
    outcome = Outcome(replayed=sum(item.replayed for item in items))
    touched = Touched()
    counted: Tallies | None = None
    deferred = Tallies()
    if writer is not None and not postgres:
        writer.known(touched)
    with HotCursor() as cursor:
        # identify and group first: the other calls of the same group then find the
        # contact and account they make.
        if any(item.syncs for item in items):
            _apply_syncs(cursor, items, touched)
        contacts_for_user_ids((row[3] for item in items for row in item.rows), touched)
        accounts_for_group_ids((row[5] for item in items for row in item.rows), touched)
        users, groups = touched.users, touched.groups
        nobody = (None, None)
        params: list[Any] = []
        for item in items:
            key = item.write_key_id
            received = adapt(item.received)
            for (
                message_id,
                kind,
                name,
                user_id,
                anonymous_id,
                group_id,
                when,
                props,
                ctx,
            ) in item.rows:
                contact_id, account_id = users.get(user_id, nobody) if user_id else nobody
                if group_id:
                    account_id = groups.get(group_id, account_id)
                params += (
                    key,
                    message_id,
                    kind,
                    name,
                    user_id,
                    anonymous_id,
                    group_id,
                    account_id,
                    contact_id,
                    when,
                    received,
                    props,
                    ctx,
                )
        total = len(params) // 13
        new_ids: list[int] = []
        first_new = 0  # SQLite: the first id the insert can take
        if total:
            if not postgres:
                cursor.execute("SELECT COALESCE(MAX(id), 0) FROM usage_event")
                first_new = cursor.fetchall()[0][0] + 1
            stored = _insert_events(cursor, params, total, new_ids, postgres)
            outcome.stored = stored
            outcome.replayed += total - stored
            if postgres:
                if new_ids:
                    outcome.account_ids = _count_activity(
                        cursor, "usage_event e WHERE e.id = ANY(%s)", [new_ids], postgres
                    )
            elif stored:
                outcome.account_ids, counted, deferred = _count_new(
                    cursor, items, touched, stored == total, first_new, count_now, writer, adapt
                )
        drops = [
            (item.write_key_id, adapt(item.received), *drop)
            for item in items
            for drop in item.drops
        ]
        if again and drops:
            drops = _drops_not_recorded(cursor, drops)
        outcome.drops = len(drops)
        if drops:
            cursor.executemany(
                "INSERT INTO usage_ingestdrop (write_key_id, received_at, reason, message_id, "
                "detail, excerpt) VALUES (%s, %s, %s, %s, %s, %s)",
                drops,
            )
        _note_keys_used(cursor, items, adapt)
    return outcome, touched, counted, deferred


def _drops_not_recorded(cursor: HotCursor, drops: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The drops no earlier storing of the same requests recorded: a request read again
    gives the same key, time received, reason, message id and detail."""
    fresh = []
    for drop in drops:
        cursor.execute(
            "SELECT 1 FROM usage_ingestdrop WHERE write_key_id = %s AND received_at = %s "
            "AND reason = %s AND message_id = %s AND detail = %s",
            list(drop[:5]),
        )
        if not cursor.fetchall():
            fresh.append(drop)
    return fresh


def _count_new(
    cursor: HotCursor,
    items: Sequence[Prepared],
    touched: Touched,
    all_new: bool,
    first_new: int,
    count_now: bool,
    writer: WriterState | None,
    adapt: Any,
) -> tuple[list[int], Tallies | None, Tallies]:
    """Count a SQLite transaction's new events (ids from first_new): from the readers'
    tallies when every row was new, else from the events. See store_prepared."""
    if writer is None:
        if all_new:
            return sorted(_write_tallies(cursor, _placed(items, touched, adapt))), None, Tallies()
        # Only this transaction writes events (it holds SQLite's write lock) and ids
        # only grow: the new events are the ids from first_new on.
        found = _count_activity(cursor, "usage_event e WHERE e.id >= %s", [first_new], False)
        return found, None, Tallies()
    cursor.execute(
        "INSERT INTO usage_rollupbacklog (first_event_id, last_event_id, writer, created_at) "
        "SELECT %s, MAX(id), %s, %s FROM usage_event",
        [first_new, writer.name if all_new else "", adapt(timezone.now())],
    )
    group = _placed(items, touched, adapt) if all_new else Tallies()
    if all_new:
        group.backlog_ids.append(cursor.lastrowid)
    if not count_now:
        return [], None, group
    both = Tallies()
    both.add(writer.pending)
    both.add(group)
    account_ids = _write_tallies(cursor, both)
    # A group with a replay, and ranges whose writer stopped: counted from the events.
    account_ids.update(_count_backlog(cursor, adapt))
    return sorted(account_ids), both, Tallies()


def _placed(items: Sequence[Prepared], touched: Touched, adapt: Any) -> Tallies:
    """The readers' tallies by account and contact, and last-seen from them."""
    users, groups = touched.users, touched.groups
    nobody = (None, None)
    tallies = Tallies()
    for item in items:
        received = adapt(item.received)
        for (day, user_id, group_id, event), total in item.activity.items():
            contact_id, account_id = users.get(user_id, nobody) if user_id else nobody
            if group_id:
                account_id = groups.get(group_id, account_id)
            tallies.count((day, account_id, contact_id, event), total)
            # Last seen never moves past the time received (see _count_activity).
            last = total[2]
            tallies.seen(contact_id, account_id, last if last < received else received)
    return tallies


def _write_tallies(cursor: HotCursor, tallies: Tallies) -> set[int]:
    """Write counts kept in memory (SQLite) and remove the backlog ranges they cover;
    return their accounts. If another process already counted some of those ranges
    from the events (it thought this writer had stopped), the rest are counted from the
    events too, and the memory is not used."""
    ids = tallies.backlog_ids
    if ids:
        marks = ",".join(["%s"] * len(ids))
        cursor.execute(
            f"SELECT COUNT(*) FROM usage_rollupbacklog WHERE id IN ({marks})",  # noqa: S608
            ids,
        )
        if cursor.fetchall()[0][0] != len(ids):
            return set(_count_backlog(cursor, None, ids))
        cursor.execute(f"DELETE FROM usage_rollupbacklog WHERE id IN ({marks})", ids)  # noqa: S608
    rows = [(*key, *value) for key, value in tallies.rollups.items()]
    table = "usage_dailyrollup"
    start = 0
    for size in _chunks(len(rows)):
        chunk = rows[start : start + size]
        start += size
        cursor.execute(
            f"INSERT INTO {table} (day, account_id, contact_id, event, count, first_at, "  # noqa: S608
            "last_at) VALUES "
            + ",".join(["(%s,%s,%s,%s,%s,%s,%s)"] * size)
            + " ON CONFLICT (day, COALESCE(account_id, 0), COALESCE(contact_id, 0), event) "
            f"DO UPDATE SET count = {table}.count + excluded.count, "
            f"first_at = MIN({table}.first_at, excluded.first_at), "
            f"last_at = MAX({table}.last_at, excluded.last_at)",
            [value for row in chunk for value in row],
        )
    for table, seen in (
        ("crm_contact", tallies.contact_seen),
        ("crm_account", tallies.account_seen),
    ):
        pairs = list(seen.items())
        start = 0
        for size in _chunks(len(pairs)):
            chunk = pairs[start : start + size]
            start += size
            cursor.execute(
                f"UPDATE {table} SET last_seen_at = seen.column2 FROM (VALUES "  # noqa: S608
                + ",".join(["(%s,%s)"] * size)
                + f") AS seen WHERE {table}.id = seen.column1 AND "
                f"({table}.last_seen_at IS NULL OR {table}.last_seen_at < seen.column2)",
                [value for pair in chunk for value in pair],
            )
    return {account for _day, account, _contact, _event in tallies.rollups if account}


def _insert_events(
    cursor: HotCursor, params: list[Any], total: int, new_ids: list[int], postgres: bool
) -> int:
    """Insert the event rows (13 values each); return how many were new."""
    json_mark = "%s::jsonb" if postgres else "%s"
    row_marks = f"(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,{json_mark},{json_mark})"
    stored = 0
    start = 0
    for size in _chunks(total):
        cursor.execute(
            "INSERT INTO usage_event (write_key_id, message_id, type, name, user_id, "  # noqa: S608 (placeholders only)
            "anonymous_id, group_id, account_id, contact_id, timestamp, received_at, "
            "properties, context) VALUES "
            + ",".join([row_marks] * size)
            + " ON CONFLICT (write_key_id, message_id) DO NOTHING"
            + (" RETURNING id" if postgres else ""),
            params[start * 13 : (start + size) * 13],
        )
        start += size
        if postgres:
            ids = [row[0] for row in cursor.fetchall()]
            new_ids += ids
            stored += len(ids)
        else:
            stored += cursor.rowcount
    return stored


def _count_backlog(cursor: HotCursor, adapt: Any, ids: list[int] | None = None) -> list[int]:
    """Count backlog ranges from the events (SQLite) and remove them: the ``ids`` given,
    else those without a writer and those whose writer has not counted them in
    STALE_BACKLOG_SECONDS."""
    if ids is None:
        stale = timezone.now() - timedelta(seconds=STALE_BACKLOG_SECONDS)
        cursor.execute(
            "SELECT json_group_array(id) FROM usage_rollupbacklog "
            "WHERE writer = '' OR created_at < %s",
            [adapt(stale)],
        )
    else:
        marks = ",".join(["%s"] * len(ids))
        cursor.execute(
            f"SELECT json_group_array(id) FROM usage_rollupbacklog WHERE id IN ({marks})",  # noqa: S608
            ids,
        )
    found: list[int] = loads(cursor.fetchall()[0][0])
    if not found:
        return []
    marks = ",".join(["%s"] * len(found))
    account_ids = _count_activity(
        cursor,
        "usage_rollupbacklog b JOIN usage_event e "
        f"ON e.id BETWEEN b.first_event_id AND b.last_event_id WHERE b.id IN ({marks})",
        found,
        postgres=False,
    )
    cursor.execute(f"DELETE FROM usage_rollupbacklog WHERE id IN ({marks})", found)  # noqa: S608
    return account_ids


def _count_activity(cursor: HotCursor, source: str, params: list[Any], postgres: bool) -> list[int]:
    """Count the events ``source`` picks (``FROM`` and a ``WHERE`` naming the events
    ``e``) into the daily rollups and last-seen; return the accounts they belong to."""
    if postgres:
        day, least, greatest = "(e.timestamp AT TIME ZONE 'UTC')::date", "LEAST", "GREATEST"
        accounts = "string_agg(DISTINCT e.account_id::text, ',')"
    else:
        # Django keeps SQLite datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' text, which
        # sorts as time does; the day is its first ten characters.
        day, least, greatest = "substr(e.timestamp, 1, 10)", "MIN", "MAX"
        accounts = "group_concat(DISTINCT e.account_id)"
    rollup = "usage_dailyrollup"
    cursor.execute(
        f"INSERT INTO {rollup} (day, account_id, contact_id, event, count, first_at, last_at) "  # noqa: S608
        f"SELECT {day}, e.account_id, e.contact_id, "
        "CASE e.type WHEN 'track' THEN e.name ELSE e.type END, COUNT(*), MIN(e.timestamp), "
        f"MAX(e.timestamp) FROM {source} AND e.type IN {_ACTIVITY} "
        "GROUP BY 1, 2, 3, 4 "
        "ON CONFLICT (day, COALESCE(account_id, 0), COALESCE(contact_id, 0), event) "
        f"DO UPDATE SET count = {rollup}.count + excluded.count, "
        f"first_at = {least}({rollup}.first_at, excluded.first_at), "
        f"last_at = {greatest}({rollup}.last_at, excluded.last_at)",
        params,
    )
    # Last seen never moves past the time received: a clock a few hours ahead is
    # tolerated, but "seen tomorrow" would read as a mistake.
    for table, column in (("crm_contact", "contact_id"), ("crm_account", "account_id")):
        cursor.execute(
            f"UPDATE {table} SET last_seen_at = seen.seen_at FROM ("  # noqa: S608
            f"SELECT e.{column} AS pk, MAX({least}(e.timestamp, e.received_at)) AS seen_at "
            f"FROM {source} AND e.type IN {_ACTIVITY} "
            f"AND e.{column} IS NOT NULL GROUP BY e.{column}) AS seen "
            f"WHERE {table}.id = seen.pk "
            f"AND ({table}.last_seen_at IS NULL OR {table}.last_seen_at < seen.seen_at)",
            params,
        )
    cursor.execute(
        f"SELECT {accounts} FROM {source} AND e.account_id IS NOT NULL",  # noqa: S608
        params,
    )
    joined = cursor.fetchall()[0][0]
    return sorted(int(pk) for pk in str(joined).split(",")) if joined else []


def _note_keys_used(cursor: HotCursor, items: Sequence[Prepared], adapt: Any) -> None:
    now = time.monotonic()
    for key in sorted({item.write_key_id for item in items}):
        if now - _last_used.get(key, -LAST_USED_EVERY_SECONDS) >= LAST_USED_EVERY_SECONDS:
            _last_used[key] = now
            # Plain SQL: a model save would make every process's key cache forget.
            cursor.execute(
                "UPDATE usage_writekey SET last_used_at = %s WHERE id = %s",
                [adapt(max(i.received for i in items if i.write_key_id == key)), key],
            )
