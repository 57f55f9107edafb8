"""Usage ingest benchmark: Segment batches over HTTP into `tend web` on SQLite.

A fresh SQLite data dir under ``bench/data/usage-tend/`` is migrated and given a write
key; `tend web` (uvicorn) serves it. CLIENTS processes each post 100-event batches of
track calls (Basic auth, as Segment's libraries do; 60 users over 12 accounts, unique
messageIds) to ``/ingest/v1/batch`` over keep-alive connections for DURATION seconds,
each sending its next batch when the last is answered (reconnecting when the server
closes the connection, as it does to spread clients over its workers). The rate is the
events answered 200 over the wall-clock time until the last of them is stored (answers
run ahead of the writer by up to 64 requests a process: tend.usage.ingest_journal);
afterwards the run checks that the database holds exactly that many events and that
the rollups count them all.

Then, in the same run and the same file, the same rows (read back from ``usage_event``)
are written with a plain ``sqlite3`` ``executemany`` into a copy of the table (same
columns and unique index): once committing every 100 rows (what one HTTP batch
commits) and once in a single transaction. The issue's budget: ≥ 30,000 events/s and
≥ 0.6× the plain executemany rate.

    python bench/usage_ingest.py                 # 4 clients × 20 s, 1 then 2 workers
    python bench/usage_ingest.py --clients 4 --duration 20 --workers 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import platform
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data" / "usage-tend"
TEND = ROOT / ".venv" / "bin" / "tend"
BATCH = 100
BUDGET_PER_SECOND = 30_000.0
BUDGET_RATIO = 0.6
EVENT_NAMES = ["Report Built", "Dashboard Viewed", "Invite Sent", "Export Run", "Alert Set"]


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def batch_template(client: int) -> bytes:
    """One 100-event batch; @@N@@ is replaced per request to keep messageIds unique."""
    stamp = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    messages = []
    for i in range(BATCH):
        user = (client * 7 + i) % 60
        messages.append(
            {
                "type": "track",
                "event": EVENT_NAMES[i % len(EVENT_NAMES)],
                "userId": f"user-{user}",
                "messageId": f"c{client}-@@N@@-{i}",
                "timestamp": stamp,
                "properties": {"plan": "team", "items": i, "source": "bench"},
                "context": {
                    "groupId": f"account-{user % 12}",
                    "library": {"name": "analytics-python", "version": "2.4.0"},
                },
            }
        )
    return json.dumps({"batch": messages, "sentAt": stamp}).encode()


def client_loop(
    client: int, port: int, key: str, duration: float, start_at: float, out: Any
) -> None:
    """One keep-alive connection posting batches back to back, each answered before the
    next is sent (as Segment's libraries do). The load generator shares the two cores
    with the server, so it is kept lean: the request bytes are built by one
    ``bytes.join`` and the answer is read with a minimal HTTP/1.1 parser (status line,
    Content-Length) instead of http.client's header parsing."""
    import base64

    parts = batch_template(client).split(b"@@N@@")
    auth = base64.b64encode(f"{key}:".encode()).decode()
    head = (
        "POST /ingest/v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nAuthorization: Basic {auth}\r\n"
        "Content-Length: "
    ).encode()
    sock = connect(port)
    sent = errors = reconnects = 0
    latencies: list[float] = []
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + duration
    n = 0
    pending = b""
    while time.time() < end:
        body = str(n).encode().join(parts)
        n += 1
        began = time.perf_counter()
        sock.sendall(b"%s%d\r\n\r\n%s" % (head, len(body), body))
        status, pending, close = read_response(sock, pending)
        if close:  # the server spreads connections over its workers (tend.usage.asgi)
            sock.close()
            sock = connect(port)
            pending = b""
            reconnects += 1
        latencies.append(time.perf_counter() - began)
        if status == 200:
            sent += BATCH
        else:
            errors += 1
    sock.close()
    out.put(
        {
            "client": client,
            "events": sent,
            "errors": errors,
            "latencies": latencies,
            "reconnects": reconnects,
        }
    )


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=60)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def read_response(sock: socket.socket, buffer: bytes) -> tuple[int, bytes, bool]:
    """Read one HTTP/1.1 response with a Content-Length; return its status, whatever
    followed it, and whether the server closes the connection."""
    while b"\r\n\r\n" not in buffer:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        buffer += chunk
    header, _, rest = buffer.partition(b"\r\n\r\n")
    lines = header.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection":
            close = value.strip().lower() == b"close"
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        rest += chunk
    return status, rest[length:], close


def tend_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TEND_DATA_DIR": str(DATA), "DJANGO_SETTINGS_MODULE": "tend.settings"})
    env.pop("TEND_DATABASE_URL", None)
    env.pop("TEND_REDIS_URL", None)
    return env


def prepare() -> str:
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    env = tend_env()
    subprocess.run([str(TEND), "migrate", "-v", "0"], env=env, check=True)
    subprocess.run([str(TEND), "createcachetable", "-v", "0"], env=env, check=True)
    key = subprocess.run(
        [str(TEND), "writekey", "create", "bench"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return key


def wait_up(port: int, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("tend web did not start")


def server_command(port: int, workers: int) -> list[str]:
    # `tend web` serves tend/asgi.py, whose HTTP app sends /ingest/v1/ down the lean path
    # (tend.usage.asgi.ingest_fast_path) and everything else through Django.
    web = [str(TEND), "web", "--host", "127.0.0.1", "--port", str(port)]
    return [*web, "--workers", str(workers)]


def run_http(clients: int, duration: float, workers: int) -> dict[str, Any]:
    key = prepare()
    port = free_port()
    server = subprocess.Popen(
        server_command(port, workers),
        env=tend_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(port)
        # Warm up each worker (imports, first queries, the key cache).
        warm = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for n in range(workers * 4):
            body = batch_template(99).replace(b"@@N@@", f"warm{n}".encode())
            import base64

            warm.request(
                "POST",
                "/ingest/v1/batch",
                body=body,
                headers={
                    "Content-Type": "application/json",
                    "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
                },
            )
            warm.getresponse().read()
        warm_events = workers * 4 * BATCH
        queue: Any = multiprocessing.Queue()
        start_at = time.time() + 1.0
        cpu_before = server_cpu(server.pid)
        procs = [
            multiprocessing.Process(
                target=client_loop, args=(c, port, key, duration, start_at, queue)
            )
            for c in range(clients)
        ]
        for proc in procs:
            proc.start()
        results = [queue.get() for _ in procs]
        answered_wall = time.time() - start_at
        # Answers may run ahead of the writer (the ingest journal): the rate counts until
        # the last event answered is stored.
        answered = sum(r["events"] for r in results)
        stored_after = wait_stored(warm_events + answered)
        wall = time.time() - start_at
        cpu_after = server_cpu(server.pid)
        for proc in procs:
            proc.join()
        counted_after = wait_counted()
    finally:
        server.terminate()
        server.wait(30)
    events = sum(r["events"] for r in results)
    latencies = sorted(x for r in results for x in r["latencies"])
    db = sqlite3.connect(DATA / "tend.sqlite3")
    stored = db.execute("SELECT COUNT(*) FROM usage_event").fetchone()[0]
    rolled = db.execute("SELECT COALESCE(SUM(count), 0) FROM usage_dailyrollup").fetchone()[0]
    db.close()
    return {
        "clients": clients,
        "workers": workers,
        "server": "tend web",
        "batch": BATCH,
        "events": events,
        "errors": sum(r["errors"] for r in results),
        "wall_seconds": round(wall, 2),
        "answered_seconds": round(answered_wall, 2),
        "stored_after_seconds": stored_after,
        "per_second": round(events / wall),
        "reconnects": sum(r["reconnects"] for r in results),
        "server_cpu_seconds": round(cpu_after - cpu_before, 1) if cpu_before >= 0 else None,
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1) if latencies else None,
        "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1) if latencies else None,
        "stored": stored - warm_events,
        "rolled_up": rolled - warm_events,
        "counted_after_seconds": counted_after,
    }


def wait_stored(expected: int, timeout: float = 60.0) -> float:
    """Seconds until the database holds ``expected`` events."""
    began = time.time()
    db = sqlite3.connect(DATA / "tend.sqlite3", timeout=30)
    try:
        while time.time() - began < timeout:
            if db.execute("SELECT COUNT(*) FROM usage_event").fetchone()[0] >= expected:
                break
            time.sleep(0.01)
    finally:
        db.close()
    return round(time.time() - began, 2)


def wait_counted(timeout: float = 30.0) -> float:
    """Seconds until the server has counted every stored event into the rollups.

    Under a steady stream the writer counts at most once a second
    (TEND_INGEST_ROLLUP_EVERY_MS), and once more when the stream pauses; the run checks
    the rollups after that last count.
    """
    began = time.time()
    db = sqlite3.connect(DATA / "tend.sqlite3", timeout=30)
    try:
        while time.time() - began < timeout:
            left = db.execute("SELECT COUNT(*) FROM usage_rollupbacklog").fetchone()[0]
            if not left:
                break
            time.sleep(0.05)
    finally:
        db.close()
    return round(time.time() - began, 2)


def server_cpu(pid: int) -> float:
    """CPU seconds of the server and its worker processes (Linux /proc)."""
    try:
        pids = [pid] + [
            int(p) for p in (Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        ]
        total = 0.0
        ticks = os.sysconf("SC_CLK_TCK")
        for p in pids:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / ticks
        return total
    except (OSError, ValueError):
        return -1.0


def run_plain() -> dict[str, Any]:
    """The same rows through a plain executemany, into a copy of the table in the file."""
    db = sqlite3.connect(DATA / "tend.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    columns = (
        "write_key_id, message_id, type, name, user_id, anonymous_id, group_id, account_id, "
        "contact_id, timestamp, received_at, properties, context"
    )
    rows = db.execute(f"SELECT {columns} FROM usage_event ORDER BY id").fetchall()
    results: dict[str, Any] = {"rows": len(rows)}
    for label, per_commit in (("per_batch", BATCH), ("one_transaction", len(rows) or 1)):
        db.execute("DROP TABLE IF EXISTS bench_plain_event")
        db.execute("CREATE TABLE bench_plain_event AS SELECT * FROM usage_event WHERE 0")
        db.execute(
            "CREATE UNIQUE INDEX bench_plain_unique ON bench_plain_event (write_key_id, message_id)"
        )
        db.execute("CREATE INDEX bench_plain_ts ON bench_plain_event (timestamp)")
        sql = f"INSERT INTO bench_plain_event ({columns}) VALUES ({','.join('?' * 13)})"
        began = time.perf_counter()
        for start in range(0, len(rows), per_commit):
            db.execute("BEGIN IMMEDIATE")
            db.executemany(sql, rows[start : start + per_commit])
            db.execute("COMMIT")
        seconds = time.perf_counter() - began
        results[label] = round(len(rows) / seconds) if seconds else None
    db.execute("DROP TABLE bench_plain_event")
    db.close()
    return results


def report(results: dict[str, Any], command: str) -> str:
    runs, plain = results["http"], results["plain"]
    first = runs[0]
    lines = [
        "### Usage ingest (Segment batches over HTTP)",
        "",
        f"Run {results['when']} UTC on {platform.machine()} ({os.cpu_count()} cores), Python "
        f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at start "
        f"{' / '.join(str(x) for x in results['load_average'])}.",
        "",
        f"Command: `{command}`",
        "",
        f"`{first['server']}` with "
        + " and with ".join(str(run["workers"]) for run in runs)
        + f" uvicorn worker(s) (each run on a fresh data dir); {first['clients']} client "
        f"processes on the same machine, each posting {first['batch']}-event batches to "
        f"`/ingest/v1/batch` for {first['answered_seconds']} s and sending the next one "
        "when the last is answered. events/s counts until the last event answered is "
        "stored (answers run ahead of the writer: the ingest journal). The plain "
        "executemany runs copy the rows of the last run.",
        "",
        "| | events/s | ÷ executemany per 100 | ÷ one transaction | p50 / request "
        "| p95 / request | events | errors | server CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for run in runs:
        lines.append(
            f"| Tend over HTTP, {run['workers']} worker(s) | {run['per_second']:,} | "
            f"{run['ratio_per_batch']} | {run['ratio_one_transaction']} | {run['p50_ms']} ms | "
            f"{run['p95_ms']} ms | {run['events']:,} | {run['errors']} | "
            f"{run['server_cpu_seconds']} s |"
        )
    lines += [
        f"| plain executemany, commit per {BATCH} rows | {plain['per_batch']:,} | | | | | "
        f"{plain['rows']:,} | | |",
        f"| plain executemany, one transaction | {plain['one_transaction']:,} | | | | | "
        f"{plain['rows']:,} | | |",
        "",
        f"Budgets: ≥ {BUDGET_PER_SECOND:,.0f} events/s and ≥ {BUDGET_RATIO}× plain executemany.",
    ]
    for run in runs:
        lines.append(
            f"With {run['workers']} worker(s) the database held {run['stored']:,} events and "
            f"the rollups counted {run['rolled_up']:,} (answered 200: {run['events']:,}; all "
            f"stored {run['stored_after_seconds']} s and counted "
            f"{run['counted_after_seconds']} s after the last answer; the clients "
            f"reconnected {run['reconnects']:,} times)."
        )
        if run["per_second"] < BUDGET_PER_SECOND:
            lines.append(
                f"**Below the target** with {run['workers']} worker(s): "
                f"{run['per_second']:,} < {BUDGET_PER_SECOND:,.0f} events/s."
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--duration", type=float, default=20.0)
    # One worker is `tend web`'s default (on the embedded default, realtime needs one
    # process: the in-memory channel layer is not shared). Two workers take turns on
    # the SQLite write lock (tend.usage.ingest_store._ingest_lock) and use both cores.
    parser.add_argument("--workers", default="1,2", help="comma-separated, one run each")
    args = parser.parse_args(argv)
    load = [round(x, 2) for x in os.getloadavg()]
    runs = []
    for workers in [int(w) for w in args.workers.split(",")]:
        say(f"HTTP: {args.clients} clients × {args.duration:.0f} s, {workers} worker(s)")
        run = run_http(args.clients, args.duration, workers)
        say(f"HTTP: {run['per_second']:,} events/s")
        runs.append(run)
    say("plain executemany")
    plain = run_plain()
    for run in runs:
        run["ratio_per_batch"] = (
            round(run["per_second"] / plain["per_batch"], 2) if plain["per_batch"] else None
        )
        run["ratio_one_transaction"] = (
            round(run["per_second"] / plain["one_transaction"], 2)
            if plain["one_transaction"]
            else None
        )
    results = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "load_average": load,
        "http": runs,
        "plain": plain,
    }
    print(report(results, "python bench/usage_ingest.py " + " ".join(sys.argv[1:])))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
