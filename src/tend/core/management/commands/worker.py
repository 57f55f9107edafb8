"""`tend worker`: run background jobs from whichever task backend is configured.

The embedded default keeps jobs in the database (django-tasks-db); with
TEND_REDIS_URL they go through RQ (django-tasks-rq). Operators should not need
to know which worker program each backend wants, nor its flags.
"""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Run background jobs (database queue by default, RQ when TEND_REDIS_URL is set)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--queues",
            default="",
            help="Comma-separated queue names to work on (default: every queue).",
        )
        parser.add_argument(
            "--burst",
            action="store_true",
            help="Run the jobs that are waiting, then exit.",
        )

    def handle(self, *args: Any, queues: str, burst: bool, **options: Any) -> None:
        names = [name.strip() for name in queues.split(",") if name.strip()]
        if settings.REDIS_URL:
            self.run_rq(names, burst=burst, verbosity=options["verbosity"])
        else:
            self.run_db(names, burst=burst, verbosity=options["verbosity"])

    def run_db(self, names: list[str], *, burst: bool, verbosity: int) -> None:
        call_command(
            "db_worker",
            queue_name=",".join(names) or "*",
            batch=burst,
            # The autoreloader would restart the worker mid-job on every code change
            # in DEBUG; `tend worker` behaves the same in every mode.
            reload=False,
            verbosity=verbosity,
            stdout=self.stdout,
            stderr=self.stderr,
        )

    def run_rq(self, names: list[str], *, burst: bool, verbosity: int) -> None:
        from django_rq.utils import reset_db_connections
        from django_rq.workers import get_worker
        from django_tasks_rq import Job
        from redis.exceptions import ConnectionError as RedisConnectionError
        from rq.logutils import setup_loghandlers

        configured = list(settings.TASKS["default"].get("QUEUES") or settings.RQ_QUEUES)
        level = "DEBUG" if verbosity >= 2 else "WARNING" if verbosity == 0 else "INFO"
        setup_loghandlers(level)
        try:
            # RQ's stock Job calls the enqueued object directly; a django.tasks Task
            # is not callable, so every job would fail without django-tasks-rq's Job.
            worker = get_worker(*(names or configured), job_class=Job)
            # The worker forks per job; children must not share the parent's sockets.
            reset_db_connections()
            # with_scheduler moves jobs enqueued with run_after onto the queue on time.
            worker.work(burst=burst, with_scheduler=True, logging_level=level)
        except RedisConnectionError as exc:
            raise CommandError(f"Cannot reach Redis at TEND_REDIS_URL: {exc}") from exc
