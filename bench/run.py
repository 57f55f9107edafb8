"""Tend's performance benchmark (`make bench`).

Generates N tickets with 3 comments each (half the text Chinese) into a SQLite
database under bench/data/, builds the search index, then measures server-side time
of the agent queue page and of searches. The same newest ``--peer-tickets`` tickets
are loaded into django-helpdesk (a separate virtualenv under bench/peers/) and its
ticket list and search are measured in the same run, so the Tend ÷ peer ratios compare
like with like on this machine. Then the email ingest benchmark (mail_ingest.py): a
seeded 10,000-message Maildir into a fresh Tend database and into django-helpdesk.
Then product-usage ingestion over HTTP (usage_ingest.py: 4 clients posting Segment
batches to `tend web`, against a plain executemany of the same rows) and the daily
health recompute (health_recompute.py: metrics, scores and grades for 1,000, 5,000 and
20,000 accounts × 50 users), and help-center search and support-form suggestions over
20,000 articles (kb_search.py). Results go to docs/benchmarks.md and bench/results/.

    python bench/run.py                       # 1,000,000 tickets, peer with 100,000; mail
    python bench/run.py --tickets 200000 --reuse
    python bench/run.py --tickets 20000 --peer-tickets 5000 --iterations 30   # quick
    python bench/run.py --only mail           # just the email ingest (also: --mail)
    python bench/run.py --only pages          # just the pages (also: --no-mail)
    python bench/run.py --only usage          # just the product-usage ingest
    python bench/run.py --only health --reuse # just the health recompute
    python bench/run.py --only kb --reuse     # just help-center search and suggestions
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
PEER_VENV = BENCH / "peers" / "helpdesk-venv"
PEER_SETUP = BENCH / "peers" / "setup_helpdesk.sh"
PEER_SCRIPT = BENCH / "peers" / "helpdesk_project" / "peer_bench.py"
DOCS = ROOT / "docs" / "benchmarks.md"

# Budgets from the performance requirements (milliseconds, p95).
BUDGETS = {"queue": 100.0, "search_rare_en": 50.0, "search_zh": 50.0, "search_common": 300.0}


def mail_ingest_budget() -> float:
    import mail_ingest

    return mail_ingest.BUDGET_PER_SECOND


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--tickets", type=int, default=1_000_000, help="tickets to generate for Tend"
    )
    parser.add_argument(
        "--peer-tickets",
        type=int,
        default=100_000,
        help="newest tickets loaded into django-helpdesk (0: skip the peer)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep and reuse generated databases in bench/data/"
    )
    parser.add_argument("--iterations", type=int, default=100, help="timed requests per case")
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=60.0,
        help="stop timing a case after this long (at least 5 samples)",
    )
    parser.add_argument(
        "--reindex",
        action="store_true",
        help="with --reuse: rebuild the search index (search code changed)",
    )
    parser.add_argument(
        "--generate-only",
        action="store_true",
        help="generate (and index) the data, measure nothing",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/benchmarks.md")
    parser.add_argument(
        "--only",
        choices=["pages", "mail", "usage", "health", "kb"],
        help="run one part: the pages (queue, search), the email ingest, the product-usage"
        " ingest over HTTP, the daily health recompute, or help-center search and"
        " suggestions",
    )
    parser.add_argument("--mail", action="store_true", help="same as --only mail")
    parser.add_argument("--no-mail", action="store_true", help="same as --only pages")
    parser.add_argument(
        "--mail-count", type=int, default=10_000, help="messages in the email ingest Maildir"
    )
    parser.add_argument(
        "--mail-no-peer", action="store_true", help="email ingest without django-helpdesk"
    )
    args = parser.parse_args(argv)
    if args.mail:
        args.only = "mail"
    elif args.no_mail:
        args.only = "pages"
    return args


def setup_django(data_dir: Path) -> None:
    os.environ["TEND_DATA_DIR"] = str(data_dir)
    os.environ["DJANGO_SETTINGS_MODULE"] = "tend.settings"
    os.environ.setdefault("TEND_LOG_LEVEL", "WARNING")
    for name in ("TEND_DATABASE_URL", "TEND_REDIS_URL"):
        os.environ.pop(name, None)  # the benchmark is of the embedded SQLite default
    sys.path.insert(0, str(BENCH))
    import django

    django.setup()


def prepare_tend(n_tickets: int, reuse: bool, reindex: bool) -> tuple[Path, dict[str, Any]]:
    data_dir = DATA / f"tend-{n_tickets}"
    marker = data_dir / "generated.json"
    if data_dir.exists() and not (reuse and marker.exists()):
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    setup_django(data_dir)

    import generate
    from django.core.management import call_command

    if reuse and marker.exists():
        say(f"reusing {data_dir}")
        call_command("migrate", verbosity=0)  # the schema may have moved on since
        facts = json.loads(marker.read_text())
        if reindex:
            started = time.monotonic()
            facts["indexed"] = generate.index_all(say)
            facts["index_seconds"] = round(time.monotonic() - started, 1)
            marker.write_text(json.dumps(facts))
        return data_dir, facts

    started = time.monotonic()
    say("migrating a fresh database")
    call_command("migrate", verbosity=0)
    facts = generate.generate(n_tickets, say=say)
    facts["generate_seconds"] = round(time.monotonic() - started, 1)
    say(f"generated in {facts['generate_seconds']}s; building the search index")
    started = time.monotonic()
    facts["indexed"] = generate.index_all(say)
    facts["index_seconds"] = round(time.monotonic() - started, 1)
    say(f"indexed {facts['indexed']} in {facts['index_seconds']}s")
    marker.write_text(json.dumps(facts))
    return data_dir, facts


def measure_tend(iterations: int, max_seconds: float) -> dict[str, Any]:
    from urllib.parse import urlencode

    import generate
    from django.conf import settings
    from django.test import Client
    from django.urls import reverse
    from measure import time_request

    from tend.core.models import User

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    results: dict[str, Any] = {}
    agent = Client()
    agent.force_login(User.objects.get(username=generate.BENCH_AGENT))
    newcomer = Client()
    newcomer.force_login(User.objects.get(username=generate.BENCH_FEW))

    def rows(response: Any) -> int:
        return response.content.count(b'data-ticket="')

    say("Tend: agent queue page")
    results["queue"] = time_request(
        agent, reverse("web:queue", args=["open"]), iterations=iterations, max_seconds=max_seconds
    )
    few = time_request(
        newcomer,
        reverse("web:queue", args=["mine"]),
        iterations=max(5, iterations // 5),
        max_seconds=max_seconds,
    )
    results["queue"]["queries_few_rows"] = few["queries"]
    results["queue"]["rows"] = rows(agent.get(reverse("web:queue", args=["open"])))
    results["queue"]["rows_few"] = rows(newcomer.get(reverse("web:queue", args=["mine"])))
    for case, query in (
        ("search_rare_en", generate.RARE_EN),
        ("search_zh", generate.RARE_ZH),
        ("search_zh_common", "退款"),
        ("search_common", "the"),
    ):
        say(f"Tend: search {query!r}")
        url = f"{reverse('web:search')}?{urlencode({'q': query})}"
        results[case] = time_request(agent, url, iterations=iterations, max_seconds=max_seconds)
        results[case]["query"] = query
    return results


def ensure_peer_venv() -> Path:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        say("creating the django-helpdesk virtualenv (bench/peers/setup_helpdesk.sh)")
        subprocess.run(["bash", str(PEER_SETUP)], check=True)
    return python


def measure_peer(
    tend_db: Path, peer_tickets: int, iterations: int, max_seconds: float, reuse: bool
) -> dict[str, Any]:
    import generate

    python = ensure_peer_venv()
    peer_db = DATA / f"helpdesk-{peer_tickets}-of-{tend_db.parent.name}.sqlite3"
    command = [
        str(python),
        str(PEER_SCRIPT),
        "--source",
        str(tend_db),
        "--tickets",
        str(peer_tickets),
        "--db",
        str(peer_db),
        "--iterations",
        str(iterations),
        "--max-seconds",
        str(max_seconds),
        "--queries",
        json.dumps(
            {
                "search_rare_en": generate.RARE_EN,
                "search_zh": generate.RARE_ZH,
                "search_zh_common": "退款",
                "search_common": "the",
            }
        ),
    ]
    if reuse:
        command.append("--reuse")
    say(f"peer: django-helpdesk with the newest {peer_tickets:,} tickets")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def report(
    args: argparse.Namespace,
    facts: dict[str, Any],
    tend: dict[str, Any],
    peer: dict[str, Any] | None,
) -> str:
    labels = {
        "queue": "Agent queue page, 50 rows (“All open”)",
        "search_rare_en": f"Search, rare English word ({tend['search_rare_en']['query']})",
        "search_zh": f"Search, Chinese bigram ({tend['search_zh']['query']})",
        "search_zh_common": f"Search, frequent Chinese bigram ({tend['search_zh_common']['query']})",
        "search_common": f"Search, very common word ({tend['search_common']['query']})",
    }
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    lines = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.machine()} "
        f"({os.cpu_count()} cores), Python {platform.python_version()}, SQLite "
        f"{__import__('sqlite3').sqlite_version}; load average at start "
        f"{' / '.join(str(x) for x in facts.get('load_average', []))}.",
        "",
        f"Command: `{command.strip()}`",
        "",
        f"Tend: {facts['tickets']:,} tickets, {3 * facts['tickets']:,} comments "
        f"(generated in {facts.get('generate_seconds', '?')} s, indexed in "
        f"{facts.get('index_seconds', '?')} s).",
    ]
    if peer:
        lines.append(
            f"django-helpdesk {peer.get('version', '')}: the newest "
            f"{peer['tickets']:,} of those tickets with their comments "
            f"(loaded in {peer.get('load_seconds', '?')} s)."
        )
    lines += [
        "",
        "| case | Tend p50 | Tend p95 | budget p95 | SQL queries | peer p50 | peer p95 | Tend ÷ peer (p95) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for case, label in labels.items():
        ours = tend[case]
        budget = BUDGETS.get(case)
        queries = str(ours["queries"])
        if case == "queue":
            queries += f" (also {ours['queries_few_rows']} with {ours['rows_few']} rows)"
        theirs = (peer or {}).get(case)
        ratio = f"{ours['p95_ms'] / theirs['p95_ms']:.3f}" if theirs and theirs["p95_ms"] else "—"
        lines.append(
            f"| {label} | {ours['p50_ms']} ms | {ours['p95_ms']} ms | "
            f"{f'{budget:.0f} ms' if budget else '—'} | {queries} | "
            f"{f'{theirs["p50_ms"]} ms' if theirs else '—'} | "
            f"{f'{theirs["p95_ms"]} ms' if theirs else '—'} | {ratio} |"
        )
    if peer:
        lines += [
            "",
            "Peer hit counts: "
            + ", ".join(
                f"{case} {peer[case].get('hits', '?')}"
                for case in labels
                if case in peer and case != "queue"
            ),
        ]
    return "\n".join(lines)


MARKS = {
    "pages": "<!-- results -->",
    "mail": "<!-- mail-results -->",
    "usage": "<!-- usage-results -->",
    # Written by hand (where the time goes); no run replaces it.
    "usage_notes": "<!-- usage-notes -->",
    "health": "<!-- health-results -->",
    "kb": "<!-- kb-results -->",
}


def write_docs(**new: str | None) -> None:
    """Replace the parts given (``pages=``, ``mail=``, ``usage=``, ``health=``, ``kb=``; keys of
    MARKS) below their marks; a part not given, or None, keeps what the last run wrote."""
    text = DOCS.read_text() if DOCS.exists() else ""
    positions = sorted((text.find(mark), part) for part, mark in MARKS.items() if mark in text)
    intro = text[: positions[0][0]] if positions else text
    old: dict[str, str] = {}
    for n, (start, part) in enumerate(positions):
        end = positions[n + 1][0] if n + 1 < len(positions) else len(text)
        old[part] = text[start + len(MARKS[part]) : end].strip()
    out = (intro.rstrip() or "# Benchmarks") + "\n"
    for part, mark in MARKS.items():
        body = new.get(part)
        body = body if body is not None else old.get(part, "")
        out += f"\n{mark}\n{body.strip()}\n"
    DOCS.write_text(out)


def run_script(args: list[str]) -> str:
    """Run a benchmark script in its own process; its standard output, without the
    machine-readable JSON lines."""
    done = subprocess.run(
        [sys.executable, *args], cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True
    )
    return "\n".join(
        line for line in done.stdout.splitlines() if not line.startswith(("{", "["))
    ).strip()


def run_usage() -> str:
    say("usage ingest: 4 clients × 100-event batches over HTTP")
    return run_script([str(BENCH / "usage_ingest.py")])


def run_health(args: argparse.Namespace) -> str:
    say("health recompute: 1,000 and 5,000 accounts × 50 users × 90 days; 20,000 × 30 days")
    reuse = ["--reuse"] if args.reuse else []
    ninety = run_script([str(BENCH / "health_recompute.py"), "--accounts", "1000", "5000", *reuse])
    twenty = run_script(
        [str(BENCH / "health_recompute.py"), "--accounts", "20000", "--days", "30", *reuse]
    )
    return (
        "### Daily health recompute\n\n"
        f"Command: `python bench/run.py --only health{' --reuse' if args.reuse else ''}`"
        " (SQLite; metrics over the rollups, then health scores and user grades; `again`"
        " is a second health recompute of the same day).\n\n"
        + ninety
        + "\n\nAt 20,000 accounts with 30 days of rollups (the metrics look back 30 days, so"
        " they read the same rows as with 90):\n\n" + twenty
    )


def run_kb(args: argparse.Namespace) -> str:
    say("help-center search and suggestions: 20,000 articles, half Chinese")
    command = f"python bench/run.py --only kb{' --reuse' if args.reuse else ''}"
    extra = ["--reuse"] if args.reuse else []
    return run_script([str(BENCH / "kb_search.py"), *extra, "--command", command])


def run_mail(args: argparse.Namespace) -> tuple[dict[str, Any], str]:
    import mail_ingest

    say(f"email ingest: {args.mail_count:,} messages")
    results = mail_ingest.run(args.mail_count, peer=not args.mail_no_peer)
    command = "python bench/run.py " + " ".join(sys.argv[1:])
    text = mail_ingest.report(results, command.strip())
    return results, text


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.only in ("usage", "health", "kb"):
        parts = {"usage": run_usage, "health": lambda: run_health(args), "kb": lambda: run_kb(args)}
        text = parts[args.only]()
        print("\n" + text + "\n")
        if not args.no_docs:
            write_docs(**{args.only: text})
            say(f"results written to {DOCS.relative_to(ROOT)}")
        return 0
    if args.only == "mail":
        sys.path.insert(0, str(BENCH))
        mail, mail_text = run_mail(args)
        print("\n" + mail_text + "\n")
        results_dir = BENCH / "results"
        results_dir.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        (results_dir / f"{stamp}-mail-{args.mail_count}.json").write_text(
            json.dumps({"args": vars(args), "mail": mail}, indent=2)
        )
        if not args.no_docs:
            write_docs(mail=mail_text)
            say(f"results written to {DOCS.relative_to(ROOT)}")
        if mail["tend"]["per_second"] < mail_ingest_budget():
            say("over budget: mail ingest")
        return 0
    data_dir, facts = prepare_tend(args.tickets, args.reuse, args.reindex)
    if args.generate_only:
        return 0
    facts["load_average"] = [round(x, 2) for x in os.getloadavg()]
    tend = measure_tend(args.iterations, args.max_seconds)
    peer = None
    if args.peer_tickets:
        peer = measure_peer(
            data_dir / "tend.sqlite3",
            min(args.peer_tickets, args.tickets),
            args.iterations,
            args.max_seconds,
            args.reuse,
        )
    table = report(args, facts, tend, peer)
    print("\n" + table + "\n")
    mail, mail_text = None, None
    if args.only != "pages":
        # After the pages, so the ingest's CPU load does not disturb their timings.
        mail, mail_text = run_mail(args)
        print("\n" + mail_text + "\n")
    results_dir = BENCH / "results"
    results_dir.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (results_dir / f"{stamp}-{args.tickets}.json").write_text(
        json.dumps(
            {"args": vars(args), "facts": facts, "tend": tend, "peer": peer, "mail": mail},
            indent=2,
        )
    )
    usage_text = health_text = kb_text = None
    if args.only != "pages":
        usage_text = run_usage()
        health_text = run_health(args)
        kb_text = run_kb(args)
    if not args.no_docs:
        write_docs(pages=table, mail=mail_text, usage=usage_text, health=health_text, kb=kb_text)
        say(f"results written to {DOCS.relative_to(ROOT)}")
    failed = [case for case, budget in BUDGETS.items() if tend[case]["p95_ms"] > budget]
    if mail and mail["tend"]["per_second"] < mail_ingest_budget():
        failed.append("mail ingest")
    if failed:
        say("over budget: " + ", ".join(failed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
