"""`tend scheduler`: enqueue periodic jobs (django-crontask).

Every installed app's `tasks` module is imported, so each `@cron(...)`-decorated
task registers itself. With TEND_REDIS_URL a Redis lock lets exactly one
scheduler enqueue; the others stand by and take over when it goes away, so every
machine can run the same process list (e.g. `tend run`) without doubled jobs.
"""

from __future__ import annotations

import signal
from argparse import ArgumentParser
from types import FrameType
from typing import Any

from crontask import scheduler, utils
from crontask.management.commands.crontask import Command as CrontaskCommand
from django.core.management.base import CommandError


def _stop(signum: int, frame: FrameType | None) -> None:
    # crontask stops on KeyboardInterrupt; raising it for SIGTERM too lets a
    # standby scheduler exit as cleanly as an active one.
    raise KeyboardInterrupt(signal.Signals(signum).name)


class Command(CrontaskCommand):
    help = "Enqueue periodic jobs on their schedule (one active scheduler per installation)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--heartbeat",
            action="store_true",
            help="Also enqueue crontask's once-a-minute heartbeat job (for monitoring).",
        )

    def handle(self, *args: Any, heartbeat: bool, **options: Any) -> None:
        self.load_tasks(options)
        if heartbeat:
            import crontask.tasks  # noqa: F401  (registers the heartbeat on import)
        signal.signal(signal.SIGTERM, _stop)
        try:
            self.run_when_leader()
        except KeyboardInterrupt:
            self.stdout.write("Scheduler stopped.")

    def run_when_leader(self) -> None:
        waiting_said = False
        while True:
            try:
                # Acquiring blocks for up to CRONTASK LOCK_BLOCKING_TIMEOUT seconds.
                with utils.lock as lock:
                    self.launch_scheduler(lock, scheduler)
                return
            except utils.LockNotOwnedError as exc:
                # The lock expired under us (e.g. Redis restarted); another scheduler
                # may now be active. Exit non-zero so the supervisor restarts us as
                # a fresh standby rather than risk two active schedulers.
                raise CommandError("Lost the scheduler lock; exiting.") from exc
            except utils.LockError:
                if not waiting_said:
                    self.stdout.write("Another scheduler is active; standing by.")
                    waiting_said = True
