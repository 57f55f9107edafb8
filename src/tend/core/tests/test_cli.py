"""The `tend` console script, run for real as subprocesses against a private data directory.

These tests start the same processes an operator starts (`tend worker`, `tend run`,
`tend demo`) and watch what they do from the outside: files appear, /healthz
answers, exit codes are right. They wait by polling with a deadline, never by a
fixed sleep, so they are as fast as the machine allows and fail with the child's
log when something is wrong.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.error import URLError
from urllib.parse import urlparse
from urllib.request import urlopen

import pytest

from tend.core.management.commands.run import Child, Supervisor

DEADLINE_SECONDS = 60.0


def tend_env(data_dir: Path, *, redis_url: str = "") -> dict[str, str]:
    """A child environment: a private SQLite data dir, and Redis only when asked."""
    env = {k: v for k, v in os.environ.items() if k not in {"TEND_DATABASE_URL", "TEND_REDIS_URL"}}
    env["TEND_DATA_DIR"] = str(data_dir)
    env["PYTHONUNBUFFERED"] = "1"
    if redis_url:
        env["TEND_REDIS_URL"] = redis_url
    return env


def tend(*args: str, env: dict[str, str], timeout: float = 300) -> str:
    """Run `tend <args>` to completion and return its output; fail on a non-zero exit."""
    done = subprocess.run(
        [sys.executable, "-m", "tend.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, f"tend {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


class Background:
    """A `tend` process running in the background, its output going to a log file."""

    def __init__(self, *args: str, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "tend.cli", *args],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not condition():
            if self.process.poll() is not None:
                pytest.fail(f"exited ({self.process.returncode}) before {what}:\n{self.output()}")
            if time.monotonic() > deadline:
                pytest.fail(f"no {what} within {DEADLINE_SECONDS}s:\n{self.output()}")
            time.sleep(0.1)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"did not stop within 30s of SIGTERM:\n{self.output()}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def healthz_ok(port: int) -> bool:
    try:
        with urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except (URLError, OSError):
        return False


def enqueue_marker(env: dict[str, str], marker: Path, text: str) -> str:
    """Enqueue the test task from a separate process, as the web process would; return its id."""
    code = (
        "from tend.core.tests.sample_tasks import write_marker\n"
        f"print(write_marker.enqueue({str(marker)!r}, {text!r}).id)\n"
    )
    return tend("shell", "-v", "0", "-c", code, env=env).strip().splitlines()[-1]


def task_status(env: dict[str, str], result_id: str) -> str:
    code = (
        "from tend.core.tests.sample_tasks import write_marker\n"
        f"print(write_marker.get_result({result_id!r}).status.value)\n"
    )
    return tend("shell", "-v", "0", "-c", code, env=env).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def migrated_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    data_dir = tmp_path_factory.mktemp("tend-data")
    tend("migrate", "-v", "0", env=tend_env(data_dir))
    yield data_dir


def test_worker_runs_a_task_from_the_database_queue(migrated_data_dir: Path) -> None:
    env = tend_env(migrated_data_dir)
    marker = migrated_data_dir / "from-db-queue.txt"
    result_id = enqueue_marker(env, marker, "hello from the database queue")

    worker = Background("worker", env=env, log=migrated_data_dir / "db-worker.log")
    try:
        worker.wait_until(marker.exists, "task run by the database worker")
    finally:
        exit_code = worker.stop()

    assert marker.read_text() == "hello from the database queue"
    assert task_status(env, result_id) == "SUCCESSFUL"
    assert exit_code == 0, worker.output()


def test_worker_runs_a_task_from_redis_with_rq(tmp_path: Path) -> None:
    redis_url = os.environ.get("TEND_REDIS_URL", "")
    if not redis_url:
        pytest.skip("TEND_REDIS_URL is not set (.ci/run's PostgreSQL + Redis pass sets it)")
    # A database number of its own keeps jobs that other tests enqueue out of this
    # worker's way (and this test's jobs out of theirs).
    redis_url = urlparse(redis_url)._replace(path="/15").geturl()
    env = tend_env(tmp_path, redis_url=redis_url)
    marker = tmp_path / "from-rq.txt"
    result_id = enqueue_marker(env, marker, "hello from RQ")

    worker = Background("worker", env=env, log=tmp_path / "rq-worker.log")
    try:
        worker.wait_until(marker.exists, "task run by the RQ worker")
    finally:
        exit_code = worker.stop()

    assert marker.read_text() == "hello from RQ"
    assert task_status(env, result_id) == "SUCCESSFUL"
    assert "'Task' object is not callable" not in worker.output()
    assert exit_code == 0, worker.output()


def test_run_serves_the_web_app_and_stops_cleanly_on_sigterm(migrated_data_dir: Path) -> None:
    port = free_port()
    group = Background(
        "run",
        "--port",
        str(port),
        "--smtpd-port",
        str(free_port()),
        env=tend_env(migrated_data_dir),
        log=migrated_data_dir / "run.log",
    )
    try:
        group.wait_until(lambda: healthz_ok(port), "/healthz answering")
    finally:
        exit_code = group.stop()

    assert exit_code == 0, group.output()
    for part in ("web", "worker", "scheduler", "smtpd"):
        assert re.search(rf"^{part}\s+\| stopped", group.output(), re.MULTILINE), group.output()


def test_supervisor_stops_the_others_and_fails_when_one_part_dies() -> None:
    sleeper = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"])
    crasher = Child("crasher", [sys.executable, "-c", "print('giving up'); raise SystemExit(3)"])
    out = io.StringIO()
    supervisor = Supervisor([sleeper, crasher], out)
    supervisor.start()

    exit_code = supervisor.wait()

    assert exit_code == 1
    assert sleeper.process is not None and sleeper.process.returncode == -signal.SIGTERM
    assert "crasher | giving up" in out.getvalue()
    assert "crasher | exited with code 3; stopping the others" in out.getvalue()


def test_demo_without_serving_migrates_and_prints_a_working_admin_login(tmp_path: Path) -> None:
    env = {**tend_env(tmp_path), "TEND_DEMO_SIZE": "small"}

    first = tend("demo", "--no-serve", env=env)

    password = (tmp_path / "admin_password").read_text().strip()
    assert re.search(r"Username:\s+admin$", first, re.MULTILINE), first
    assert re.search(rf"Password:\s+{re.escape(password)}$", first, re.MULTILINE), first
    check = (
        "from django.contrib.auth import authenticate\n"
        f"user = authenticate(username='admin', password={password!r})\n"
        "print(bool(user and user.is_superuser))\n"
    )
    assert tend("shell", "-v", "0", "-c", check, env=env).strip() == "True"

    again = tend("demo", "--no-serve", env=env)

    assert "not adding sample data" in again
    assert re.search(rf"Password:\s+{re.escape(password)}$", again, re.MULTILINE), again
