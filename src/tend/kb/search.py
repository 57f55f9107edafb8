"""How articles look to search, and keeping their documents current.

Every translation of an article is its own document (kind "article", object id = the
translation's id), so an English and a Chinese version rank on their own words and a
hit says which language it is in. Drafts are indexed too, for the staff list; the
document's status term carries both state and language ("published_en",
"draft_zh_hans"), so the help center asks for exactly "published in this language"
as one filter term, which FTS5 intersects with the words cheaply.

kb.services calls ``index_translation`` / ``index_article`` after every committed
write; ``search_rebuild(kinds=["article"])`` rebuilds them all.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

from tend.core.search import (
    IndexEntry,
    aware_datetime,
    index_bulk,
    index_delete_many,
    register_rebuilder,
)
from tend.kb.models import Article, ArticleStatus, ArticleTranslation, Locale

ARTICLE = "article"
REBUILD_BATCH = 500

# Bumped whenever this process changes article documents: caches of term statistics
# (selectors.article_suggest) start afresh, other processes catch up by their TTL.
_generation = itertools.count(1)
generation = next(_generation)


def _bump() -> None:
    global generation
    generation = next(_generation)


def doc_status(status: str, locale: str) -> str:
    """The filter term of a translation: state and language in one word."""
    return f"{status}_{locale.replace('-', '_')}"


def published_statuses(locale: str | None) -> list[str]:
    """Status terms of published documents in ``locale`` (any locale when None)."""
    locales = [locale] if locale else list(Locale.values)
    return [doc_status(ArticleStatus.PUBLISHED, loc) for loc in locales]


def all_statuses(locale: str | None = None) -> list[str]:
    locales = [locale] if locale else list(Locale.values)
    return [doc_status(s, loc) for s in ArticleStatus.values for loc in locales]


_FIELDS = (
    "id",
    "article_id",
    "locale",
    "title",
    "body_markdown",
    "status",
    "updated_at",
    "article__slug",
    "article__section__name",
    "article__section__name_zh",
    "article__section__category__name",
    "article__section__category__name_zh",
    "article__product_area__name",
    "article__feature__name",
)


def translation_entries(ids: Sequence[int]) -> list[IndexEntry]:
    """Entries for the translations with these ids (those that exist): two queries."""
    rows = list(ArticleTranslation.objects.filter(pk__in=list(ids)).values(*_FIELDS))
    if not rows:
        return []
    tags: dict[int, list[str]] = {}
    through = Article.tags.through.objects.filter(
        article_id__in={r["article_id"] for r in rows}
    ).order_by("tag__name")
    for article_id, name in through.values_list("article_id", "tag__name"):
        tags.setdefault(article_id, []).append(name)
    entries = []
    for row in rows:
        zh = row["locale"] == Locale.ZH_HANS
        section = (zh and row["article__section__name_zh"]) or row["article__section__name"]
        category = (zh and row["article__section__category__name_zh"]) or row[
            "article__section__category__name"
        ]
        entries.append(
            IndexEntry(
                kind=ARTICLE,
                object_id=row["id"],
                title=row["title"],
                updated_at=aware_datetime(row["updated_at"]),
                keywords=[" ".join(tags.get(row["article_id"], ()))],
                body=[
                    row["body_markdown"],
                    section or "",
                    category or "",
                    row["article__product_area__name"] or "",
                    row["article__feature__name"] or "",
                ],
                status=doc_status(row["status"], row["locale"]),
            )
        )
    return entries


def index_translation(translation_id: int) -> None:
    index_translations([translation_id])


def index_translations(ids: Sequence[int]) -> None:
    entries = translation_entries(ids)
    if entries:
        index_bulk(entries)
    gone = set(ids) - {e.object_id for e in entries}
    if gone:
        index_delete_many(ARTICLE, gone)
    _bump()


def index_article(article_id: int) -> None:
    """Re-index every translation of an article (its place or tags changed)."""
    ids = list(
        ArticleTranslation.objects.filter(article_id=article_id).values_list("id", flat=True)
    )
    index_translations(ids)


def unindex_translations(ids: Iterable[int]) -> None:
    index_delete_many(ARTICLE, list(ids))
    _bump()


def _batches(ids: Sequence[int]) -> Iterator[list[IndexEntry]]:
    for start in range(0, len(ids), REBUILD_BATCH):
        yield translation_entries(ids[start : start + REBUILD_BATCH])
    _bump()


@register_rebuilder(ARTICLE)
def rebuild_articles() -> tuple[int, Iterable[list[IndexEntry]]]:
    ids = list(ArticleTranslation.objects.order_by("updated_at", "id").values_list("id", flat=True))
    return len(ids), _batches(ids)
