"""The two places search queries run: SQLite FTS5 and PostgreSQL tsvector + GIN.

Both answer the same Query (user terms AND-ed, optional kinds, filter groups) with
document ids, best first or newest first, and each picks the plan that suits its
engine. Only this module writes SQL against the index structures; everything a
user typed reaches the database as a bound parameter, never as SQL text.

The shared rule: when a query matches more than ``huge`` documents, ranking them
would cost time in proportion to the matches, so the newest are shown instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from django.db import transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from tend.core.search.schema import (
    FTS_TABLE,
    PG_BIG_KIND,
    PG_META,
    PG_TITLE,
    PG_VECTOR,
)
from tend.core.search.tokens import QueryTerm

Order = Literal["rank", "recent"]
Rows = list[tuple[int, float]]


def kind_term(kind: str) -> str:
    return f"!k:{kind}"


@dataclass(frozen=True)
class Query:
    """User terms, all required; ``kinds`` (empty: any); ``groups`` of filter terms
    (see tend.core.search.index), one term of each group required."""

    terms: tuple[QueryTerm, ...]
    kinds: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class Found:
    rows: Rows  # (document id, score), in order
    count: int  # matches, counted no further than huge + 1
    ordered_by: Order


class SearchBackend(Protocol):
    def find(self, query: Query, *, limit: int, offset: int, huge: int) -> Found: ...

    def object_ids_sql(self, query: Query, cap: int) -> tuple[str, list[str | int]]: ...


def backend_for(connection: BaseDatabaseWrapper) -> SearchBackend:
    if connection.vendor == "sqlite":
        return SQLiteBackend(connection)
    if connection.vendor == "postgresql":
        return PostgresBackend(connection)
    raise NotImplementedError(
        f"Tend search supports SQLite and PostgreSQL, not {connection.vendor}"
    )


# --- SQLite FTS5 ---------------------------------------------------------------------

# bm25 column weights: filter terms count for nothing, a title hit five body hits.
_BM25 = f"bm25({FTS_TABLE}, 0.0, 5.0, 1.0)"


def _fts_string(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def _fts_term(term: QueryTerm) -> str:
    text = _fts_string(term.token) + (" *" if term.prefix else "")
    if term.parts:
        return "(" + text + " OR (" + " AND ".join(map(_fts_string, term.parts)) + "))"
    return text


def fts_query(terms: Sequence[QueryTerm], groups: Sequence[Sequence[str]] = ()) -> str:
    """An FTS5 MATCH expression; every term is a quoted string, so nothing a user
    types is read as FTS5 syntax."""
    parts = [_fts_term(t) for t in terms]
    parts += ["(" + " OR ".join(map(_fts_string, group)) + ")" for group in groups]
    return " AND ".join(parts)


class SQLiteBackend:
    """Kinds and filters are terms in the FTS5 index: FTS5 intersects posting lists
    by skipping through them, so "tickets of team 3" costs little even when the
    word is common."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def _rows(self, sql: str, params: Sequence[str | int]) -> Rows:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return [(int(row[0]), float(row[1])) for row in cursor.fetchall()]

    def _count(self, match: str, cap: int) -> int:
        sql = (
            f"SELECT count(*), 0 FROM (SELECT rowid FROM {FTS_TABLE} "  # noqa: S608
            f"WHERE {FTS_TABLE} MATCH %s LIMIT %s)"
        )
        return int(self._rows(sql, [match, cap])[0][0])

    @staticmethod
    def _groups(query: Query) -> list[Sequence[str]]:
        kinds = [[kind_term(k) for k in query.kinds]] if query.kinds else []
        return [*kinds, *query.groups]

    def find(self, query: Query, *, limit: int, offset: int, huge: int) -> Found:
        groups = self._groups(query)
        full = fts_query(query.terms, groups)
        # How common is each term? Counting stops at huge + 1, so even "the" costs
        # a fraction of a millisecond.
        rare = [t for t in query.terms if self._count(fts_query([t]), huge + 1) <= huge]
        count = self._count(full, huge + 1)
        if not rare:
            return Found(self._recent(full, limit, offset), count, "recent")
        return Found(self._ranked(query.terms, rare, full, limit, offset), count, "rank")

    def _recent(self, match: str, limit: int, offset: int) -> Rows:
        # Document ids grow with every (re)index, so rowid order is recency order, and
        # FTS5 walks posting lists backwards without looking at the other matches.
        sql = (
            f"SELECT rowid, 0.0 FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "  # noqa: S608
            "ORDER BY rowid DESC LIMIT %s OFFSET %s"
        )
        return self._rows(sql, [match, limit, offset])

    def _ranked(
        self,
        terms: Sequence[QueryTerm],
        rare: Sequence[QueryTerm],
        full: str,
        limit: int,
        offset: int,
    ) -> Rows:
        # bm25 reads the whole posting list of every phrase in its MATCH to weigh it by
        # rarity: for "!k:ticket" or a very common word that is a scan of the index.
        # So bm25 sees only the rare terms (common ones would weigh next to nothing),
        # which also bound the candidates, and a subquery with every term and filter
        # picks the rows. The "+" keeps SQLite from driving the query from that
        # subquery, which would start one FTS5 query (and one bm25 set-up) per
        # candidate: 2 s instead of 50 ms at 200,000 documents.
        rank_match = fts_query(rare)
        if rank_match == full:
            sql = (
                f"SELECT rowid, {_BM25} AS score FROM {FTS_TABLE} "  # noqa: S608
                f"WHERE {FTS_TABLE} MATCH %s ORDER BY score, rowid DESC LIMIT %s OFFSET %s"
            )
            params: list[str | int] = [full, limit, offset]
        else:
            sql = (
                f"SELECT rowid, {_BM25} AS score FROM {FTS_TABLE} "  # noqa: S608
                f"WHERE {FTS_TABLE} MATCH %s AND +rowid IN "
                f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s) "
                "ORDER BY score, rowid DESC LIMIT %s OFFSET %s"
            )
            params = [rank_match, full, limit, offset]
        # bm25 is "lower is better"; callers get "higher is better" from both backends.
        return [(doc_id, -score) for doc_id, score in self._rows(sql, params)]

    def object_ids_sql(self, query: Query, cap: int) -> tuple[str, list[str | int]]:
        sql = (
            "SELECT object_id FROM core_searchdocument WHERE id IN "  # noqa: S608
            f"(SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s "
            "ORDER BY rowid DESC LIMIT %s)"
        )
        return sql, [fts_query(query.terms, self._groups(query)), cap]


# --- PostgreSQL ----------------------------------------------------------------------


def _ts_string(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


def _ts_term(term: QueryTerm) -> str:
    text = _ts_string(term.token) + (":*" if term.prefix else "")
    if term.parts:
        return "(" + text + " | (" + " & ".join(map(_ts_string, term.parts)) + "))"
    return text


def ts_user_query(terms: Sequence[QueryTerm]) -> str:
    """Text for to_tsquery('simple', ...): the same parser that built the title and
    body vectors reads each quoted term, so a term splits (or not) the same way."""
    return " & ".join(_ts_term(t) for t in terms)


def ts_filter_query(groups: Sequence[Sequence[str]]) -> str:
    """Text for a ::tsquery cast: filter terms taken verbatim, as array_to_tsvector
    stored them."""
    return " & ".join("(" + " | ".join(map(_ts_string, group)) + ")" for group in groups)


# The planner prices "vector @@ query" as cheap, but on a row it means de-TOASTing a
# vector of several KB. Left alone it counts matches of a common word with a
# sequential scan (0.7 s at 200,000 documents, against 20 ms through the GIN index).
# So each query says which plan it needs, for its own duration only.
_USE_GIN = {"enable_seqscan": "off", "enable_indexscan": "off"}
# Walking ids backwards checks at most this many documents (~20 ms).
WALK_ROWS = 20_000
_WALK_IDS = {"enable_seqscan": "off", "enable_bitmapscan": "off"}


def _kind_literal(kind: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]+", kind):
        raise ValueError(f"search kinds are [a-z0-9_]+, not {kind!r}")
    return f"'{kind}'"


class PostgresBackend:
    """Words are matched through GIN indexes: one over the biggest kind's documents
    (tickets), one over the rest, so a contact search never decodes the postings of
    a word that is common in tickets. Filters are checked on a small tsvector kept
    in the row, and ranking reads the title's own small vector, so neither has to
    de-TOAST the document's full vector."""

    def __init__(self, connection: BaseDatabaseWrapper) -> None:
        self.connection = connection

    def _rows(self, sql: str, params: Sequence[str | int], plan: dict[str, str]) -> Rows:
        # A setting made with is_local lasts until the transaction ends; rolling this
        # block back (to its savepoint when the caller is in a transaction) undoes it.
        alias = self.connection.alias
        with transaction.atomic(using=alias), self.connection.cursor() as cursor:
            settings = ", ".join("set_config(%s, %s, true)" for _ in plan)
            cursor.execute(f"SELECT {settings}", [v for item in plan.items() for v in item])
            cursor.execute(sql, params)
            rows = [(int(row[0]), float(row[1])) for row in cursor.fetchall()]
            transaction.set_rollback(True, using=alias)
        return rows

    @staticmethod
    def _where(query: Query) -> tuple[str, list[str | int]]:
        """The WHERE clause, written so the planner can prove which partial GIN index
        applies: "kind = 'ticket'" for one, "kind IN (…)" or "kind <> 'ticket'" for
        the other."""
        words = ts_user_query(query.terms)
        match = f"{PG_VECTOR} @@ to_tsquery('simple', %s)"
        # Kinds are written as literals ([a-z0-9_]+, checked) so the proof works with
        # server-side parameter binding too.
        kinds = [_kind_literal(k) for k in query.kinds]
        big = _kind_literal(PG_BIG_KIND)
        parts: list[str] = []
        if not kinds or big in kinds:
            parts.append(f"(kind = {big} AND {match})")
        others = [k for k in kinds if k != big]
        if not kinds:
            parts.append(f"(kind <> {big} AND {match})")
        elif others:
            parts.append(f"(kind IN ({', '.join(others)}) AND {match})")
        where = "(" + " OR ".join(parts) + ")"
        params: list[str | int] = [words] * len(parts)
        if query.groups:
            where = f"{PG_META} @@ %s::tsquery AND {where}"
            params = [ts_filter_query(query.groups), *params]
        return where, params

    def _count(self, query: Query, cap: int) -> int:
        where, params = self._where(query)
        sql = (
            "SELECT count(*), 0 FROM "  # noqa: S608
            f"(SELECT 1 FROM core_searchdocument WHERE {where} LIMIT %s) s"
        )
        return int(self._rows(sql, [*params, cap], _USE_GIN)[0][0])

    def find(self, query: Query, *, limit: int, offset: int, huge: int) -> Found:
        # How many documents of these kinds have the words, filters aside? Counting
        # stops at huge + 1.
        words_only = Query(terms=query.terms, kinds=query.kinds)
        count = self._count(words_only, huge + 1)
        if count > huge:
            # Common words: the newest documents hold matches, so walk them newest
            # first. Filters are checked on each row's small filter vector before its
            # words; the walk gives up after WALK_ROWS rows, for filters so narrow
            # (a small team's tickets) that the GIN index finds them faster.
            rows = self._walk(query, limit, offset)
            if len(rows) == limit:
                return Found(rows, count, "recent")
            if query.groups:
                count = self._count(query, huge + 1)
            if count > huge:
                return Found(self._newest(query, limit, offset), count, "recent")
        elif query.groups:
            count = self._count(query, huge + 1)
        if not count:
            return Found([], 0, "rank")
        # Title hits first, best first; body hits after them, newest first.
        where, params = self._where(query)
        sql = (
            f"SELECT id, ts_rank({PG_TITLE}, to_tsquery('simple', %s), 1) AS score "  # noqa: S608
            f"FROM core_searchdocument WHERE {where} "
            "ORDER BY score DESC, id DESC LIMIT %s OFFSET %s"
        )
        rank_params = [ts_user_query(query.terms), *params, limit, offset]
        return Found(self._rows(sql, rank_params, _USE_GIN), count, "rank")

    def _walk(self, query: Query, limit: int, offset: int) -> Rows:
        kinds = [_kind_literal(k) for k in query.kinds]
        kind_sql = f"WHERE kind IN ({', '.join(kinds)})" if kinds else ""
        meta_sql = f"{PG_META} @@ %s::tsquery AND " if query.groups else ""
        sql = (
            f"SELECT id, 0.0 FROM (SELECT id, {PG_META}, {PG_VECTOR} "  # noqa: S608
            f"FROM core_searchdocument {kind_sql} ORDER BY id DESC LIMIT %s) w "
            f"WHERE {meta_sql}{PG_VECTOR} @@ to_tsquery('simple', %s) "
            "ORDER BY id DESC LIMIT %s OFFSET %s"
        )
        params: list[str | int] = [WALK_ROWS]
        if query.groups:
            params.append(ts_filter_query(query.groups))
        params += [ts_user_query(query.terms), limit, offset]
        return self._rows(sql, params, _WALK_IDS)

    def _newest(self, query: Query, limit: int, offset: int) -> Rows:
        where, params = self._where(query)
        sql = (
            f"SELECT id, 0.0 FROM core_searchdocument WHERE {where} "  # noqa: S608
            "ORDER BY id DESC LIMIT %s OFFSET %s"
        )
        return self._rows(sql, [*params, limit, offset], _USE_GIN)

    def object_ids_sql(self, query: Query, cap: int) -> tuple[str, list[str | int]]:
        where, params = self._where(query)
        sql = (
            f"SELECT object_id FROM core_searchdocument WHERE {where} "  # noqa: S608
            "ORDER BY id DESC LIMIT %s"
        )
        return sql, [*params, cap]
