"""Email ingest benchmark: a 10,000-message Maildir into Tend and into django-helpdesk.

Tend: a fresh SQLite database under ``bench/data/mail-tend/``, migrated, then every
message in delivery order through ``tend.mail.services.inbound_receive(raw=...,
via="smtp")`` — the path the SMTP receiver, the IMAP poller and the HTTP hook share:
store the raw bytes, parse, thread, create the ticket or comment with its attachments,
and re-index the ticket once the transaction commits. The loop runs outside any
transaction, so the commit callbacks (search indexing) fire inside the timed call;
the run checks afterwards that every ticket is in the search index.

Peer: django-helpdesk's own import from a local directory (``process_email`` with a
queue whose ``email_box_type`` is ``local`` — what its ``get_email`` command runs) on
its own SQLite database; see ``peers/helpdesk_project/peer_mail.py``.

Each side runs in its own process (Django is configured once per process). Prints a
JSON summary; ``run.py --only mail`` folds it into docs/benchmarks.md.

    python bench/mail_ingest.py                    # both, 10,000 messages
    python bench/mail_ingest.py --count 1000 --no-peer
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
DATA = BENCH / "data"
PEER_VENV = BENCH / "peers" / "helpdesk-venv"
PEER_SCRIPT = BENCH / "peers" / "helpdesk_project" / "peer_mail.py"
BUDGET_PER_SECOND = 100.0


def say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def summarise(samples_ms: list[float], wall_seconds: float, cpu_seconds: float) -> dict[str, Any]:
    """Rates over the whole loop, and per-message percentiles. CPU seconds are the
    process's own; on a busy machine messages per CPU second says more than wall time."""
    n = len(samples_ms)
    return {
        "messages": n,
        "wall_seconds": round(wall_seconds, 2),
        "per_second": round(n / wall_seconds, 1) if wall_seconds else None,
        "cpu_seconds": round(cpu_seconds, 2),
        "per_cpu_second": round(n / cpu_seconds, 1) if cpu_seconds else None,
        "p50_ms": round(statistics.median(samples_ms), 2),
        "p95_ms": round(percentile(samples_ms, 95), 2),
        "p99_ms": round(percentile(samples_ms, 99), 2),
        "max_ms": round(max(samples_ms), 2),
    }


def corpus_path(count: int) -> Path:
    return DATA / f"maildir-{count}"


def ensure_corpus(count: int) -> dict[str, Any]:
    sys.path.insert(0, str(BENCH))
    import mail_corpus

    started = time.monotonic()
    facts = mail_corpus.ensure(corpus_path(count), count)
    facts["generate_seconds"] = round(time.monotonic() - started, 1)
    return facts


def delivery_order(maildir: Path) -> list[Path]:
    return [maildir / rel for rel in (maildir / "order.txt").read_text().split()]


# --- Tend (runs in a child process) ----------------------------------------------------


def tend_side(maildir: Path, data_dir: Path, profile: str | None) -> dict[str, Any]:
    if data_dir.exists():
        shutil.rmtree(data_dir)
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

    from tend.core.models import SearchDocument
    from tend.desk.models import Attachment, Comment, Team, Ticket
    from tend.mail.models import InboundMessage, Mailbox, MessageReference
    from tend.mail.services import inbound_receive

    say("Tend: migrating a fresh database")
    call_command("migrate", verbosity=0)
    team = Team.objects.create(name="Support")
    Mailbox.objects.create(address="support@tend.example", name="Acme Support", default_team=team)

    files = delivery_order(maildir)
    say(f"Tend: ingesting {len(files):,} messages")
    samples: list[float] = []
    profiler = None
    if profile:
        try:  # a sampling profiler distorts less; cProfile (stdlib) otherwise
            from pyinstrument import Profiler

            profiler = Profiler()
            profiler.start()
        except ImportError:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
    cpu_started = time.process_time()
    started = time.perf_counter()
    for n, path in enumerate(files, 1):
        raw = path.read_bytes()
        t0 = time.perf_counter()
        inbound_receive(raw=raw, via="smtp")
        samples.append((time.perf_counter() - t0) * 1000)
        if n % 2000 == 0:
            say(f"Tend: {n:,} done, {n / (time.perf_counter() - started):.0f}/s")
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    # The callbacks (search indexing) only ran inside the timing if nothing held a
    # transaction open around the loop.
    assert not connection.in_atomic_block
    if profiler is not None and hasattr(profiler, "output_html"):
        profiler.stop()
        Path(profile).write_text(profiler.output_html())
        print(profiler.output_text(unicode=True, color=False), file=sys.stderr)
    elif profiler is not None:
        import pstats

        profiler.disable()
        profiler.dump_stats(profile)
        stats = pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative")
        stats.print_stats(60)

    result = summarise(samples, wall, cpu)
    # Per-message time by thousand: flat means the cost does not grow with the database.
    result["p50_ms_by_thousand"] = [
        round(statistics.median(samples[i : i + 1000]), 2) for i in range(0, len(samples), 1000)
    ]
    tickets = Ticket.objects.count()
    indexed = SearchDocument.objects.filter(kind="ticket").count()
    # A document carries its ticket's updated_at: any mismatch is a reply not re-indexed.
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM desk_ticket t JOIN core_searchdocument d"
            " ON d.kind = 'ticket' AND d.object_id = t.id WHERE d.updated_at <> t.updated_at"
        )
        stale = cursor.fetchone()[0]
    result.update(
        {
            "tickets": tickets,
            "comments": Comment.objects.count(),
            "replies_threaded": Comment.objects.count() - tickets,
            "attachments": Attachment.objects.count(),
            "inbound_processed": InboundMessage.objects.filter(status="processed").count(),
            "inbound_total": InboundMessage.objects.count(),
            "message_references": MessageReference.objects.count(),
            "flagged": Ticket.objects.filter(tags__name="needs_review").count(),
            "tickets_indexed": indexed,
            "tickets_index_stale": stale,
        }
    )
    if indexed != tickets or stale:
        say(f"Tend: WARNING {indexed} of {tickets} tickets indexed, {stale} out of date")
    return result


# --- orchestration ---------------------------------------------------------------------


def run_tend(count: int, profile: str | None = None) -> dict[str, Any]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--side",
        "tend",
        "--count",
        str(count),
    ]
    if profile:
        command += ["--profile", profile]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_peer(count: int) -> dict[str, Any]:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        say("creating the django-helpdesk virtualenv (bench/peers/setup_helpdesk.sh)")
        subprocess.run(["bash", str(BENCH / "peers" / "setup_helpdesk.sh")], check=True)
    work = DATA / "mail-helpdesk"
    command = [
        str(python),
        str(PEER_SCRIPT),
        "--maildir",
        str(corpus_path(count)),
        "--work",
        str(work),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEND_", "DJANGO_"))}
    env["PYTHONUTF8"] = "1"  # helpdesk opens the files in text mode with the locale's codec
    say("peer: django-helpdesk local-directory import")
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(count: int = 10_000, peer: bool = True, profile: str | None = None) -> dict[str, Any]:
    """Corpus, Tend, peer; returns everything run.py reports."""
    load = [round(x, 2) for x in os.getloadavg()]
    corpus = ensure_corpus(count)
    say(f"corpus: {corpus['messages']:,} messages, {corpus['bytes'] / 1e6:.0f} MB")
    tend = run_tend(count, profile)
    say(f"Tend: {tend['per_second']} msg/s (p50 {tend['p50_ms']} ms, p95 {tend['p95_ms']} ms)")
    theirs = run_peer(count) if peer else None
    if theirs:
        say(f"peer: {theirs['per_second']} msg/s (p50 {theirs['p50_ms']} ms)")
    ratio = (
        round(tend["per_second"] / theirs["per_second"], 2)
        if theirs and theirs.get("per_second")
        else None
    )
    cpu_ratio = (
        round(tend["per_cpu_second"] / theirs["per_cpu_second"], 2)
        if theirs and theirs.get("per_cpu_second")
        else None
    )
    return {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M"),
        "load_average": load,
        "corpus": corpus,
        "tend": tend,
        "peer": theirs,
        "rate_ratio": ratio,
        "cpu_rate_ratio": cpu_ratio,
    }


def report(results: dict[str, Any], command: str) -> str:
    corpus, tend, peer = results["corpus"], results["tend"], results["peer"]
    charsets = ", ".join(f"{k} {v:,}" for k, v in sorted(corpus["charsets"].items()))
    lines = [
        "### Email ingest",
        "",
        f"Run {results.get('when', '?')} UTC on {platform.machine()} ({os.cpu_count()} cores), "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}; load average at "
        f"start {' / '.join(str(x) for x in results.get('load_average', []))}.",
        "",
        f"Command: `{command}`",
        "",
        f"Corpus (`bench/mail_corpus.py`, seeded): {corpus['messages']:,} messages, "
        f"{corpus['bytes'] / 1e6:.0f} MB; {corpus['chinese']:,} Chinese, {corpus['replies']:,} "
        f"replies threading by In-Reply-To/References, {corpus['html']:,} with HTML, "
        f"{corpus['with_attachments']:,} with {corpus['attachments']:,} attachments "
        f"(≤ 150 KB; {corpus['refused_attachments']} of a refused type). Text parts by "
        f"charset label: {charsets}.",
        "",
        "| | messages/s | messages/CPU s | p50 / message | p95 / message | tickets "
        "| comments | wall |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        f"| Tend (budget ≥ {BUDGET_PER_SECOND:.0f}/s) | {tend['per_second']} | "
        f"{tend.get('per_cpu_second', '—')} | {tend['p50_ms']} ms | {tend['p95_ms']} ms | "
        f"{tend['tickets']:,} | {tend['comments']:,} | {tend['wall_seconds']} s |",
    ]
    if peer:
        lines.append(
            f"| django-helpdesk {peer.get('version', '')} | {peer['per_second']} | "
            f"{peer.get('per_cpu_second', '—')} | {peer['p50_ms']} ms | {peer['p95_ms']} ms | "
            f"{peer['tickets']:,} | {peer['followups']:,} follow-ups | "
            f"{peer['wall_seconds']} s |"
        )
    ratio = results["rate_ratio"] or "—"
    cpu_ratio = results.get("cpu_rate_ratio") or "—"
    lines += [
        "",
        f"Tend ÷ peer (rate): {ratio} by wall time, {cpu_ratio} per CPU second. "
        f"Tend stored {tend['inbound_total']:,} raw messages, saved {tend['attachments']:,} "
        f"attachments, flagged {tend['flagged']} tickets for review and had "
        f"{tend['tickets_indexed']:,} of {tend['tickets']:,} tickets in the search index, "
        f"{tend.get('tickets_index_stale', '?')} out of date, when the loop ended (indexing "
        "runs in the timed call, after each commit).",
    ]
    load = results.get("load_average") or [0.0]
    if load[0] > (os.cpu_count() or 1):
        lines += [
            "",
            "The machine was busy (load above its core count) during this run, so both "
            "wall-clock rates are low; messages per CPU second compare better.",
        ]
    if tend["per_second"] < BUDGET_PER_SECOND:
        lines += [
            "",
            f"**Over budget**: {tend['per_second']} < {BUDGET_PER_SECOND:.0f} messages/s.",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="profile the Tend loop: pyinstrument HTML if installed, else a cProfile dump",
    )
    parser.add_argument("--side", choices=["tend"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side == "tend":
        result = tend_side(corpus_path(args.count), DATA / "mail-tend", args.profile)
        print(json.dumps(result))
        return 0
    results = run(args.count, peer=not args.no_peer, profile=args.profile)
    print(report(results, "python bench/mail_ingest.py " + " ".join(sys.argv[1:])))
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
