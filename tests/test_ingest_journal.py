"""A `tend web` killed after answering loses none of the events it answered 200.

The server answers a batch once it is read and journaled (tend.usage.ingest_journal).
Here its writer is held off the database (the test takes the ingest lock), the server
answers several batches, and is killed with SIGKILL before it stores any. The next
server stores them from the journal when it starts ingesting: each event once, each
drop once, counted once.
"""

from __future__ import annotations

import base64
import fcntl
import http.client
import json
import os
import signal
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.test_ingest_workers import TEND, _port, migrated_with_key, web_started


def _batch(n: int) -> bytes:
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    messages: list[dict[str, object]] = [
        {
            "type": "track",
            "event": "Report Built",
            "userId": f"user-{i % 3}",
            "messageId": f"b{n}-{i}",
            "timestamp": stamp,
            "context": {"groupId": "account-1"},
        }
        for i in range(20)
    ]
    # One message without userId or anonymousId: recorded as a drop, once.
    messages.append({"type": "track", "event": "Orphan", "messageId": f"b{n}-orphan"})
    return json.dumps({"sentAt": stamp, "batch": messages}).encode()


def _post(port: int, key: str, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    conn.request("POST", "/ingest/v1/batch", body=body, headers={"Authorization": auth})
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status


def _count(db: Path, sql: str) -> int:
    conn = sqlite3.connect(db, timeout=30)
    try:
        return int(conn.execute(sql).fetchone()[0] or 0)
    finally:
        conn.close()


@pytest.mark.skipif(not TEND.exists(), reason="the tend console script is not installed")
def test_batches_answered_before_a_crash_are_stored_by_the_next_server(tmp_path: Path) -> None:
    env, key = migrated_with_key(tmp_path)
    database = tmp_path / "tend.sqlite3"
    journal = tmp_path / "tend.sqlite3-ingest"
    port = _port()

    # Given a server whose writer cannot get at the database
    server = web_started(port, env)
    lock = os.open(f"{database}-ingest-lock", os.O_CREAT | os.O_RDWR, 0o600)
    fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        # When it answers five batches
        statuses = [_post(port, key, _batch(n)) for n in range(5)]
        # Then each was answered 200 from the journal, none is stored yet
        assert statuses == [200] * 5
        assert _count(database, "SELECT COUNT(*) FROM usage_event") == 0
        assert list(journal.glob("*.journal"))
        # When the server is killed before it stores them
        server.send_signal(signal.SIGKILL)
        server.wait(30)
    finally:
        fcntl.flock(lock, fcntl.LOCK_UN)
        os.close(lock)

    # And the next server ingests one more batch
    server = web_started(port, env)
    try:
        assert _post(port, key, _batch(5)) == 200
    finally:
        server.terminate()  # a normal stop stores and counts what it answered
        server.wait(30)

    # Then every answered event is stored once, every drop recorded once, all counted
    assert _count(database, "SELECT COUNT(*) FROM usage_event") == 6 * 20
    assert _count(database, "SELECT COUNT(DISTINCT message_id) FROM usage_event") == 6 * 20
    assert _count(database, "SELECT COUNT(*) FROM usage_ingestdrop") == 6
    assert _count(database, "SELECT SUM(count) FROM usage_dailyrollup") == 6 * 20
    assert _count(database, "SELECT COUNT(*) FROM usage_rollupbacklog") == 0
    assert not list(journal.glob("*.journal"))
