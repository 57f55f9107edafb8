"""A task that exists only for the worker tests: it leaves a file behind when it runs."""

from __future__ import annotations

from pathlib import Path

from django.tasks import task


@task
def write_marker(path: str, text: str) -> str:
    Path(path).write_text(text)
    return text
