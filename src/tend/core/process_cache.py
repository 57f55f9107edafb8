"""Configuration rows kept in memory by each process, with a bounded staleness.

Some rows are read for every incoming message or ticket and change a few times a year
(mailboxes, the default SLA policy). Each process keeps what ``load`` returned for
``ttl`` seconds. A save or delete of one of the watched models in this process forgets
the copy at once; another process (the web process editing while a worker reads) sees
the change within ``ttl`` seconds — the documented staleness.

While a watched model was written inside a transaction that has not committed, the copy
is bypassed (``load`` runs every time), so rows of a transaction that gets rolled back
— tests do that constantly — are never served from memory.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db import models, transaction
from django.db.models.signals import post_delete, post_migrate, post_save


class ProcessCache[T]:
    def __init__(
        self, name: str, load: Callable[[], T], *, ttl: float, watch: Iterable[type[models.Model]]
    ) -> None:
        self.load = load
        self.ttl = ttl
        self._value: tuple[float, T] | None = None
        self._dirty = False
        for model in watch:
            uid = f"tend.process_cache.{name}.{model._meta.label}"
            post_save.connect(self.forget, sender=model, weak=False, dispatch_uid=uid + ".save")
            post_delete.connect(self.forget, sender=model, weak=False, dispatch_uid=uid + ".del")
        # A test database flush (TransactionTestCase) deletes rows without model signals.
        post_migrate.connect(self._committed, weak=False, dispatch_uid=f"{name}.flushed")

    def get(self) -> T:
        """The value, loaded at most ``ttl`` seconds ago (do not modify it)."""
        if self._dirty:
            if transaction.get_connection().in_atomic_block:
                return self.load()
            self._dirty = False  # autocommit: nothing of ours is pending any more
        now = time.monotonic()
        if self._value is None or now - self._value[0] > self.ttl:
            self._value = (now, self.load())
        return self._value[1]

    def peek(self) -> T | None:
        """The value if ``get`` would return it without loading; else None. Runs no
        query, so it may be called where Django allows none (an event loop)."""
        if self._dirty or self._value is None or time.monotonic() - self._value[0] > self.ttl:
            return None
        return self._value[1]

    def forget(self, **_kwargs: Any) -> None:
        self._value = None
        if transaction.get_connection().in_atomic_block:
            self._dirty = True
            transaction.on_commit(self._committed)

    def _committed(self, **_kwargs: Any) -> None:
        self._value, self._dirty = None, False
