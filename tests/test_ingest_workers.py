"""Several `tend web` worker processes ingesting into one SQLite file.

Each worker's writer keeps its own counts in memory and takes turns on the write lock;
whatever the interleaving, every event is stored once and counted once. Requests are
answered once journaled (tend.usage.ingest_journal); a server stopped normally stores
and counts everything it answered before it exits.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest

TEND = Path(sys.executable).parent / "tend"


def _env(data: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("TEND_DATABASE_URL", "TEND_REDIS_URL")}
    env.update({"TEND_DATA_DIR": str(data), "DJANGO_SETTINGS_MODULE": "tend.settings"})
    return env


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _batch(client: int, n: int, users: int = 7) -> bytes:
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    return json.dumps(
        {
            "sentAt": stamp,
            "batch": [
                {
                    "type": "track",
                    "event": f"Event {i % 3}",
                    "userId": f"user-{(client + i) % users}",
                    "messageId": f"c{client}-{n}-{i}",
                    "timestamp": stamp,
                    "properties": {"i": i},
                    "context": {"groupId": f"account-{i % 2}"},
                }
                for i in range(50)
            ],
        }
    ).encode()


def migrated_with_key(data: Path) -> tuple[dict[str, str], str]:
    """A fresh data dir, migrated, and a write key for it: (environment, key)."""
    env = _env(data)
    subprocess.run([str(TEND), "migrate", "-v", "0"], env=env, check=True)
    key = subprocess.run(
        [str(TEND), "writekey", "create", "test"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return env, key


def web_started(port: int, env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    """`tend web` on ``port``, once it answers /healthz."""
    server = subprocess.Popen(
        [str(TEND), "web", "--port", str(port), *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            probe = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            probe.request("GET", "/healthz")
            if probe.getresponse().status == 200:
                return server
        except OSError:
            pass
        assert server.poll() is None, "tend web exited"
        assert time.monotonic() < deadline, "tend web did not start"
        time.sleep(0.1)


@pytest.mark.skipif(not TEND.exists(), reason="the tend console script is not installed")
def test_two_workers_store_and_count_every_event_once(tmp_path: Path) -> None:
    env, key = migrated_with_key(tmp_path)
    port = _port()
    server = web_started(port, env, "--workers", "2")
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()

    def post(conn: http.client.HTTPConnection, body: bytes) -> int:
        conn.request("POST", "/ingest/v1/batch", body=body, headers={"Authorization": auth})
        response = conn.getresponse()
        response.read()
        return response.status

    def client(number: int) -> list[int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        statuses = [post(conn, _batch(number, n)) for n in range(20)]
        # A replay of the first batch, as a retrying library sends it.
        statuses.append(post(conn, _batch(number, 0)))
        return statuses

    try:
        with ThreadPoolExecutor(4) as pool:
            statuses = [s for result in pool.map(client, range(4)) for s in result]
        assert statuses == [200] * (4 * 21)
    finally:
        # SIGTERM: each worker stores and counts what it answered, then exits.
        server.terminate()
        assert server.wait(30) == 0

    db = sqlite3.connect(tmp_path / "tend.sqlite3", timeout=30)
    try:
        assert db.execute("SELECT COUNT(*) FROM usage_rollupbacklog").fetchone()[0] == 0
        events = db.execute("SELECT COUNT(*) FROM usage_event").fetchone()[0]
        counted = db.execute("SELECT SUM(count) FROM usage_dailyrollup").fetchone()[0]
        per_account = dict(
            db.execute(
                "SELECT a.external_id, SUM(r.count) FROM usage_dailyrollup r "
                "JOIN crm_account a ON a.id = r.account_id GROUP BY a.external_id"
            ).fetchall()
        )
        unseen = db.execute(
            "SELECT COUNT(*) FROM crm_contact WHERE last_seen_at IS NULL"
        ).fetchone()[0]
    finally:
        db.close()
    assert not list((tmp_path / "tend.sqlite3-ingest").glob("*.journal"))
    assert events == 4 * 20 * 50
    assert counted == events
    assert per_account == {"account-0": events // 2, "account-1": events // 2}
    assert unseen == 0
