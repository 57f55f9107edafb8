"""Daily health recompute benchmark (issue 4: ≤ 60 s for 5,000 accounts × 50 users × 90
days of rollups, and how it grows at 1k/5k/20k accounts).

For each size, in a child process: a fresh SQLite database under
``bench/data/health-N/`` (Tend's real migrations), filled with bulk SQL — accounts with a
subscription of 50 seats, 50 contacts each (one champion), daily rollups for 90 days
(each person active on 20–99 % of days; every tenth account silent for the last 40
days), a few tickets per account — then three metrics and one health model. Timed:
``usage.metrics.metrics_compute`` (when present) and ``health.services.health_recompute``
for the same day, as the nightly jobs run them; and a second recompute of the same day
(the "rules changed, recompute today" path).

    python bench/health_recompute.py                       # 1k, 5k, 20k
    python bench/health_recompute.py --accounts 1000 5000  # some sizes
    python bench/health_recompute.py --accounts 20000 --days 30   # a scaled 20k
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
RESULTS = BENCH / "results"
BUDGET_SECONDS = 60.0


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --- child: one size -------------------------------------------------------------------


def _template(model: Any) -> tuple[str, list[str], list[Any]]:
    """INSERT statement, column names and a row of defaults for ``model``."""
    from django.db import models

    fields = list(model._meta.concrete_fields)
    defaults: list[Any] = []
    for f in fields:
        value = f.get_default() if f.has_default() else None
        if value is None and not f.null and isinstance(f, models.CharField | models.TextField):
            value = ""
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, dict | list):
            value = json.dumps(value)
        defaults.append(value)
    columns = [f.column for f in fields]
    sql = (
        f'INSERT INTO "{model._meta.db_table}" ({", ".join(columns)}) '
        f"VALUES ({', '.join('?' for _ in columns)})"
    )
    return sql, columns, defaults


def _rows(model: Any, values: list[dict[str, Any]]) -> tuple[str, list[list[Any]]]:
    sql, columns, defaults = _template(model)
    index = {c: i for i, c in enumerate(columns)}
    out = []
    for v in values:
        row = list(defaults)
        for name, value in v.items():
            row[index[name]] = value
        out.append(row)
    return sql, out


def _ts(day: date, hour: int = 12) -> str:
    # How Django stores an aware datetime in SQLite: naive UTC text.
    return f"{day.isoformat()} {hour:02d}:00:00"


def generate(accounts: int, users: int, days: int, day: date) -> dict[str, int]:
    from django.db import connection

    from tend.crm.models import Account, Contact, Subscription
    from tend.desk.models import Ticket

    raw = connection.connection
    raw.execute("PRAGMA foreign_keys=OFF")
    raw.execute("PRAGMA synchronous=OFF")
    created = _ts(day - timedelta(days=days + 30))
    raw.execute("BEGIN")
    sql, rows = _rows(
        Account,
        [
            {
                "id": i,
                "name": f"Customer {i}",
                "segment": "enterprise" if i % 5 == 0 else "smb",
                "lifecycle": "mature",
                # Every tenth account went quiet 40 days ago.
                "last_seen_at": _ts(day - timedelta(days=40 if i % 10 == 0 else i % 3)),
                "created_at": created,
                "updated_at": created,
            }
            for i in range(1, accounts + 1)
        ],
    )
    raw.executemany(sql, rows)
    sql, rows = _rows(
        Subscription,
        [
            {
                "id": i,
                "account_id": i,
                "plan": "Team",
                "mrr_minor": 50_000,
                "seats": users,
                "starts_on": (day - timedelta(days=300)).isoformat(),
                "renews_on": (day + timedelta(days=i % 365)).isoformat(),
                "status": "active",
                "created_at": created,
                "updated_at": created,
            }
            for i in range(1, accounts + 1)
        ],
    )
    raw.executemany(sql, rows)
    n_contacts = accounts * users

    def contact(cid: int) -> dict[str, Any]:
        account_id = (cid - 1) // users + 1
        first = (cid - 1) % users == 0
        quiet = 40 if account_id % 10 == 0 else 0
        return {
            "id": cid,
            "name": f"Person {cid}",
            "email": f"p{cid}@c{account_id}.example",
            "account_id": account_id,
            "roles": json.dumps(["champion", "user"] if first else ["user"]),
            "last_seen_at": _ts(day - timedelta(days=quiet + (cid * 13) % 40)),
            "created_at": created,
            "updated_at": created,
        }

    sql, rows = _rows(Contact, [contact(c) for c in range(1, n_contacts + 1)])
    raw.executemany(sql, rows)

    # Three tickets per account in the last 60 days; one account in 20 has an open
    # urgent one. The requester is the account's first contact.
    ticket_values = []
    n = 0
    for a in range(1, accounts + 1):
        for k in range(3):
            n += 1
            urgent = k == 0 and a % 20 == 0
            ticket_values.append(
                {
                    "id": n,
                    "number": n,
                    "subject": "Help",
                    "requester_id": (a - 1) * users + 1,
                    "account_id": a,
                    "status": "open" if urgent or k == 0 else "solved",
                    "priority": "urgent" if urgent else "normal",
                    "created_at": _ts(day - timedelta(days=(a + k * 20) % 60)),
                    "updated_at": _ts(day),
                }
            )
    sql, rows = _rows(Ticket, ticket_values)
    raw.executemany(sql, rows)
    raw.execute("COMMIT")

    # Rollups: set-based inside SQLite. Person c is active on day offset n when a
    # scrambled (c, n) falls under their activity level (20–99 %).
    # Index maintenance dominates row-by-row inserts: drop the rollup indexes, insert,
    # then build them once from sorted data (as a restore would).
    indexes = raw.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' "
        "AND tbl_name = 'usage_dailyrollup' AND sql IS NOT NULL"
    ).fetchall()
    for name, _sql in indexes:
        raw.execute(f'DROP INDEX "{name}"')
    raw.execute("BEGIN")
    active = (
        "((c.id * 7919 + d.n * 104729) % 100) < 20 + (c.id * 37) % 80 "
        "AND NOT (c.account_id % 10 = 0 AND d.n < 40)"
    )
    for event, extra, count in (
        ("Login", "", "1 + ((c.id + d.n) % 5)"),
        ("Report Viewed", "AND (c.id + d.n) % 6 = 0", "1 + (c.id % 3)"),
    ):
        raw.execute(
            f"""
            WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM d WHERE n < ?)
            INSERT INTO usage_dailyrollup (day, account_id, contact_id, event, count,
                                           first_at, last_at)
            SELECT date(?, '-' || d.n || ' days'), c.account_id, c.id, ?, {count},
                   date(?, '-' || d.n || ' days') || ' 09:00:00',
                   date(?, '-' || d.n || ' days') || ' 17:00:00'
            FROM d CROSS JOIN crm_contact c
            WHERE {active} {extra}
            """,
            (days - 1, day.isoformat(), event, day.isoformat(), day.isoformat()),
        )
    raw.execute("COMMIT")
    for _name, index_sql in indexes:
        raw.execute(index_sql)
    raw.execute("PRAGMA foreign_keys=ON")
    (n_rollups,) = raw.execute("SELECT COUNT(*) FROM usage_dailyrollup").fetchone()
    raw.execute("ANALYZE")
    return {"accounts": accounts, "contacts": n_contacts, "rollups": n_rollups}


def setup_model() -> None:
    from tend.health.services import health_model_create
    from tend.usage.models import Metric

    logins = Metric.objects.create(name="Logins 30d", kind="event_count", event="Login")
    seats = Metric.objects.create(name="Seats used 30d", kind="seat_share")
    since = Metric.objects.create(name="Days since active", kind="days_since")
    health_model_create(
        actor=None,
        name="Everyone",
        config={
            "measures": [
                {
                    "key": "logins",
                    "kind": "metric",
                    "metric": logins.pk,
                    "weight": 25,
                    "scale": "linear",
                    "thresholds": [[0, 0], [500, 50], [2000, 100]],
                    "contact_thresholds": [[0, 0], [10, 50], [40, 100]],
                },
                {
                    "key": "seats",
                    "kind": "metric",
                    "metric": seats.pk,
                    "weight": 20,
                    "scale": "linear",
                    "thresholds": [[0, 0], [0.5, 60], [0.8, 100]],
                },
                {
                    "key": "recency",
                    "kind": "metric",
                    "metric": since.pk,
                    "weight": 15,
                    "thresholds": [[0, 100], [3, 70], [7, 40], [14, 0]],
                },
                {
                    "key": "urgent",
                    "kind": "urgent_tickets",
                    "weight": 15,
                    "thresholds": [[0, 100], [1, 30]],
                },
                {
                    "key": "tickets",
                    "kind": "ticket_volume_30d",
                    "weight": 10,
                    "scale": "linear",
                    "thresholds": [[0, 100], [10, 0]],
                },
                {"key": "nps", "kind": "nps", "weight": 15, "thresholds": [[-100, 0], [50, 100]]},
            ],
            "bands": {"red_below": 40, "green_from": 70},
            "overrides": [
                {"when": "champion_gone", "band": "red"},
                {"when": "no_activity_30d", "band": "red"},
            ],
        },
    )


def child(accounts: int, users: int, days: int, reuse: bool, out: Path) -> None:
    data_dir = DATA / f"health-{accounts}-{users}-{days}"
    fresh = not (reuse and (data_dir / "tend.sqlite3").exists())
    if fresh:
        shutil.rmtree(data_dir, ignore_errors=True)
        data_dir.mkdir(parents=True)
    os.environ["TEND_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tend.settings"
    os.environ.setdefault("TEND_LOG_LEVEL", "ERROR")
    for name in ("TEND_DATABASE_URL", "TEND_REDIS_URL"):
        os.environ.pop(name, None)  # the benchmark is of the embedded SQLite default
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from tend.health.models import ContactGrade, HealthSnapshot
    from tend.health.services import health_recompute

    day = datetime.now(UTC).date()
    result: dict[str, Any] = {"accounts": accounts, "users": users, "days": days}
    if fresh:
        say(f"{accounts:,} accounts: migrating a fresh database in {data_dir}")
        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        result.update(generate(accounts, users, days, day))
        setup_model()
        result["generate_s"] = round(time.perf_counter() - started, 1)
        say(f"  generated {result.get('rollups', 0):,} rollup rows in {result['generate_s']} s")
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM usage_dailyrollup")
            result["rollups"] = cursor.fetchone()[0]
        result["contacts"] = accounts * users

    try:
        from tend.usage.metrics import metrics_compute
    except ImportError:  # usage metrics not there yet: health reads what exists
        metrics_compute = None
    if metrics_compute is not None:
        started = time.perf_counter()
        result["metric_values"] = metrics_compute(day=day)
        result["metrics_s"] = round(time.perf_counter() - started, 2)
        say(f"  metrics_compute: {result['metric_values']:,} values in {result['metrics_s']} s")
    started = time.perf_counter()
    result["snapshots"] = health_recompute(day=day)
    result["health_s"] = round(time.perf_counter() - started, 2)
    result["grades"] = ContactGrade.objects.filter(day=day).count()
    say(
        f"  health_recompute: {result['snapshots']:,} snapshots, {result['grades']:,} grades"
        f" in {result['health_s']} s"
    )
    started = time.perf_counter()
    health_recompute(day=day)
    result["health_again_s"] = round(time.perf_counter() - started, 2)
    result["total_s"] = round(result.get("metrics_s", 0) + result["health_s"], 2)
    bands: dict[str, int] = {}
    for band in HealthSnapshot.objects.filter(day=day).values_list("band", flat=True):
        bands[band or "none"] = bands.get(band or "none", 0) + 1
    result["bands"] = bands
    out.write_text(json.dumps(result))


# --- parent ----------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--accounts", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--users", type=int, default=50, help="contacts per account")
    parser.add_argument("--days", type=int, default=90, help="days of rollups")
    parser.add_argument("--reuse", action="store_true", help="keep an existing data set")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.accounts[0], args.users, args.days, args.reuse, args.out)
        return 0

    results = []
    for n in args.accounts:
        out = DATA / f"health-{n}.json"
        DATA.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            __file__,
            "--child",
            "--accounts",
            str(n),
            "--users",
            str(args.users),
            "--days",
            str(args.days),
            "--out",
            str(out),
        ]
        if args.reuse:
            cmd.append("--reuse")
        subprocess.run(cmd, check=True, cwd=ROOT)
        results.append(json.loads(out.read_text()))

    print()
    print("| accounts | users | rollup rows | metrics s | health s | total s | again s | bands |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in results:
        print(
            f"| {r['accounts']:,} | {r['contacts']:,} | {r['rollups']:,} | "
            f"{r.get('metrics_s', '–')} | {r['health_s']} | {r['total_s']} | "
            f"{r['health_again_s']} | {r['bands']} |"
        )
    five = next((r for r in results if r["accounts"] == 5000 and r["days"] == 90), None)
    if five is not None:
        verdict = "within" if five["total_s"] <= BUDGET_SECONDS else "OVER"
        print(f"\n5,000 accounts: {five['total_s']} s, {verdict} the {BUDGET_SECONDS:.0f} s budget")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M")
    (RESULTS / f"health-recompute-{stamp}.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
