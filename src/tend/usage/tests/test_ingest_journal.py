"""The ingest journal: requests answered before they are stored, and their recovery.

The end-to-end case (a `tend web` killed with SIGKILL, the next one storing what it
answered) is tests/test_ingest_journal.py.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import shutil
import signal
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tend.usage import asgi
from tend.usage.asgi import RawRequest, _Headers, ingest_drain, ingest_fast_path, lifespan
from tend.usage.ingest import ingest_prepare, ingest_prepare_quick, ingest_reread
from tend.usage.ingest_journal import (
    _HEADER,
    Entry,
    Journal,
    Segment,
    journal_recover,
    read_segment,
)
from tend.usage.ingest_read import Prepared
from tend.usage.models import DailyRollup, Event, IngestDrop
from tend.usage.tests.test_fast_path import _add_failing_trigger, _drop_failing_trigger

RECEIVED = datetime(2026, 11, 20, 9, 30, 15, 123456, tzinfo=UTC)


def _entry(body: bytes = b'{"batch": []}', key_id: int = 7) -> Entry:
    return Entry(key_id, RECEIVED, None, body)


def _segments(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.journal"))


def _die(journal: Journal) -> None:
    """What a killed process leaves: its segments on disk, their locks released."""
    for segment in {journal._current} - {None}:
        assert segment is not None
        os.close(segment.fd)
        segment.fd = -1


def test_a_segment_is_removed_once_every_request_in_it_is_stored(tmp_path: Path) -> None:
    journal = Journal(tmp_path, segment_bytes=1)  # a new segment for every request
    tickets = [journal.append(_entry()) for _ in range(3)]
    assert len(_segments(tmp_path)) == 3

    for ticket in tickets:
        journal.done(ticket)
    # The two full segments went with their last request; the open one goes at close.
    assert len(_segments(tmp_path)) == 1
    journal.close()
    assert _segments(tmp_path) == []


def test_the_current_segment_keeps_only_what_is_not_stored_yet(tmp_path: Path) -> None:
    # Bodies are personal data: none stays on disk once it is stored.
    journal = Journal(tmp_path)
    first, second = journal.append(_entry()), journal.append(_entry())
    journal.done(first)
    (path,) = _segments(tmp_path)
    assert len(list(read_segment(path))) == 2  # the second is not stored yet
    journal.done(second)
    assert path.stat().st_size == 0
    journal.append(_entry(b'{"batch": [1]}'))
    assert [e.body for e in read_segment(path)] == [b'{"batch": [1]}']


@pytest.mark.django_db
def test_a_segment_with_a_request_that_failed_to_store_is_kept(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    ticket = journal.append(_entry())
    journal.done(ticket, stored=False)
    journal.close()
    assert len(_segments(tmp_path)) == 1
    assert journal_recover(tmp_path) == 1 and _segments(tmp_path) == []


def test_an_append_cut_short_by_a_full_disk_leaves_the_segment_readable(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path)
    journal.append(_entry(b"first"))
    (path,) = _segments(tmp_path)
    # A file-size limit stands in for a full disk: the write stops part way.
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (path.stat().st_size + 40, old_limit[1]))
    try:
        with pytest.raises(OSError):
            journal.append(_entry(b"x" * 10_000))
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)
    journal.append(_entry(b"third"))
    assert [e.body for e in read_segment(path)] == [b"first", b"third"]


def test_records_read_back_as_written_and_a_torn_last_record_is_ignored(
    tmp_path: Path,
) -> None:
    journal = Journal(tmp_path)
    journal.append(Entry(3, RECEIVED, "identify", b'{"userId": "u1"}'))
    journal.append(_entry(b'{"batch": [1, 2, 3]}'))
    (path,) = _segments(tmp_path)

    assert list(read_segment(path)) == [
        Entry(3, RECEIVED, "identify", b'{"userId": "u1"}'),
        Entry(7, RECEIVED, None, b'{"batch": [1, 2, 3]}'),
    ]
    # A crash in the middle of the last append: that request was never answered.
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size - 5)
    assert [e.call_type for e in read_segment(path)] == ["identify"]
    # A record whose bytes do not match their checksum ends the reading too.
    data = bytearray(path.read_bytes())
    data[_HEADER.size + 2] ^= 0xFF  # in the first record's body
    path.write_bytes(bytes(data))
    assert list(read_segment(path)) == []


def _request(body: Any, key: str) -> RawRequest:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = _Headers({"authorization": auth, "content-type": "application/json"})
    return RawRequest("POST", headers, json.dumps(body).encode(), "127.0.0.1")


def _batch(prefix: str) -> dict[str, Any]:
    stamp = datetime.now(UTC).isoformat()
    return {
        "sentAt": stamp,
        "batch": [
            {
                "type": "track",
                "event": "Report Built",
                "userId": "u1",
                "messageId": f"{prefix}-{i}",
                "timestamp": stamp,
                "context": {"groupId": "acme"},
            }
            for i in range(3)
        ]
        + [{"type": "track", "event": "No one", "messageId": f"{prefix}-x"}],
    }


def _prepared(body: Any, key: str) -> Prepared:
    prepared = ingest_prepare(_request(body, key), None)  # type: ignore[arg-type]
    assert isinstance(prepared, Prepared)
    return prepared


def _journaled(journal: Journal, body: Any, key: str) -> Segment:
    """Read a request as the server does and append it; its ticket."""
    prepared = _prepared(body, key)
    return journal.append(Entry(prepared.write_key_id, prepared.received, None, prepared.body))


@pytest.mark.django_db
def test_a_request_read_again_gives_the_same_rows_and_drops(write_key: Any) -> None:
    _key, plaintext = write_key
    # A batch-level context takes the general reader; the other the quick one.
    for body in (_batch("q"), {**_batch("g"), "context": {"groupId": "acme"}}):
        prepared = _prepared(body, plaintext)
        again = ingest_reread(
            body=prepared.body,
            call_type=None,
            write_key_id=prepared.write_key_id,
            received=prepared.received,
        )
        assert (again.rows, again.drops, again.activity) == (
            prepared.rows,
            prepared.drops,
            prepared.activity,
        )


@pytest.mark.django_db
def test_recovery_stores_a_dead_process_segment_once_however_often_it_runs(
    write_key: Any, tmp_path: Path
) -> None:
    # Given a process that journaled two requests and died before storing them
    _key, plaintext = write_key
    folder = tmp_path / "journal"
    journal = Journal(folder)
    for prefix in ("a", "b"):
        _journaled(journal, _batch(prefix), plaintext)
    _die(journal)
    (segment,) = _segments(folder)
    copy = tmp_path / "copy"
    shutil.copy(segment, copy)

    # When the journal is recovered
    assert journal_recover(folder) == 2

    # Then the events are stored, the drops recorded, the activity counted; the segment
    # is gone
    assert Event.objects.count() == 6
    assert IngestDrop.objects.count() == 2
    assert DailyRollup.objects.get().count == 6
    assert _segments(folder) == []

    # When the same segment turns up again (a crash after storing, before removing it)
    shutil.copy(copy, segment)
    assert journal_recover(folder) == 2
    # Then nothing is stored, recorded or counted twice
    assert Event.objects.count() == 6
    assert IngestDrop.objects.count() == 2
    assert DailyRollup.objects.get().count == 6


@pytest.mark.django_db
def test_a_failed_request_segment_is_recovered_once_the_rest_of_it_is_stored(
    write_key: Any, tmp_path: Path
) -> None:
    _key, plaintext = write_key
    journal = Journal(tmp_path)
    tickets = [_journaled(journal, _batch(prefix), plaintext) for prefix in ("f", "g")]
    # The first failed to store; the second is still on its way: the segment stays
    # with its writer.
    journal.done(tickets[0], stored=False)
    assert journal_recover(tmp_path) == 0
    # Once the second is stored, the recovery takes the segment (both requests in it).
    journal.done(tickets[1])
    assert journal_recover(tmp_path) == 2
    assert Event.objects.count() == 6 and _segments(tmp_path) == []


@pytest.mark.django_db
def test_a_request_that_cannot_be_stored_is_set_aside_not_retried_forever(
    write_key: Any, tmp_path: Path
) -> None:
    _key, plaintext = write_key
    journal = Journal(tmp_path)
    bad = _batch("bad")
    bad["batch"][0]["event"] = "Boom"  # the trigger below refuses it
    for body in (_batch("ok1"), bad, _batch("ok2")):
        _journaled(journal, body, plaintext)
    _die(journal)
    _add_failing_trigger()
    try:
        assert journal_recover(tmp_path) == 2
    finally:
        _drop_failing_trigger()

    assert sorted(Event.objects.values_list("message_id", flat=True)) == [
        "ok1-0",
        "ok1-1",
        "ok1-2",
        "ok2-0",
        "ok2-1",
        "ok2-2",
    ]
    assert _segments(tmp_path) == []
    (failed,) = tmp_path.glob("*.failed")
    assert [json.loads(e.body)["batch"][0]["event"] for e in read_segment(failed)] == ["Boom"]


@pytest.mark.django_db
def test_a_running_process_journal_is_left_alone(write_key: Any, tmp_path: Path) -> None:
    _key, plaintext = write_key
    journal = Journal(tmp_path)
    _journaled(journal, _batch("live"), plaintext)

    assert journal_recover(tmp_path) == 0
    assert len(_segments(tmp_path)) == 1
    assert Event.objects.count() == 0


@pytest.mark.django_db(transaction=True)  # keys are kept in memory only after a commit
def test_the_event_loop_reads_only_what_needs_no_query(write_key: Any) -> None:
    _key, plaintext = write_key
    body = _batch("loop")

    def on_the_loop(request: RawRequest, call_type: str | None = None) -> Prepared | None:
        # Where the fast path calls it: Django refuses any query there.
        async def call() -> Prepared | None:
            return ingest_prepare_quick(request, call_type)  # type: ignore[arg-type]

        return asyncio.run(call())

    # A key this process has not looked up lately: the reader thread's job.
    assert on_the_loop(_request(body, plaintext)) is None
    first = _prepared(body, plaintext)  # loads the keys and starts the key's meter

    quick = on_the_loop(_request(body, plaintext))
    assert quick is not None
    # The same rows; times differ by the skew correction of a later arrival.
    assert quick.write_key_id == first.write_key_id
    assert [r[:6] + r[7:] for r in quick.rows] == [r[:6] + r[7:] for r in first.rows]
    assert [d[:3] for d in quick.drops] == [d[:3] for d in first.drops]
    # Single calls, unknown keys and a batch-level context are not read on the loop.
    assert on_the_loop(_request(body["batch"][0], plaintext), "track") is None
    assert on_the_loop(_request(body, "tk_unknown")) is None
    assert on_the_loop(_request({**body, "context": {"groupId": "x"}}, plaintext)) is None


async def _not_found(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 404, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def _post(app: Any, body: Any, key: str, client: tuple[str, int] = ("10.0.0.1", 5)) -> Any:
    sent: list[Any] = []
    payload = json.dumps(body).encode()
    auth = b"Basic " + base64.b64encode(f"{key}:".encode())

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": payload, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/ingest/v1/batch",
        "headers": [(b"authorization", auth)],
        "client": client,
    }
    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], dict(sent[0]["headers"])


@pytest.mark.django_db(transaction=True)
def test_answered_from_the_journal_then_stored_and_drained_at_shutdown(
    write_key: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the fast path with a journal (the tests' in-memory database has none)
    _key, plaintext = write_key
    monkeypatch.setattr(asgi, "journal_folder", lambda: tmp_path)
    app = ingest_fast_path(_not_found)

    # When batches are answered
    statuses = [_post(app, _batch(f"j{n}"), plaintext)[0] for n in range(3)]
    assert statuses == [200, 200, 200]

    # And the server shuts down (ASGI lifespan)
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[Any] = []

    async def receive() -> Any:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message["type"])

    asyncio.run(lifespan({"type": "lifespan"}, receive, send))

    # Then everything answered is stored before the shutdown completes
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert Event.objects.count() == 9
    assert IngestDrop.objects.count() == 3
    assert _segments(tmp_path) == []
    assert ingest_drain() is True


@pytest.mark.django_db(transaction=True)
def test_with_several_workers_a_connection_is_closed_after_a_while(
    write_key: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _key, plaintext = write_key
    monkeypatch.setenv("TEND_WEB_WORKERS", "2")
    monkeypatch.setattr(asgi, "RECYCLE_SECONDS", 0.0)
    app = ingest_fast_path(_not_found)
    _prepared(_batch("warm"), plaintext)  # the key known to this process

    # The first answer on a connection keeps it; the next one after RECYCLE_SECONDS
    # asks the client to reconnect (and maybe land on another worker).
    _status, headers = _post(app, _batch("r1"), plaintext, ("10.0.0.2", 77))
    assert b"connection" not in headers
    _status, headers = _post(app, _batch("r2"), plaintext, ("10.0.0.2", 77))
    assert headers[b"connection"] == b"close"
    assert ingest_drain() is True
