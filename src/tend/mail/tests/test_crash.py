"""Nothing lost, nothing doubled: kill -9 the worker in the middle of 2,000 messages.

Runs the processes an operator runs (`tend migrate`, `tend worker`) against a private
database: a SQLite file in a temporary data directory, or, in the PostgreSQL + Redis
pass, a database and a Redis db number of its own, so the worker (a separate process)
sees what this test stores. The test process watches through a plain database
connection and waits by polling with a deadline, never a fixed sleep.

Given a worker running while 2,000 messages arrive (each stored, its job enqueued; 100
of them replies to tickets that exist already), when the worker and everything it
started get SIGKILL part-way, the worker is started again until the queue is empty, and
the recovery run picks up the message the dead worker held, then every message is
processed exactly once: 1,900 new tickets, 100 comments on the old ones, and no message
made two of anything.

About a minute on SQLite; the RQ pass needs RQ's non-forking SimpleWorker (a fork per
job costs ~0.1 s here, which makes 2,000 jobs take minutes).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

MESSAGES = 2000
SEEDS = 20  # tickets that exist before the run; REPLIES of the queued messages join them
REPLIES = 100
# Kill once this many of the queued messages are done: well inside the run.
KILL_AFTER = 150
DEADLINE_SECONDS = 120.0
# A Redis database number of its own (test_cli's RQ test uses 15).
REDIS_DB = 14

# Run inside `tend shell` in the child environment: the seed tickets (processed inline),
# then the queued messages (stored; each store enqueues its job after commit). Plain
# string building: the email package's generator would cost more than the storing.
FILL = f"""
from tend.mail.models import Mailbox
from tend.mail.services import inbound_receive, inbound_store

Mailbox.objects.create(address="support@crash.test")

def mail(n, subject, body, in_reply_to=""):
    head = (
        f"From: Customer {{n}} <customer{{n % 300}}@example.com>\\r\\n"
        "To: support@crash.test\\r\\n"
        f"Subject: {{subject}}\\r\\n"
        f"Message-ID: <crash-{{n}}@example.com>\\r\\n"
    )
    if in_reply_to:
        head += f"In-Reply-To: {{in_reply_to}}\\r\\n"
    head += "Content-Type: text/plain; charset=utf-8\\r\\n\\r\\n"
    return (head + body + "\\r\\n").encode()

for n in range({SEEDS}):
    inbound_receive(raw=mail(-1 - n, f"seed {{n}}", "seed"), via="imap")
print("seeded", flush=True)
for n in range({MESSAGES}):
    if n < {REPLIES}:
        seed = f"<crash-{{-1 - n % {SEEDS}}}@example.com>"
        raw = mail(n, "Re: seed", f"marker-{{n}}", in_reply_to=seed)
    else:
        raw = mail(n, f"crash {{n}}", f"marker-{{n}}")
    inbound_store(raw=raw, via="smtp")
"""

RECOVER = """
from datetime import timedelta
from tend.mail.services import inbound_recover
print("recovered", inbound_recover(older_than=timedelta(0)))
"""


@dataclass
class Site:
    """A private Tend installation: environment for its processes, and a way to look
    into its database from here."""

    env: dict[str, str]
    data_dir: Path
    database_url: str

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        if not self.database_url:
            with sqlite3.connect(self.data_dir / "tend.sqlite3", timeout=30) as conn:
                return list(conn.execute(sql).fetchall())
        import psycopg

        with psycopg.connect(self.database_url, autocommit=True) as conn:
            return list(conn.execute(sql.encode()).fetchall())

    def value(self, sql: str) -> Any:
        return self.rows(sql)[0][0]

    def tend(self, *args: str, timeout: float = DEADLINE_SECONDS) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "tend.cli", *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, f"tend {args[0]} failed:\n{done.stdout}\n{done.stderr}"
        return done.stdout


def _child_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"TEND_DATABASE_URL", "TEND_REDIS_URL"}}
    env["TEND_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    env = _child_env(tmp_path)
    database_url = ""
    admin_url = os.environ.get("TEND_DATABASE_URL", "")
    if admin_url:
        # The maintenance database always exists; the configured one need not (tests
        # run in pytest-django's test_<name> copy).
        admin_url = urlparse(admin_url)._replace(path="/postgres").geturl()
        import psycopg

        name = f"tend_crash_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"'.encode())
        database_url = urlparse(admin_url)._replace(path=f"/{name}").geturl()
        env["TEND_DATABASE_URL"] = database_url
    redis_url = os.environ.get("TEND_REDIS_URL", "")
    if redis_url:
        import redis

        redis_url = urlparse(redis_url)._replace(path=f"/{REDIS_DB}").geturl()
        redis.Redis.from_url(redis_url).flushdb()  # this test's own db number
        env["TEND_REDIS_URL"] = redis_url
    site = Site(env=env, data_dir=tmp_path, database_url=database_url)
    try:
        site.tend("migrate", "-v", "0")
        yield site
    finally:
        if redis_url:
            redis.Redis.from_url(redis_url).flushdb()
        if database_url:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())


def _session_pids(sid: int) -> list[int]:
    """Every live process in session ``sid``: the worker and any job process it forked
    (RQ's work horse moves to its own process group, but stays in the session)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        # fields: state, ppid, pgrp, session, ...; zombies are already dead.
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(entry.name))
    return pids


def _kill_dash_nine(process: subprocess.Popen[bytes]) -> None:
    """What a power cut does: every process of the worker dies at once, mid-whatever."""
    pids = _session_pids(process.pid)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)
    deadline = time.monotonic() + 30
    while _session_pids(process.pid):
        assert time.monotonic() < deadline, "worker processes survived SIGKILL"
        time.sleep(0.05)


def _wait_for(
    condition: Callable[[], bool], what: str, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        if process.poll() is not None:
            pytest.fail(f"worker exited ({process.returncode}) before {what}:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {DEADLINE_SECONDS}s:\n{log.read_text()}")
        time.sleep(0.05)


QUEUED = "message_id NOT LIKE '<crash--%'"  # the 2,000, not the seeds (negative numbers)


def _start(site: Site, name: str, *args: str) -> tuple[subprocess.Popen[bytes], Path]:
    log = site.data_dir / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tend.cli", *args],
            env=site.env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            # Its own session, so the kill below reaches every process it starts.
            start_new_session=True,
        )
    return process, log


def test_kill_dash_nine_mid_run_loses_and_doubles_nothing(site: Site) -> None:
    def processed() -> int:
        return int(
            site.value(
                f"SELECT count(*) FROM mail_inboundmessage WHERE status = 'processed' AND {QUEUED}"
            )
        )

    # Given a worker taking messages as they arrive (as in production: the mail keeps
    # coming while the worker works)...
    worker, worker_log = _start(site, "worker", "worker")
    fill, fill_log = _start(site, "fill", "shell", "-v", "0", "-c", FILL)
    try:
        # ...when it dies mid-run,
        _wait_for(lambda: processed() >= KILL_AFTER, f"{KILL_AFTER} processed", worker, worker_log)
    finally:
        _kill_dash_nine(worker)
    at_kill = processed()
    try:
        assert fill.wait(timeout=DEADLINE_SECONDS) == 0, fill_log.read_text()
    finally:
        _kill_dash_nine(fill)
    assert at_kill < MESSAGES, "the worker finished before it could be killed"
    assert site.value(f"SELECT count(*) FROM mail_inboundmessage WHERE {QUEUED}") == MESSAGES

    # and is started again until the queue is empty, and the every-minute recovery runs
    # (it takes the message the dead worker held; its job will never run again),
    site.tend("worker", "--burst", timeout=300)
    site.tend("shell", "-v", "0", "-c", RECOVER)

    # then every message was processed once.
    statuses = dict(site.rows("SELECT status, count(*) FROM mail_inboundmessage GROUP BY status"))
    assert statuses == {"processed": SEEDS + MESSAGES}
    outcomes = dict(
        site.rows(
            f"SELECT outcome, count(*) FROM mail_inboundmessage WHERE {QUEUED} GROUP BY outcome"
        )
    )
    assert outcomes == {"ticket": MESSAGES - REPLIES, "comment": REPLIES}
    # One comment per message, each message's own: none lost, none doubled.
    assert (
        site.value(f"SELECT count(DISTINCT comment_id) FROM mail_inboundmessage WHERE {QUEUED}")
        == MESSAGES
    )
    assert site.rows(
        "SELECT count(*), count(DISTINCT body) FROM desk_comment WHERE body LIKE 'marker-%'"
    ) == [(MESSAGES, MESSAGES)]
    # New tickets are one per message; the replies joined their seed tickets.
    tickets = SEEDS + MESSAGES - REPLIES
    assert site.rows("SELECT count(*), count(DISTINCT subject) FROM desk_ticket") == [
        (tickets, tickets)
    ]
    assert site.value("SELECT count(*) FROM desk_comment") == SEEDS + MESSAGES
