"""Full-text search shared by every app: a tokeniser that makes Chinese searchable,
and one index over SQLite FTS5 and PostgreSQL tsvector + GIN.

Apps describe their objects as IndexEntry rows (tend.desk.search, tend.crm.search)
and query with ``search`` or ``matching_ids``; nothing outside this package knows
which database answers.
"""

from tend.core.search.index import (
    HUGE_HITS,
    MATCH_CAP,
    Hit,
    IndexEntry,
    SearchPage,
    Visibility,
    aware_datetime,
    index_bulk,
    index_delete,
    index_delete_many,
    index_optimize,
    index_upsert,
    matching_ids,
    search,
)
from tend.core.search.rebuild import register_rebuilder, search_rebuild
from tend.core.search.tokens import QueryTerm, query_terms, tokenize

__all__ = [
    "HUGE_HITS",
    "MATCH_CAP",
    "Hit",
    "IndexEntry",
    "QueryTerm",
    "SearchPage",
    "Visibility",
    "aware_datetime",
    "index_bulk",
    "index_delete",
    "index_delete_many",
    "index_optimize",
    "index_upsert",
    "matching_ids",
    "query_terms",
    "register_rebuilder",
    "search",
    "search_rebuild",
    "tokenize",
]
