"""A database cursor for the ingest hot path, without Django's per-statement wrappers.

Each statement through ``connection.cursor()`` passes Django's execute wrappers, its
error translation and, on SQLite, a regular-expression rewrite of every ``%s`` into
``?``. For a 100-event batch (one INSERT with 1,300 placeholders, a hundred rollup
upserts) that came to about a tenth of the server's time (py-spy, bench/usage_ingest.py).
This cursor runs the same SQL on the same connection, so it takes part in the same
transaction; on SQLite the placeholder rewrite is done once per distinct statement.
Only for statements written for both databases with ``%s`` placeholders and no
literal ``%``; everything else keeps ``connection.cursor()``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import lru_cache
from types import TracebackType
from typing import Any

from django.db import connection


@lru_cache(maxsize=512)
def _qmarks(sql: str) -> str:
    return sql.replace("%s", "?")


class HotCursor:
    def __init__(self) -> None:
        connection.ensure_connection()
        self._sqlite = connection.vendor == "sqlite"
        # PostgreSQL's driver takes %s itself; its Django wrapper costs little there.
        self._cursor: Any = connection.connection.cursor() if self._sqlite else connection.cursor()

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        self._cursor.execute(_qmarks(sql) if self._sqlite else sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self._cursor.executemany(_qmarks(sql) if self._sqlite else sql, rows)

    @property
    def rowcount(self) -> int:
        return int(self._cursor.rowcount)

    @property
    def lastrowid(self) -> int:
        return int(self._cursor.lastrowid)

    def fetchall(self) -> list[tuple[Any, ...]]:
        return list(self._cursor.fetchall())

    def __enter__(self) -> HotCursor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._cursor.close()
