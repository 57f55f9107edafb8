"""`tend seed_demo [--size small|full]`: fill the database with a demo company."""

from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand

from tend.demo.seed import SIZES, demo_seed


class Command(BaseCommand):
    help = "Seed a demo company: accounts, contacts, staff, six months of tickets (idempotent)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--size",
            choices=sorted(SIZES),
            default="full",
            help="small: ~100 tickets for tests; full: ~2,400 tickets (default).",
        )

    def handle(self, *args: Any, size: str, **options: Any) -> None:
        started = time.monotonic()

        def say(message: str) -> None:
            self.stdout.write(f"    {message} ({time.monotonic() - started:.1f}s)")

        summary = demo_seed(size=size, progress=say)
        if summary is None:
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"    Demo company ready: {summary.accounts} accounts, {summary.contacts} contacts, "
                f"{summary.tickets} tickets in {time.monotonic() - started:.1f}s."
            )
        )
        if summary.staff:
            self.stdout.write(
                "    Demo agents (sam, priya, liwei, zhangmin, hannah, wangfang, kenji, olga, "
                f"manager, csm, auditor) sign in with the password: {summary.staff_password}"
            )
