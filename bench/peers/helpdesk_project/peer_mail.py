"""Time django-helpdesk importing a Maildir from a local directory (its ``get_email``).

Run by bench/mail_ingest.py with the helpdesk virtualenv's Python:

    helpdesk-venv/bin/python peer_mail.py --maildir ../../data/maildir-10000 \
        --work ../../data/mail-helpdesk

A fresh SQLite database is migrated; one queue is configured the way helpdesk's docs
describe for a local mail spool (``email_box_type="local"``, ``email_box_local_dir``);
then ``helpdesk.email.process_email()`` — the body of ``manage.py get_email`` — imports
every file. helpdesk reads a flat directory and deletes each file it turns into a
ticket, so it gets a copy: ``new/`` and ``cur/`` flattened into one directory, each
file prefixed with its delivery number, and the directory listing sorted so replies
come after the messages they answer (``os.listdir`` order is arbitrary; without this
helpdesk would open new tickets for replies that arrive "before" their original).
Per-message times come from wrapping its ``extract_email_metadata``. Prints one JSON
line.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SUPPORT = "support@tend.example"


def log(message: str) -> None:
    print(f"[peer {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--maildir", type=Path, required=True)
    parser.add_argument("--work", type=Path, required=True)
    args = parser.parse_args()

    work = args.work.resolve()
    if work.exists():
        shutil.rmtree(work)
    spool = work / "spool"
    spool.mkdir(parents=True)
    order = (args.maildir / "order.txt").read_text().split()
    for n, rel in enumerate(order):
        shutil.copyfile(args.maildir / rel, spool / f"{n:07d}-{Path(rel).name.replace(':', '_')}")

    os.environ["HDBENCH_DB"] = str(work / "helpdesk.sqlite3")
    os.environ["HDBENCH_MEDIA"] = str(work / "media")
    os.environ["DJANGO_SETTINGS_MODULE"] = "hdbench.mail_settings"
    sys.path.insert(0, str(HERE))
    import django

    django.setup()
    from django.core.management import call_command

    log("migrating a fresh database")
    call_command("migrate", verbosity=0)

    import helpdesk.email as hd_email
    from helpdesk.models import FollowUp, FollowUpAttachment, Queue, Ticket

    Queue.objects.create(
        title="Support",
        slug="support",
        email_address=SUPPORT,
        allow_email_submission=True,
        email_box_type="local",
        email_box_local_dir=str(spool),
        email_box_interval=0,
        logging_type="crit",  # "none" leaves its errors to logging.lastResort (stderr)
    )

    samples: list[float] = []
    extract = hd_email.extract_email_metadata

    def timed_extract(*a, **kw):  # type: ignore[no-untyped-def]
        t0 = time.perf_counter()
        try:
            return extract(*a, **kw)
        finally:
            samples.append((time.perf_counter() - t0) * 1000)

    hd_email.extract_email_metadata = timed_extract
    listdir = os.listdir
    hd_email.os.listdir = lambda path: sorted(listdir(path))  # delivery order

    log(f"importing {len(order):,} messages with process_email()")
    cpu_started = time.process_time()
    started = time.perf_counter()
    hd_email.process_email(quiet=True)
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    hd_email.os.listdir = listdir
    left = len(listdir(spool))
    n = len(samples)
    print(
        json.dumps(
            {
                "version": importlib.metadata.version("django-helpdesk"),
                "messages": n,
                "wall_seconds": round(wall, 2),
                "per_second": round(n / wall, 1) if wall else None,
                "cpu_seconds": round(cpu, 2),
                "per_cpu_second": round(n / cpu, 1) if cpu else None,
                "p50_ms": round(statistics.median(samples), 2) if samples else None,
                "p95_ms": round(percentile(samples, 95), 2) if samples else None,
                "p99_ms": round(percentile(samples, 99), 2) if samples else None,
                "max_ms": round(max(samples), 2) if samples else None,
                "tickets": Ticket.objects.count(),
                "followups": FollowUp.objects.count(),
                "attachments": FollowUpAttachment.objects.count(),
                "files_left_unprocessed": left,
            }
        )
    )


if __name__ == "__main__":
    main()
