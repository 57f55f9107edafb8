"""The database structures behind the search index, for SQLite and PostgreSQL.

``core.SearchDocument.tokens`` holds three lines: filter terms ("!k:ticket !s:open
!t:3 !u:7"), title terms and body terms, each space-separated and already tokenised
by tend.core.search.tokens. The databases index those lines without re-splitting:

* SQLite: a contentless FTS5 table whose rowid is the document id, filled by
  triggers, so any write to core_searchdocument (ORM, bulk, flush) keeps it exact.
  Its tokeniser treats every letter, digit, mark and the few joiners our terms
  contain as part of a term, so one stored term is one FTS5 term.
* PostgreSQL: generated tsvector columns. Title and body go through
  to_tsvector('simple') (weights A and B; the simple parser keeps our terms whole,
  and queries go through the same parser) into a GIN-indexed column; the title alone
  and the filter terms (through array_to_tsvector, verbatim) get small columns of
  their own that stay in the row, for ranking and filtering without de-TOASTing.

On SQLite the filter terms are in the FTS5 index too, where FTS5 intersects them
with the words by skipping through posting lists: "tickets of teams 3 and 5
containing 退款" never visits every 退款 document.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper

FTS_TABLE = "core_search_fts"
PG_VECTOR = "search_vector"  # title + body, GIN-indexed
PG_TITLE = "search_title"  # title only: small enough to stay in the row, for ranking
PG_META = "search_meta"  # filter terms, checked row by row, also without TOAST
PG_INDEX = "core_searchdoc_gin"
# The kind with by far the most documents gets a GIN index of its own, so searching
# the other kinds never wades through its postings (and the reverse).
PG_BIG_KIND = "ticket"

# Characters our terms may contain besides letters, digits and marks; see tokens.py
# (emails, dotted names) and index.py (filter terms like "!t:3", "!s:on_hold").
_TOKENCHARS = "!:.@+%-_"

SQLITE_TABLE = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
    meta, title, body,
    content='', columnsize=1,
    tokenize="unicode61 remove_diacritics 0 categories 'L* N* M* Co' tokenchars '{_TOKENCHARS}'"
)
"""


def _sqlite_parts(row: str) -> str:
    """SQL for the three lines of ``<row>.tokens``: meta, title, body."""
    t = f"{row}.tokens"
    rest = f"substr({t}, instr({t}, char(10)) + 1)"
    return (
        f"substr({t}, 1, instr({t}, char(10)) - 1), "
        f"substr({rest}, 1, instr({rest}, char(10)) - 1), "
        f"substr({rest}, instr({rest}, char(10)) + 1)"
    )


SQLITE_TRIGGERS = {
    f"{FTS_TABLE}_ai": f"""
CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ai AFTER INSERT ON core_searchdocument BEGIN
    INSERT INTO {FTS_TABLE}(rowid, meta, title, body) VALUES (new.id, {_sqlite_parts("new")});
END""",  # noqa: S608
    f"{FTS_TABLE}_ad": f"""
CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_ad AFTER DELETE ON core_searchdocument BEGIN
    INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, meta, title, body)
    VALUES ('delete', old.id, {_sqlite_parts("old")});
END""",  # noqa: S608
    f"{FTS_TABLE}_au": f"""
CREATE TRIGGER IF NOT EXISTS {FTS_TABLE}_au AFTER UPDATE ON core_searchdocument
WHEN old.id != new.id OR old.tokens IS NOT new.tokens BEGIN
    INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, meta, title, body)
    VALUES ('delete', old.id, {_sqlite_parts("old")});
    INSERT INTO {FTS_TABLE}(rowid, meta, title, body) VALUES (new.id, {_sqlite_parts("new")});
END""",  # noqa: S608
}

# Title (weight A) and body (weight B) through the parser that also reads queries.
PG_COLUMNS = f"""
ALTER TABLE core_searchdocument
ADD COLUMN IF NOT EXISTS {PG_VECTOR} tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('simple'::regconfig, split_part(tokens, E'\\n', 2)), 'A')
    || setweight(to_tsvector('simple'::regconfig, split_part(tokens, E'\\n', 3)), 'B')
) STORED,
ADD COLUMN IF NOT EXISTS {PG_TITLE} tsvector GENERATED ALWAYS AS (
    to_tsvector('simple'::regconfig, split_part(tokens, E'\\n', 2))
) STORED,
ADD COLUMN IF NOT EXISTS {PG_META} tsvector GENERATED ALWAYS AS (
    array_to_tsvector(string_to_array(split_part(tokens, E'\\n', 1), ' '))
) STORED
"""
PG_INDEXES = [
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX}_{PG_BIG_KIND} ON core_searchdocument "
    f"USING gin ({PG_VECTOR}) WHERE kind = '{PG_BIG_KIND}'",
    f"CREATE INDEX IF NOT EXISTS {PG_INDEX}_other ON core_searchdocument "
    f"USING gin ({PG_VECTOR}) WHERE kind <> '{PG_BIG_KIND}'",
]


def schema_statements(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [SQLITE_TABLE, *SQLITE_TRIGGERS.values()]
    if vendor == "postgresql":
        return [PG_COLUMNS, *PG_INDEXES]
    raise NotImplementedError(f"Tend search supports SQLite and PostgreSQL, not {vendor}")


def schema_drop_statements(vendor: str) -> list[str]:
    if vendor == "sqlite":
        return [f"DROP TRIGGER IF EXISTS {name}" for name in SQLITE_TRIGGERS] + [
            f"DROP TABLE IF EXISTS {FTS_TABLE}"
        ]
    if vendor == "postgresql":
        return [
            f"DROP INDEX IF EXISTS {PG_INDEX}_{PG_BIG_KIND}",
            f"DROP INDEX IF EXISTS {PG_INDEX}_other",
            f"ALTER TABLE core_searchdocument DROP COLUMN IF EXISTS {PG_VECTOR}, "
            f"DROP COLUMN IF EXISTS {PG_TITLE}, DROP COLUMN IF EXISTS {PG_META}",
        ]
    return []


def schema_is_complete(connection: BaseDatabaseWrapper) -> bool:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(
                "SELECT count(*) FROM sqlite_master WHERE name IN (%s, %s, %s, %s)",
                [FTS_TABLE, *SQLITE_TRIGGERS],
            )
            return bool(cursor.fetchone()[0] == 1 + len(SQLITE_TRIGGERS))
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_indexes WHERE tablename = 'core_searchdocument' "
            "AND indexname IN (%s, %s)) + (SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'core_searchdocument' AND column_name IN (%s, %s, %s))",
            [f"{PG_INDEX}_{PG_BIG_KIND}", f"{PG_INDEX}_other", PG_VECTOR, PG_TITLE, PG_META],
        )
        return bool(cursor.fetchone()[0] == 5)


def schema_create(connection: BaseDatabaseWrapper) -> None:
    """Create what is missing (idempotent). Django rebuilds a SQLite table to alter it,
    which drops its triggers; calling this again puts them back, and the FTS rows,
    keyed by the unchanged document ids, stay valid."""
    with connection.cursor() as cursor:
        for statement in schema_statements(connection.vendor):
            cursor.execute(statement)


def schema_drop(connection: BaseDatabaseWrapper) -> None:
    with connection.cursor() as cursor:
        for statement in schema_drop_statements(connection.vendor):
            cursor.execute(statement)
