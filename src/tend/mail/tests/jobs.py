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

from django.tasks import task_backends
from django.tasks.backends.dummy import DummyBackend
from django.test import override_settings

DUMMY_TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}


class Jobs:
    """The jobs enqueued while the context is active."""

    def __init__(self) -> None:
        backend = task_backends["default"]
        assert isinstance(backend, DummyBackend)
        self.backend = backend

    def names(self) -> list[str]:
        return [r.task.module_path for r in self.backend.results]

    def args(self, name: str) -> list[tuple[Any, ...]]:
        return [tuple(r.args) for r in self.backend.results if r.task.module_path == name]

    def run(self) -> list[Any]:
        """Run every waiting job once (jobs they enqueue wait for the next call)."""
        waiting = list(self.backend.results)
        self.backend.clear()
        return [r.task.call(*r.args, **r.kwargs) for r in waiting]


@contextmanager
def recorded_jobs() -> Iterator[Jobs]:
    with override_settings(TASKS=DUMMY_TASKS):
        yield Jobs()
