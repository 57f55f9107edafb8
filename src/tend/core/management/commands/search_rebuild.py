"""`tend search_rebuild`: re-index every ticket, contact and account."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tend.core.search import search_rebuild


class Command(BaseCommand):
    help = "Rebuild the full-text search index from the objects themselves."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--kind", action="append", dest="kinds", help="Only this kind (repeatable)."
        )

    def handle(self, *args: Any, kinds: list[str] | None = None, **options: Any) -> None:
        started = time.monotonic()
        last = [0.0]

        def progress(kind: str, done: int, total: int) -> None:
            now = time.monotonic()
            # A line per second at most, and always the last one of each kind.
            if done == total or now - last[0] >= 1:
                last[0] = now
                self.stdout.write(f"{kind}: {done}/{total}")

        counts = search_rebuild(progress, kinds=kinds)
        summary = ", ".join(f"{n} {kind}" for kind, n in counts.items())
        self.stdout.write(
            self.style.SUCCESS(f"Indexed {summary} in {time.monotonic() - started:.1f}s")
        )
