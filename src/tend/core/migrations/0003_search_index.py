"""The full-text index behind core.SearchDocument: an FTS5 table kept by triggers on
SQLite, a generated tsvector column with a GIN index on PostgreSQL.

The SQL is written out here rather than imported from tend.core.search.schema so that
this migration keeps doing what it did when the module changes.
"""

from django.db import migrations


def _sqlite_parts(row):
    t = f"{row}.tokens"
    rest = f"substr({t}, instr({t}, char(10)) + 1)"
    return (
        f"substr({t}, 1, instr({t}, char(10)) - 1), "
        f"substr({rest}, 1, instr({rest}, char(10)) - 1), "
        f"substr({rest}, instr({rest}, char(10)) + 1)"
    )


SQLITE = [
    """
    CREATE VIRTUAL TABLE IF NOT EXISTS core_search_fts USING fts5(
        meta, title, body,
        content='', columnsize=1,
        tokenize="unicode61 remove_diacritics 0 categories 'L* N* M* Co' tokenchars '!:.@+%-_'"
    )
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS core_search_fts_ai AFTER INSERT ON core_searchdocument BEGIN
        INSERT INTO core_search_fts(rowid, meta, title, body) VALUES (new.id, {_sqlite_parts("new")});
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS core_search_fts_ad AFTER DELETE ON core_searchdocument BEGIN
        INSERT INTO core_search_fts(core_search_fts, rowid, meta, title, body)
        VALUES ('delete', old.id, {_sqlite_parts("old")});
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS core_search_fts_au AFTER UPDATE ON core_searchdocument
    WHEN old.id != new.id OR old.tokens IS NOT new.tokens BEGIN
        INSERT INTO core_search_fts(core_search_fts, rowid, meta, title, body)
        VALUES ('delete', old.id, {_sqlite_parts("old")});
        INSERT INTO core_search_fts(rowid, meta, title, body) VALUES (new.id, {_sqlite_parts("new")});
    END
    """,
    # Documents written before this migration.
    f"""
    INSERT INTO core_search_fts(rowid, meta, title, body)
    SELECT id, {_sqlite_parts("core_searchdocument")} FROM core_searchdocument
    """,
]
SQLITE_REVERSE = [
    "DROP TRIGGER IF EXISTS core_search_fts_ai",
    "DROP TRIGGER IF EXISTS core_search_fts_ad",
    "DROP TRIGGER IF EXISTS core_search_fts_au",
    "DROP TABLE IF EXISTS core_search_fts",
]

POSTGRESQL = [
    # Title (weight A) and body (weight B) for matching; the title alone for ranking and
    # the filter terms for filtering, both small enough to stay in the row.
    r"""
    ALTER TABLE core_searchdocument
    ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('simple'::regconfig, split_part(tokens, E'\n', 2)), 'A')
        || setweight(to_tsvector('simple'::regconfig, split_part(tokens, E'\n', 3)), 'B')
    ) STORED,
    ADD COLUMN IF NOT EXISTS search_title tsvector GENERATED ALWAYS AS (
        to_tsvector('simple'::regconfig, split_part(tokens, E'\n', 2))
    ) STORED,
    ADD COLUMN IF NOT EXISTS search_meta tsvector GENERATED ALWAYS AS (
        array_to_tsvector(string_to_array(split_part(tokens, E'\n', 1), ' '))
    ) STORED
    """,
    # Tickets, by far the most numerous, get a GIN index of their own.
    "CREATE INDEX IF NOT EXISTS core_searchdoc_gin_ticket ON core_searchdocument "
    "USING gin (search_vector) WHERE kind = 'ticket'",
    "CREATE INDEX IF NOT EXISTS core_searchdoc_gin_other ON core_searchdocument "
    "USING gin (search_vector) WHERE kind <> 'ticket'",
]
POSTGRESQL_REVERSE = [
    "DROP INDEX IF EXISTS core_searchdoc_gin_ticket",
    "DROP INDEX IF EXISTS core_searchdoc_gin_other",
    "ALTER TABLE core_searchdocument DROP COLUMN IF EXISTS search_vector, "
    "DROP COLUMN IF EXISTS search_title, DROP COLUMN IF EXISTS search_meta",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        statements = statements_by_vendor.get(schema_editor.connection.vendor)
        if statements is None:
            raise NotImplementedError("Tend search supports SQLite and PostgreSQL")
        for statement in statements:
            schema_editor.execute(statement, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0002_cache_table")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRESQL}),
            _run({"sqlite": SQLITE_REVERSE, "postgresql": POSTGRESQL_REVERSE}),
        )
    ]
