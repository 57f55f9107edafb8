"""Run enqueued jobs in the test process.

The test database lives inside a transaction the worker process cannot see, so unit
tests swap in Django's DummyBackend (it records what was enqueued) and run each job's
real task function here. The end-to-end path through `tend worker` is covered by
test_crash.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.tasks.base import TaskResult
from django.tasks.signals import task_enqueued
from django.test import override_settings

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


class Jobs:
    """The jobs enqueued while the context is active.

    Collected from the ``task_enqueued`` signal rather than from the backend instance:
    which instance an enqueue reaches depends on context-local state the test does not
    control, and every backend sends the signal.
    """

    def __init__(self) -> None:
        self.results: list[TaskResult[Any]] = []

    def record(self, sender: Any, *, task_result: TaskResult[Any], **kwargs: Any) -> None:
        self.results.append(task_result)

    def names(self) -> list[str]:
        return [r.task.module_path for r in self.results]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [tuple(r.args) for r in self.results if r.task.module_path == name]

    def run(self) -> list[Any]:
        """Run every waiting job once (jobs they enqueue wait for the next call)."""
        waiting = list(self.results)
        self.results.clear()
        return [r.task.call(*r.args, **r.kwargs) for r in waiting]


@contextmanager
def recorded_jobs() -> Iterator[Jobs]:
    jobs = Jobs()
    task_enqueued.connect(jobs.record, weak=False)
    try:
        with override_settings(TASKS=DUMMY_TASKS):
            yield jobs
    finally:
        task_enqueued.disconnect(jobs.record)
