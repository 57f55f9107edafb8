"""Writing and querying the search index: one interface over SQLite and PostgreSQL.

A document is a ``core.SearchDocument`` row; what it matches is decided by its
``tokens`` (see schema.py). Every (re)index gives the document's row a new id, the
highest yet, so document ids grow with time and "newest first" is "highest id first",
which both databases can walk backwards cheaply. Since every write re-indexes its
object, that is also "most recently changed first".

Queries matching more than HUGE_HITS documents are shown newest first instead of
ranked (``SearchPage.ordered_by == "recent"``): ranking costs time in proportion to
the matches, and for a very common word the newest matches are the useful ones.
backends.py holds the query plans behind that promise.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from django.db import connection, transaction
from django.db.models.expressions import RawSQL

from tend.core.models import SearchDocument
from tend.core.search.backends import Query, backend_for, kind_term
from tend.core.search.schema import schema_create, schema_is_complete
from tend.core.search.tokens import QueryTerm, query_terms, tokenize, unique

# Above this many matches a query is ordered by recency instead of rank. Counting up
# to it stops early; ranking this many stays within ~20 ms on either database at
# 200,000 documents.
HUGE_HITS = 5000
# matching_ids() hands a list filter at most this many (newest) matches: a list
# filtered by a very common word shows its newest matches, not a million ids.
MATCH_CAP = 2000
# Text beyond this per document is not indexed (long pasted logs, mail threads), and
# no document keeps more distinct terms than this: PostgreSQL refuses a tsvector over
# 1 MB, which 100,000 characters of unusual Chinese could otherwise reach.
MAX_BODY_CHARS = 100_000
MAX_TERMS = 40_000

_FILTER_VALUE = re.compile(r"^[a-z0-9_]+$")


def _filter_value(value: str) -> str:
    if not _FILTER_VALUE.match(value):
        raise ValueError(f"search filter values are [a-z0-9_]+, not {value!r}")
    return value


def status_term(status: str) -> str:
    return f"!s:{_filter_value(status)}"


def scope_term(scope: int | None) -> str:
    return f"!t:{int(scope or 0)}"


def member_term(user_id: int) -> str:
    return f"!u:{int(user_id)}"


@dataclass(frozen=True)
class IndexEntry:
    """What one object looks like to search.

    ``title`` is shown in results and weighs most; ``keywords`` weigh like the title
    without being shown (a ticket number, a contact's email); ``body`` is everything
    else. ``scope`` (a team id, or None for everyone) and ``members`` (users who see
    the object whatever its scope) are what Visibility filters on.
    """

    kind: str
    object_id: int
    title: str
    updated_at: datetime
    keywords: Sequence[str] = ()
    body: Sequence[str] = ()
    status: str = ""
    scope: int | None = None
    members: Sequence[int] = ()

    def tokens(self) -> str:
        meta = [kind_term(_filter_value(self.kind)), scope_term(self.scope)]
        if self.status:
            meta.append(status_term(self.status))
        meta += [member_term(m) for m in dict.fromkeys(self.members)]
        title: list[str] = tokenize(self.title)
        for keyword in self.keywords:
            title += tokenize(keyword)
        body: list[str] = []
        budget = MAX_BODY_CHARS
        for part in self.body:
            if budget <= 0:
                break
            body += tokenize(part[:budget])
            budget -= len(part)
        title = unique(title)[:1000]
        body = unique(body)[:MAX_TERMS]
        return "\n".join((" ".join(meta), " ".join(title), " ".join(body)))

    def document(self) -> SearchDocument:
        return SearchDocument(
            kind=self.kind,
            object_id=self.object_id,
            title=self.title[:300],
            status=self.status,
            scope=self.scope,
            updated_at=self.updated_at,
            tokens=self.tokens(),
        )


def aware_datetime(value: datetime | str) -> datetime:
    """A timestamp read with raw SQL, as the ORM would return it: SQLite hands back
    naive UTC (or text, when the column type is lost in a UNION)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


_schema_ready: set[str] = set()


def _ensure_schema() -> None:
    """Create the index structures if a database lacks them (a test run without
    migrations, a SQLite table Django rebuilt and so stripped of its triggers).
    Checked once per process; not remembered when created inside a transaction that
    may yet roll back."""
    if connection.alias in _schema_ready:
        return
    if not schema_is_complete(connection):
        schema_create(connection)
        if connection.in_atomic_block:
            return
    _schema_ready.add(connection.alias)


def index_upsert(
    kind: str,
    object_id: int,
    *,
    title: str,
    updated_at: datetime,
    keywords: Sequence[str] = (),
    body: Sequence[str] = (),
    status: str = "",
    scope: int | None = None,
    members: Sequence[int] = (),
) -> None:
    """Make the index show this object as described, replacing what it showed."""
    index_bulk(
        [
            IndexEntry(
                kind=kind,
                object_id=object_id,
                title=title,
                updated_at=updated_at,
                keywords=keywords,
                body=body,
                status=status,
                scope=scope,
                members=members,
            )
        ]
    )


def index_bulk(entries: Iterable[IndexEntry], *, batch_size: int = 500) -> int:
    """Index many objects (seeding, rebuilds, benchmarks); returns how many.

    Entries are written oldest first so that ids, and with them the recency
    fallback, follow ``updated_at``.
    """
    _ensure_schema()
    # One document per object: the last entry given for it wins.
    latest = {(e.kind, e.object_id): e for e in entries}
    ordered = sorted(latest.values(), key=lambda e: e.updated_at)
    for start in range(0, len(ordered), batch_size):
        _write_batch([e.document() for e in ordered[start : start + batch_size]])
    return len(ordered)


_UPSERT_COLUMNS = ("kind", "object_id", "title", "status", "scope", "updated_at", "tokens")


def _write_batch(docs: list[SearchDocument]) -> None:
    """Replace the documents of these objects in one statement.

    An upsert whose update also moves the row to the id the insert would have taken
    (``excluded.id``, on both databases the next id): the document gets a new, highest
    id exactly as a delete and insert would give it. The FTS5 update trigger and the
    PostgreSQL generated columns follow the changed row. Two workers indexing the same
    object at once (two comments committed together on PostgreSQL) no longer race:
    the later statement waits for the earlier row and updates it.
    """
    table = connection.ops.quote_name(SearchDocument._meta.db_table)
    by_name = {f.name: f for f in SearchDocument._meta.concrete_fields}
    fields = [by_name[name] for name in _UPSERT_COLUMNS]
    params: list[Any] = []
    for doc in docs:
        params += [f.get_db_prep_save(getattr(doc, f.attname), connection) for f in fields]
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    columns = ", ".join(connection.ops.quote_name(name) for name in _UPSERT_COLUMNS)
    updates = ", ".join(
        f"{name} = excluded.{name}"
        for name in (connection.ops.quote_name(c) for c in ("id", *_UPSERT_COLUMNS[2:]))
    )
    sql = (
        f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * len(docs))} "  # noqa: S608
        f"ON CONFLICT (kind, object_id) DO UPDATE SET {updates}"
    )
    # A savepoint only when inside a transaction (a test, a rebuild), so that a failure
    # leaves the caller's transaction usable; after a commit the statement is its own.
    savepoint = transaction.atomic() if connection.in_atomic_block else nullcontext()
    with savepoint, connection.cursor() as cursor:
        cursor.execute(sql, params)


def index_delete(kind: str, object_id: int) -> None:
    index_delete_many(kind, [object_id])


def index_delete_many(kind: str, object_ids: Collection[int]) -> None:
    _ensure_schema()
    # Documents have no relations: skip the deletion collector.
    SearchDocument.objects.filter(kind=kind, object_id__in=list(object_ids))._raw_delete(
        connection.alias
    )


def index_optimize() -> None:
    """Compact the index after a bulk load: FTS5 merges its segments into one (faster
    queries); PostgreSQL refreshes the statistics the planner uses to pick between
    the GIN index and walking ids backwards."""
    _ensure_schema()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("INSERT INTO core_search_fts(core_search_fts) VALUES ('optimize')")
        else:
            cursor.execute("ANALYZE core_searchdocument")


# --- querying ------------------------------------------------------------------------


@dataclass(frozen=True)
class Visibility:
    """Which scoped documents a user may see: those of ``scopes``, those listing
    ``user_id`` as a member, and every document without a scope."""

    scopes: frozenset[int] = frozenset()
    user_id: int | None = None

    def group(self) -> list[str]:
        terms = [scope_term(None), *(scope_term(s) for s in sorted(self.scopes))]
        if self.user_id is not None:
            terms.append(member_term(self.user_id))
        return terms


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int
    title: str
    status: str
    updated_at: datetime
    rank: float


@dataclass(frozen=True)
class SearchPage:
    hits: list[Hit] = field(default_factory=list)
    # Exact when ordered by rank; when ordered by recency, a floor ("5,000+").
    count: int = 0
    count_is_estimate: bool = False
    ordered_by: Literal["rank", "recent"] = "rank"


def _query(
    terms: Sequence[QueryTerm],
    kinds: Collection[str] | None,
    status: str | Collection[str] | None,
    visibility: Visibility | None,
) -> Query:
    groups: list[tuple[str, ...]] = []
    if status:
        statuses = [status] if isinstance(status, str) else list(status)
        groups.append(tuple(status_term(s) for s in statuses))
    if visibility is not None:
        groups.append(tuple(visibility.group()))
    return Query(
        terms=tuple(terms),
        kinds=tuple(_filter_value(k) for k in kinds or ()),
        groups=tuple(groups),
    )


def search(
    q: str,
    *,
    kinds: Collection[str] | None = None,
    status: str | Collection[str] | None = None,
    visibility: Visibility | None = None,
    limit: int = 20,
    offset: int = 0,
    prefix: bool = False,
    huge_hits: int = HUGE_HITS,
) -> SearchPage:
    """Documents matching every term of ``q``, best first, or newest first when the
    matches are too many to rank (more than ``huge_hits``).

    ``status`` only matches documents that have one (tickets). ``visibility`` None
    means no restriction. ``prefix`` lets the last word match as a prefix, for
    search-as-you-type.
    """
    terms = query_terms(q, prefix=prefix)
    if not terms:
        return SearchPage()
    _ensure_schema()
    found = backend_for(connection).find(
        _query(terms, kinds, status, visibility), limit=limit, offset=offset, huge=huge_hits
    )
    docs = {
        d["id"]: d
        for d in SearchDocument.objects.filter(id__in=[doc_id for doc_id, _ in found.rows]).values(
            "id", "kind", "object_id", "title", "status", "updated_at"
        )
    }
    hits = [
        Hit(
            kind=d["kind"],
            object_id=d["object_id"],
            title=d["title"],
            status=d["status"],
            updated_at=d["updated_at"],
            rank=score,
        )
        for doc_id, score in found.rows
        if (d := docs.get(doc_id)) is not None
    ]
    return SearchPage(
        hits=hits,
        count=min(found.count, huge_hits),
        count_is_estimate=found.count > huge_hits,
        ordered_by=found.ordered_by,
    )


def matching_ids(
    q: str,
    kind: str,
    *,
    status: str | Collection[str] | None = None,
    visibility: Visibility | None = None,
    cap: int = MATCH_CAP,
) -> RawSQL:
    """A subquery of the ids of ``kind`` objects matching ``q``, for list filters:
    ``Ticket.objects.filter(pk__in=matching_ids(q, "ticket"))``.

    At most ``cap`` ids, the most recently indexed, so a very common word narrows a
    list to its newest matches instead of handing the list query a million ids.
    """
    terms = query_terms(q)
    if not terms:
        return RawSQL("SELECT object_id FROM core_searchdocument WHERE 1 = 0", [])
    _ensure_schema()
    sql, params = backend_for(connection).object_ids_sql(
        _query(terms, [kind], status, visibility), cap
    )
    return RawSQL(sql, params)  # noqa: S611
