"""Load Tend's benchmark tickets into django-helpdesk and time its list and search.

Run by bench/run.py with the helpdesk virtualenv's Python:

    helpdesk-venv/bin/python peer_bench.py --source ../data/tend-1000000/tend.sqlite3 \
        --tickets 100000 --db ../data/helpdesk.sqlite3 --queries '{"search_rare_en": "..."}'

It reads the newest N tickets and their comments straight from Tend's SQLite file (no
Tend code is imported here), writes them with executemany using django-helpdesk's own
model metadata, then measures, in-process with Django's test Client, what a staff user
waits for: the ticket list page plus the datatables request that fills its first 50
rows, and the same for a keyword search. Prints one JSON line.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sqlite3
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
STATUS = {"new": 1, "open": 1, "pending": 1, "on_hold": 1, "solved": 3, "closed": 4}
PRIORITY = {"urgent": 1, "high": 2, "normal": 3, "low": 4}
BATCH = 20_000


def log(message: str) -> None:
    print(f"[peer {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def setup(db: Path) -> None:
    os.environ["HDBENCH_DB"] = str(db)
    os.environ["DJANGO_SETTINGS_MODULE"] = "hdbench.settings"
    sys.path.insert(0, str(HERE))
    import django

    django.setup()


def _template(model: Any) -> tuple[list[Any], dict[str, int], str]:
    from django.db import models

    fields = list(model._meta.concrete_fields)
    row: list[Any] = []
    for f in fields:
        value = f.get_default() if f.has_default() else None
        if value is None and not f.null and isinstance(f, models.CharField | models.TextField):
            value = ""
        if isinstance(value, bool):
            value = int(value)
        row.append(value)
    names = ", ".join(f'"{f.column}"' for f in fields)
    marks = ", ".join("?" for _ in fields)
    sql = f'INSERT INTO "{model._meta.db_table}" ({names}) VALUES ({marks})'
    return row, {f.attname: i for i, f in enumerate(fields)}, sql


def load(source: Path, n: int) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from helpdesk.models import FollowUp, Queue, Ticket

    call_command("migrate", verbosity=0)
    queue = Queue.objects.create(title="Support", slug="support", allow_public_submission=True)
    staff = User.objects.create_user("agent", "agent@example.com", "x", is_staff=True)
    # Helpdesk assigns tickets to Django users; one user per Tend agent id keeps the mix.
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    max_id = src.execute("SELECT max(id) FROM desk_ticket").fetchone()[0]
    first = max_id - n + 1
    agent_ids = [r[0] for r in src.execute(
        "SELECT DISTINCT assignee_id FROM desk_ticket WHERE id >= ? AND assignee_id IS NOT NULL",
        (first,))]
    users = {aid: User.objects.create_user(f"agent{aid}", f"agent{aid}@example.com", "x",
                                           is_staff=True).pk for aid in agent_ids}

    raw = connection.connection
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    started = time.monotonic()
    t_row, t_ix, t_sql = _template(Ticket)
    cursor = src.execute(
        "SELECT t.id, t.subject, t.description, t.status, t.priority, t.created_at, t.updated_at,"
        " t.assignee_id, c.email FROM desk_ticket t JOIN crm_contact c ON c.id = t.requester_id"
        " WHERE t.id >= ? ORDER BY t.id", (first,))
    while rows := cursor.fetchmany(BATCH):
        batch = []
        for tid, subject, description, status, priority, created, updated, assignee, email in rows:
            row = list(t_row)
            row[t_ix["id"]] = tid
            row[t_ix["title"]] = subject[:200]
            row[t_ix["description"]] = description
            row[t_ix["status"]] = STATUS[status]
            row[t_ix["on_hold"]] = int(status == "on_hold")
            row[t_ix["priority"]] = PRIORITY[priority]
            row[t_ix["created"]] = created
            row[t_ix["modified"]] = updated
            row[t_ix["submitter_email"]] = email
            row[t_ix["assigned_to_id"]] = users.get(assignee)
            row[t_ix["queue_id"]] = queue.pk
            row[t_ix["secret_key"]] = f"k{tid}"
            batch.append(row)
        raw.execute("BEGIN")
        raw.executemany(t_sql, batch)
        raw.execute("COMMIT")
    f_row, f_ix, f_sql = _template(FollowUp)
    cursor = src.execute(
        "SELECT id, ticket_id, created_at, public, body, author_user_id FROM desk_comment"
        " WHERE ticket_id >= ? ORDER BY id", (first,))
    comments = 0
    while rows := cursor.fetchmany(BATCH):
        batch = []
        for cid, tid, created, public, body, author in rows:
            row = list(f_row)
            row[f_ix["id"]] = cid
            row[f_ix["ticket_id"]] = tid
            row[f_ix["date"]] = created
            row[f_ix["public"]] = public
            row[f_ix["comment"]] = body
            row[f_ix["title"]] = "Comment"
            row[f_ix["user_id"]] = users.get(author)
            batch.append(row)
        raw.execute("BEGIN")
        raw.executemany(f_sql, batch)
        raw.execute("COMMIT")
        comments += len(batch)
    raw.execute("PRAGMA foreign_keys=ON")
    raw.execute("ANALYZE")
    return {"tickets": n, "comments": comments, "load_seconds": round(time.monotonic() - started, 1),
            "staff_id": staff.pk}


def _p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, round(0.95 * (len(ordered) - 1))))]


def measure(iterations: int, max_seconds: float, queries: dict[str, str]) -> dict[str, Any]:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    settings.DEBUG = False
    client = Client()
    client.force_login(User.objects.get(username="agent"))

    def datatables_url(params: dict[str, Any]) -> str:
        encoded = base64.b64encode(json.dumps(params).encode()).decode("ascii")
        return (reverse("helpdesk:datatables_ticket_list", args=[encoded])
                + "?draw=1&start=0&length=50&order[0][column]=5&order[0][dir]=desc")

    def case(page_url: str, data_url: str) -> dict[str, Any]:
        for url in (page_url, data_url):
            response = client.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"GET {url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as captured:
            client.get(page_url)
            data = client.get(data_url)
        query_count = len(captured.captured_queries)
        payload = json.loads(data.content)
        page: list[float] = []
        rows: list[float] = []
        total: list[float] = []
        deadline = time.monotonic() + max_seconds
        while len(total) < iterations and (len(total) < 5 or time.monotonic() < deadline):
            t0 = time.perf_counter()
            client.get(page_url)
            t1 = time.perf_counter()
            client.get(data_url)
            t2 = time.perf_counter()
            page.append((t1 - t0) * 1000)
            rows.append((t2 - t1) * 1000)
            total.append((t2 - t0) * 1000)
        return {
            "n": len(total),
            "p50_ms": round(statistics.median(total), 1),
            "p95_ms": round(_p95(total), 1),
            "page_p95_ms": round(_p95(page), 1),
            "rows_p95_ms": round(_p95(rows), 1),
            "queries": query_count,
            "rows": len(payload["data"]),
            "hits": payload["recordsFiltered"],
        }

    list_url = reverse("helpdesk:list")
    results: dict[str, Any] = {}
    log("ticket list")
    # What the list page asks for by default: open and reopened tickets, newest first.
    results["queue"] = case(list_url, datatables_url(
        {"filtering": {"status__in": [1, 2]}, "sorting": "created", "sortreverse": True,
         "search_string": ""}))
    for name, word in queries.items():
        log(f"search {word!r}")
        results[name] = case(
            f"{list_url}?q={word}",
            datatables_url({"filtering": {}, "filtering_null": {}, "sorting": "created",
                            "sortreverse": True, "search_string": word}),
        )
        results[name]["query"] = word
    return results


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, required=True, help="Tend's benchmark SQLite file")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--max-seconds", type=float, default=60.0)
    parser.add_argument("--queries", default="{}", help="JSON: case name -> search word")
    parser.add_argument("--reuse", action="store_true")
    args = parser.parse_args()
    marker = args.db.with_suffix(".json")
    if not (args.reuse and args.db.exists() and marker.exists()):
        for path in (args.db, marker, Path(f"{args.db}-wal"), Path(f"{args.db}-shm")):
            path.unlink(missing_ok=True)
        setup(args.db)
        log(f"loading {args.tickets:,} tickets into django-helpdesk")
        facts = load(args.source, args.tickets)
        marker.write_text(json.dumps(facts))
    else:
        setup(args.db)
        facts = json.loads(marker.read_text())
    from importlib.metadata import version

    results = measure(args.iterations, args.max_seconds, json.loads(args.queries))
    results.update({"tickets": facts["tickets"], "load_seconds": facts["load_seconds"],
                    "version": version("django-helpdesk")})
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
