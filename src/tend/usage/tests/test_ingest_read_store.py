"""The batch reader against the general one, and counting kept in a writer's memory."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from django.db import connection
from django.test import TestCase
from django.utils import timezone

from tend.crm.models import Account, Contact
from tend.usage.events import events_ingested
from tend.usage.ingest_read import Prepared, read_messages, read_raw_messages
from tend.usage.ingest_store import (
    STALE_BACKLOG_SECONDS,
    WriterState,
    rollups_catch_up,
    store_prepared,
)
from tend.usage.models import DailyRollup, Event, RollupBacklog, WriteKey
from tend.usage.services import writekey_create

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def track(message_id: str, user: str = "u1", **extra: Any) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Report Built",
        "userId": user,
        "messageId": message_id,
        "timestamp": iso(NOW - timedelta(minutes=5)),
        "properties": {"plan": "team", "n": 1},
        "context": {"groupId": "acme", "library": {"name": "analytics-python"}},
        **extra,
    }


# Common messages and every kind the batch reader hands to read_message.
BATCH: list[Any] = [
    track("t1"),
    track("t2", user="u2", properties={"n": 2.5, "nested": {"a": [1, "二"]}}),
    track("t3", context=None),
    track("t4", properties=None),
    {**track("t5"), "context": {"library": {"name": "x"}}},
    {**track("t6"), "event": "  Padded  "},
    {**track("t7"), "userId": 42},
    {k: v for k, v in track("t8").items() if k != "messageId"},
    {**track("t9"), "properties": ["not", "an", "object"]},
    {**track("t10"), "timestamp": iso(NOW + timedelta(days=3))},
    {**track("t11"), "timestamp": iso(NOW - timedelta(days=400))},
    {**track("t12"), "timestamp": "yesterday"},
    {"type": "page", "name": "Pricing", "userId": "u1", "messageId": "p1"},
    {"type": "page", "properties": {"name": "Docs"}, "anonymousId": "a1", "messageId": "p2"},
    {"type": "screen", "name": "Home", "userId": "u3", "messageId": "s1"},
    {"type": "identify", "userId": "u1", "traits": {"email": "u1@example.com"}, "messageId": "i1"},
    {"type": "group", "groupId": "acme", "userId": "u1", "traits": {"name": "Acme"}},
    {"type": "alias", "userId": "u9", "previousId": "anon-9", "messageId": "al1"},
    {"type": "launch", "userId": "u1", "messageId": "x1"},
    {"type": "track", "event": "No one", "messageId": "n1"},
    track("t1"),  # the same id again: the first wins
    "not a message",
]


def _normal(prepared: Prepared) -> tuple[list[tuple[Any, ...]], list[tuple[str, str]], int]:
    rows = [(*row[:7], json.loads(row[7]), json.loads(row[8])) for row in prepared.rows]
    return rows, [(d[0], d[1]) for d in prepared.drops], prepared.replayed


@pytest.mark.django_db
def test_the_batch_reader_reads_every_message_as_the_general_reader_does() -> None:
    raws = [msgspec.Raw(json.dumps(m).encode()) for m in BATCH]
    common: dict[str, Any] = {
        "write_key_id": 1,
        "sent_at": iso(NOW),
        "received": NOW,
        "keep_days": 90,
    }
    quick = read_raw_messages(messages=raws, **common)
    general = read_messages(messages=BATCH, call_type=None, **common)
    assert _normal(quick) == _normal(general)
    assert quick.activity == general.activity
    # Sanity: the common messages really took the quick way and rows were made.
    assert {row[0] for row in quick.rows} >= {"t1", "t2", "t3", "t4", "p1", "s1", "i1"}
    assert {drop[0] for drop in quick.drops} == {"malformed", "future", "too_old", "no_identity"}


@pytest.mark.django_db
def test_the_batch_reader_keeps_the_json_the_client_sent() -> None:
    text = (
        '{"type":"track","event":"E","userId":"u","messageId":"m1","properties":{"z":1,"a":"发票"}}'
    )
    prepared = read_raw_messages(
        write_key_id=1,
        messages=[msgspec.Raw(text.encode())],
        sent_at=None,
        received=NOW,
        keep_days=90,
    )
    assert prepared.rows[0][7] == '{"z":1,"a":"发票"}'


def _prepared(key: WriteKey, messages: list[dict[str, Any]]) -> Prepared:
    return read_messages(
        write_key_id=key.pk,
        messages=messages,
        sent_at=None,
        call_type=None,
        received=timezone.now(),
        keep_days=90,
    )


def _stamp(minutes: int) -> str:
    return iso(timezone.now() - timedelta(minutes=minutes))


def _track(message_id: str, user: str, group: str, minutes: int = 5) -> dict[str, Any]:
    return {
        "type": "track",
        "event": "Report Built",
        "userId": user,
        "messageId": message_id,
        "timestamp": _stamp(minutes),
        "context": {"groupId": group},
    }


def _counted() -> dict[tuple[str, str], int]:
    return {
        (r.contact.external_id if r.contact else "", r.event): r.count
        for r in DailyRollup.objects.select_related("contact")
    }


class DeferredCountingTests(TestCase):
    """SQLite's ingest writer keeps counts in memory between transactions."""

    def setUp(self) -> None:
        if connection.vendor != "sqlite":
            self.skipTest("PostgreSQL counts in the storing transaction")
        self.key, _secret = writekey_create(actor=None, name="Product")
        self.writer = WriterState(name="test-writer", remember_seconds=60)

    def test_counts_wait_for_the_writer_and_then_are_exact(self) -> None:
        store_prepared(
            [_prepared(self.key, [_track("a", "u1", "acme"), _track("b", "u2", "acme")])],
            count_now=False,
            writer=self.writer,
        )
        store_prepared(
            [_prepared(self.key, [_track("c", "u1", "acme", minutes=1)])],
            count_now=False,
            writer=self.writer,
        )
        assert Event.objects.count() == 3
        assert not DailyRollup.objects.exists()
        assert RollupBacklog.objects.filter(writer="test-writer").count() == 2

        sent: list[list[int]] = []

        def receiver(sender: Any, account_ids: list[int], **kwargs: Any) -> None:
            sent.append(account_ids)

        events_ingested.connect(receiver)
        try:
            with self.captureOnCommitCallbacks(execute=True):
                rollups_catch_up(self.writer)
        finally:
            events_ingested.disconnect(receiver)
        assert _counted() == {("u1", "Report Built"): 2, ("u2", "Report Built"): 1}
        assert not RollupBacklog.objects.exists()
        acme = Account.objects.get(external_id="acme")
        assert sent == [[acme.pk]]
        u1 = Contact.objects.get(external_id="u1")
        assert u1.last_seen_at is not None
        assert abs(u1.last_seen_at - (timezone.now() - timedelta(minutes=1))) < timedelta(
            seconds=30
        )
        assert acme.last_seen_at == u1.last_seen_at

    def test_the_next_counted_transaction_writes_what_was_kept(self) -> None:
        store_prepared(
            [_prepared(self.key, [_track("a", "u1", "acme")])], count_now=False, writer=self.writer
        )
        store_prepared(
            [_prepared(self.key, [_track("b", "u1", "acme")])], count_now=True, writer=self.writer
        )
        assert _counted() == {("u1", "Report Built"): 2}
        assert not RollupBacklog.objects.exists()

    def test_a_group_with_a_replay_is_counted_from_the_events_once(self) -> None:
        store_prepared([_prepared(self.key, [_track("a", "u1", "acme")])])
        assert _counted() == {("u1", "Report Built"): 1}
        store_prepared(
            [_prepared(self.key, [_track("a", "u1", "acme"), _track("b", "u1", "acme")])],
            count_now=False,
            writer=self.writer,
        )
        # The range is nobody's: anyone counts it, from the one event it inserted.
        assert RollupBacklog.objects.get().writer == ""
        rollups_catch_up()
        assert _counted() == {("u1", "Report Built"): 2}

    def test_a_stopped_writers_backlog_is_counted_by_others_and_never_twice(self) -> None:
        store_prepared(
            [_prepared(self.key, [_track("a", "u1", "acme"), _track("b", "u2", "acme")])],
            count_now=False,
            writer=self.writer,
        )
        # While its writer may still count it, nobody else does.
        assert rollups_catch_up() == []
        assert not DailyRollup.objects.exists()
        # The writer has been silent too long: presumed stopped.
        RollupBacklog.objects.update(
            created_at=timezone.now() - timedelta(seconds=STALE_BACKLOG_SECONDS + 1)
        )
        rollups_catch_up()
        assert _counted() == {("u1", "Report Built"): 1, ("u2", "Report Built"): 1}
        # The writer comes back: its memory is not written a second time.
        rollups_catch_up(self.writer)
        assert _counted() == {("u1", "Report Built"): 1, ("u2", "Report Built"): 1}

    def test_a_failed_transaction_leaves_nothing_in_memory(self) -> None:
        bad = _prepared(self.key, [_track("a", "u1", "acme")])
        bad.rows[0] = (*bad.rows[0][:7], "{not json", bad.rows[0][8])
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON usage_event "
                "WHEN NEW.properties = '{not json' BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        with pytest.raises(Exception, match="refused"):
            store_prepared([bad], count_now=False, writer=self.writer)
        assert self.writer.pending.rollups == {}
        store_prepared(
            [_prepared(self.key, [_track("b", "u1", "acme")])], count_now=True, writer=self.writer
        )
        assert _counted() == {("u1", "Report Built"): 1}

    def test_the_writer_sees_its_own_identity_changes_at_once(self) -> None:
        store_prepared(
            [_prepared(self.key, [_track("a", "u1", "acme")])], count_now=False, writer=self.writer
        )
        moved = {
            "type": "group",
            "groupId": "globex",
            "userId": "u1",
            "messageId": "g1",
            "timestamp": _stamp(4),
        }
        store_prepared([_prepared(self.key, [moved])], count_now=False, writer=self.writer)
        store_prepared(
            [_prepared(self.key, [_track("b", "u1", "")])], count_now=True, writer=self.writer
        )
        globex = Account.objects.get(external_id="globex")
        assert Event.objects.get(message_id="b").account_id == globex.pk
        by_account = {
            (r.account.external_id, r.count) for r in DailyRollup.objects.select_related("account")
        }
        assert by_account == {("acme", 1), ("globex", 1)}


_TRY_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("busy")
else:
    print("taken")
"""


def test_server_processes_take_turns_on_the_ingest_lock(tmp_path: Any) -> None:
    import subprocess
    import sys

    from tend.usage.ingest_store import file_lock

    path = str(tmp_path / "tend.sqlite3-ingest-lock")

    def other_process() -> str:
        run = subprocess.run(
            [sys.executable, "-c", _TRY_LOCK, path], capture_output=True, text=True, check=True
        )
        return run.stdout.strip()

    with file_lock(path):
        assert other_process() == "busy"
    assert other_process() == "taken"
