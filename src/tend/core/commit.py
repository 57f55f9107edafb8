"""Side effects that run after the transaction commits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction


def after_commit(func: Callable[[], Any]) -> None:
    """Run ``func`` once the surrounding transaction commits.

    Robust: the data is already saved, so a failing side effect (a search re-index, an
    email, a receiver) is logged by Django and never turns the user's saved work into
    an error page or stops the side effects queued after it.
    """
    transaction.on_commit(func, robust=True)
