"""Reads of the knowledge base shared by the help center, the staff UI and the API:
the help-center tree, an article by slug, search, suggestions from free text, related
articles and the staff list. Analytics live in kb.analytics and are re-exported here.

Help-center reads are hot (every keystroke in the support form asks for suggestions),
so each is a handful of queries whatever the number of articles.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Substr

from tend.core.models import User
from tend.core.process_cache import ProcessCache
from tend.core.search import matching_ids, query_terms, search
from tend.core.search.tokens import normalize
from tend.kb import search as kb_search
from tend.kb.analytics import (
    ArticleStats,
    TermCount,
    TopicGroup,
    kb_analytics,
    no_result_terms,
    worth_writing,
)
from tend.kb.models import Article, ArticleStatus, ArticleTranslation, Category, Locale, Section
from tend.kb.search import ARTICLE, all_statuses, published_statuses
from tend.kb.terms import content_terms, has_han, is_cjk

__all__ = [
    "ArticleHit",
    "ArticleStats",
    "HelpCategory",
    "HelpSection",
    "SearchResult",
    "TermCount",
    "TopicGroup",
    "article_for_slug",
    "article_related",
    "article_search",
    "article_suggest",
    "articles_for_staff",
    "articles_suggested_for_text",
    "help_article_url",
    "help_categories",
    "kb_analytics",
    "no_result_terms",
    "search_locale",
    "section_articles",
    "worth_writing",
]

SNIPPET_CHARS = 180
# Snippets look at the start of an article only: reading 200,000 characters for ten
# hits would cost more than the search.
SNIPPET_SCAN_CHARS = 20_000


@dataclass(frozen=True)
class ArticleHit:
    """An article as a list shows it. ``locale`` is the language of ``title`` — not
    the asked one when the article exists only in the other language."""

    article_id: int
    slug: str
    title: str
    snippet: str
    locale: str
    score: float = 0.0


@dataclass(frozen=True)
class SearchResult:
    hits: list[ArticleHit] = field(default_factory=list)
    total: int = 0


def other_locale(locale: str) -> str:
    return Locale.ZH_HANS if locale == Locale.EN else Locale.EN


# --- snippets ---------------------------------------------------------------------------

_IMAGE_MD = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK_MD = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_EMPHASIS_MD = re.compile(r"(?<!\w)[*_~`]+|[*_~`]+(?!\w)")
_MARKS_MD = re.compile(r"[#>|]+|^\s*(?:[-+]|\d+\.)\s+", re.MULTILINE)


def _plain(markdown: str) -> str:
    """Markdown reduced to its words, cheaply (regular expressions, no parse)."""
    text = _IMAGE_MD.sub(" ", markdown)
    text = _LINK_MD.sub(r"\1", text)
    text = _EMPHASIS_MD.sub("", text)
    text = _MARKS_MD.sub(" ", text)
    return " ".join(text.split())


def _snippet(markdown: str, tokens: Sequence[str]) -> str:
    """About SNIPPET_CHARS of plain text around the first place a token occurs (the
    start when none does). Only a window of the Markdown is reduced to text."""
    folded = normalize(markdown)
    # NFKC and case folding rarely change lengths; positions are only a guide then.
    positions = [p for t in tokens if t and (p := folded.find(t)) >= 0]
    at = min(positions) if positions else 0
    head = markdown[max(0, at - 2 * SNIPPET_CHARS) : at]
    tail = markdown[at : at + 3 * SNIPPET_CHARS]
    before, after = _plain(head), _plain(tail)
    keep = SNIPPET_CHARS // 3
    if len(before) > keep:
        cut = before[-keep:]
        space = cut.find(" ", 0, 20)
        before = "…" + (cut[space + 1 :] if space >= 0 else cut)
    sep = " " if head.rstrip("*_~`[")[-1:].isspace() else ""
    text = (before + sep + after).strip()
    if len(text) > SNIPPET_CHARS or at + 3 * SNIPPET_CHARS < len(markdown):
        text = text[:SNIPPET_CHARS].rstrip() + "…"
    return text


def _hits_for_translations(
    ranked: Sequence[tuple[int, float]], tokens: Sequence[str], *, with_snippets: bool = True
) -> list[ArticleHit]:
    """ArticleHits for translation ids in this order, in one query."""
    ids = [tid for tid, _score in ranked]
    if not ids:
        return []
    qs = ArticleTranslation.objects.filter(pk__in=ids)
    fields = ["id", "article_id", "article__slug", "title", "locale"]
    if with_snippets:
        qs = qs.annotate(head=Substr("body_markdown", 1, SNIPPET_SCAN_CHARS))
        fields.append("head")
    rows = {r["id"]: r for r in qs.values(*fields)}
    return [
        ArticleHit(
            article_id=r["article_id"],
            slug=r["article__slug"],
            title=r["title"],
            snippet=_snippet(r["head"], tokens) if with_snippets else "",
            locale=r["locale"],
            score=score,
        )
        for tid, score in ranked
        if (r := rows.get(tid)) is not None
    ]


# --- search -----------------------------------------------------------------------------


def search_locale(text: str, locale: str | None) -> str | None:
    """The language to search ``text`` in first: Chinese when it holds Chinese
    characters, whatever language the page is in (a reader of the English pages who
    types 发票 wants the Chinese article, not an English one that quotes the word);
    else ``locale``."""
    return Locale.ZH_HANS if has_han(text) else locale


def article_search(
    q: str,
    *,
    locale: str | None,
    limit: int = 10,
    offset: int = 0,
    published_only: bool = True,
    prefix: bool = False,
) -> SearchResult:
    """Articles matching every word of ``q`` (the ticket search's tokeniser, so a
    two-character Chinese word is one lookup), best first. ``locale`` None searches
    both languages. Drafts only when ``published_only`` is False (staff)."""
    statuses = published_statuses(locale) if published_only else all_statuses(locale)
    page = search(q, kinds=[ARTICLE], status=statuses, limit=limit, offset=offset, prefix=prefix)
    tokens = [t.token for t in query_terms(q)]
    hits = _hits_for_translations([(h.object_id, h.rank) for h in page.hits], tokens)
    return SearchResult(hits=hits, total=page.count)


# --- suggestions from free text ---------------------------------------------------------

MAX_TEXT_CHARS = 2_000  # free text looked at (subject first, so the start matters most)
MAX_CANDIDATES = 24  # terms considered
MAX_PROBES = 12  # uncached term counts per call
MAX_TERMS = 3  # terms the suggestions are searched with
# Articles holding a term are counted up to this many; a term in more is "common".
# Searches whose every term is common are answered newest first rather than ranked
# (core.search's rule for huge result sets, with this as the threshold): ranking
# thousands of matches for "refund" would cost more than the whole budget.
DF_CAP = 500
RANK_CAP = 2_000
DF_TTL = 300.0  # seconds a term's article count is reused
_DF_CACHE_MAX = 50_000
_df_cache: dict[tuple[str, str], tuple[int, float, int]] = {}


def _candidates(text: str) -> dict[str, float]:
    """The content terms of ``text`` worth looking up, with how promising each looks:
    repeated or long ones, earlier before later (the subject comes first)."""
    scores: dict[str, float] = {}
    for position, token in enumerate(content_terms(text[:MAX_TEXT_CHARS])):
        if token in scores:
            scores[token] += 0.5
            continue
        weight = 1.5 if is_cjk(token) else min(len(token), 10) / 5
        scores[token] = weight + 2.0 / (1 + position / 4)
    best = sorted(scores, key=lambda t: -scores[t])[:MAX_CANDIDATES]
    return {t: scores[t] for t in best}


def _partial_word(text: str) -> str:
    """The last word of ``text`` when it may still be being typed (no space or
    punctuation after it): Latin, at least three letters."""
    if not text or not text[-1].isalnum():
        return ""
    terms = query_terms(text[-64:])
    last = terms[-1].token if terms else ""
    return last if len(last) >= 3 and not is_cjk(last) and not last.isdigit() else ""


def _cached_df(token: str, locale: str) -> int | None:
    entry = _df_cache.get((token, locale))
    if entry is None:
        return None
    df, stamp, gen = entry
    if gen != kb_search.generation or time.monotonic() - stamp > DF_TTL:
        return None
    return df


def _remember_df(token: str, locale: str, df: int) -> None:
    if len(_df_cache) >= _DF_CACHE_MAX:
        _df_cache.clear()
    _df_cache[(token, locale)] = (df, time.monotonic(), kb_search.generation)


def _count_df(token: str, statuses: list[str]) -> int:
    """How many published articles hold ``token`` (up to DF_CAP): one index query
    over core.search's own id list, no ranking."""
    ids = matching_ids(token, ARTICLE, status=statuses, cap=DF_CAP)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({ids.sql}) m", ids.params)  # noqa: S608
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def article_suggest(
    text: str,
    *,
    locale: str | None,
    limit: int = 5,
    exclude: Collection[int] = (),
) -> list[ArticleHit]:
    """Published articles that may answer a customer's free text (a support form's
    subject and description), best first.

    Long text cannot be searched as "all of these words". Its telling terms are
    picked instead — early in the text and in few articles (counted once, remembered
    for a few minutes) — and searched for all together first, then dropping the least
    telling one at a time, then one by one, until ``limit`` articles are found. Each
    step is an ordinary ranked search, so articles holding more of the terms come
    first. At most MAX_PROBES counts and 2 × MAX_TERMS searches per call, whatever the
    length of the text.
    """
    cache_locale = locale or "*"
    statuses = published_statuses(locale)
    weights: dict[str, float] = {}
    probes = 0
    # The word being typed ("payme") is looked up as a prefix when it is no word.
    partial = _partial_word(text)
    prefixed = ""
    for token, promise in _candidates(text).items():
        df = _cached_df(token, cache_locale)
        if df is None:
            if probes >= MAX_PROBES:
                continue
            probes += 1
            df = _count_df(token, statuses)
            _remember_df(token, cache_locale, df)
        if not df and token == partial:
            df = _cached_df(token + "*", cache_locale)
            if df is None:
                df = search(
                    token, kinds=[ARTICLE], status=statuses, limit=0, prefix=True, huge_hits=DF_CAP
                ).count
                _remember_df(token + "*", cache_locale, df)
            prefixed = token if df else ""
        if df:
            # Rarer terms tell more; a term in DF_CAP or more articles tells little.
            weights[token] = promise * math.log(1 + 2 * DF_CAP / df)
    if not weights:
        return []
    chosen = sorted(weights, key=lambda t: -weights[t])[:MAX_TERMS]
    excluded = set(exclude)
    want = limit + len(excluded)
    queries = [chosen[:n] for n in range(len(chosen), 1, -1)] + [[t] for t in chosen]
    found: dict[int, float] = {}
    for step, terms in enumerate(queries):
        # core.search lets only the last word of a query be a prefix.
        words = [t for t in terms if t != prefixed] + [t for t in terms if t == prefixed]
        page = search(
            " ".join(words),
            kinds=[ARTICLE],
            status=statuses,
            limit=want,
            huge_hits=RANK_CAP,
            prefix=prefixed in terms,
        )
        for doc in page.hits:
            # Earlier steps (more terms) outrank later ones; within a step, the rank.
            found.setdefault(doc.object_id, (len(queries) - step) * 1000 + doc.rank)
        if len(found) >= want:
            break
    ranked = sorted(found.items(), key=lambda kv: -kv[1])
    out: list[ArticleHit] = []
    seen: set[int] = set()
    for hit in _hits_for_translations(ranked, chosen):
        if hit.article_id in excluded or hit.article_id in seen:
            continue
        seen.add(hit.article_id)
        out.append(hit)
        if len(out) == limit:
            break
    return out


def articles_suggested_for_text(text: str, *, limit: int = 5) -> list[ArticleHit]:
    """Suggestions in the language of the customer's own words: Chinese text gets the
    Chinese articles first, then any language fills the rest; other text is answered
    from both languages, ranked together."""
    first = search_locale(text, None)
    hits = article_suggest(text, locale=first, limit=limit)
    if first is not None and len(hits) < limit:
        seen = [h.article_id for h in hits]
        hits += article_suggest(text, locale=None, limit=limit - len(hits), exclude=seen)
    return hits


# --- one article ------------------------------------------------------------------------


def help_article_url(slug: str, *, absolute: bool = True) -> str:
    """Where the help center shows an article; absolute for links that leave Tend
    (replies, macros, the API). The path is the help center's published contract."""
    path = f"/help/articles/{slug}/"
    return f"{settings.BASE_URL}{path}" if absolute else path


def article_for_slug(
    slug: str, locale: str, *, include_drafts: bool = False
) -> tuple[Article, ArticleTranslation] | None:
    """The article and its text in ``locale``, or in the other language when that is
    all there is: ``translation.locale != locale`` says the page is a fallback. None
    when there is nothing (published, unless ``include_drafts``) to show."""
    article = (
        Article.objects.select_related("section__category", "author", "product_area", "feature")
        .filter(slug=slug)
        .first()
    )
    if article is None:
        return None
    translations = {
        t.locale: t
        for t in article.translations.select_related("updated_by")
        if include_drafts or t.status == ArticleStatus.PUBLISHED
    }
    translation = translations.get(locale) or translations.get(other_locale(locale))
    if translation is None:
        return None
    return article, translation


def article_related(article: Article, *, locale: str, limit: int = 5) -> list[ArticleHit]:
    """Published articles about the same thing: by words of the title and tags, then
    filled from the same section."""
    title = (
        ArticleTranslation.objects.filter(article=article)
        .order_by(
            # the asked locale first
            F("locale").desc() if locale == Locale.ZH_HANS else F("locale").asc()
        )
        .values_list("title", flat=True)
        .first()
        or ""
    )
    tags = " ".join(article.tags.values_list("name", flat=True))
    hits = article_suggest(f"{title} {tags}", locale=locale, limit=limit, exclude=[article.pk])
    if len(hits) < limit and article.section is not None:
        have = {h.article_id for h in hits} | {article.pk}
        more = [
            h
            for h in section_articles(article.section, locale, limit=limit + len(have))
            if h.article_id not in have
        ]
        hits += more[: limit - len(hits)]
    return hits


# --- the help-center tree ---------------------------------------------------------------


@dataclass
class HelpSection:
    section: Section
    name: str
    articles: list[ArticleHit]
    article_count: int


@dataclass
class HelpCategory:
    category: Category
    name: str
    description: str
    sections: list[HelpSection]


def _titles(article_ids: Iterable[int], locale: str) -> dict[int, tuple[str, str]]:
    """article id → (title, locale): the asked locale's published title, else the
    other's."""
    out: dict[int, tuple[str, str]] = {}
    rows = ArticleTranslation.objects.filter(
        article_id__in=list(article_ids), status=ArticleStatus.PUBLISHED
    ).values_list("article_id", "locale", "title")
    for article_id, row_locale, title in rows:
        if article_id not in out or row_locale == locale:
            out[article_id] = (title, row_locale)
    return out


def _ordered_articles() -> QuerySet[Article]:
    # "id IN (published translations)" is evaluated once; a correlated EXISTS would
    # let SQLite probe the (status, locale) index once per article.
    published = ArticleTranslation.objects.filter(status=ArticleStatus.PUBLISHED).values(
        "article_id"
    )
    return Article.objects.filter(pk__in=published).order_by("position", "-updated_at", "id")


# Each section's first articles kept in memory for the help-center home; more than
# this per section is read from the database.
TREE_ARTICLES_PER_SECTION = 50


@dataclass(frozen=True)
class _Tree:
    """The locale-independent help-center tree: sections in order with their first
    published articles (id, slug) and full counts, and both languages' titles."""

    categories: list[Category]
    firsts: dict[int, list[tuple[int, str]]]
    counts: dict[int, int]
    titles: dict[int, dict[str, str]]


def _load_tree() -> _Tree:
    categories = list(Category.objects.prefetch_related("sections"))
    firsts: dict[int, list[tuple[int, str]]] = {}
    counts: dict[int, int] = {}
    # One lean pass over the published articles in sections, already in order.
    rows = (
        _ordered_articles()
        .filter(section__isnull=False)
        .order_by("section_id", "position", "-updated_at", "id")
        .values_list("id", "slug", "section_id")
    )
    for article_id, slug, section_id in rows.iterator(chunk_size=5000):
        counts[section_id] = counts.get(section_id, 0) + 1
        if counts[section_id] <= TREE_ARTICLES_PER_SECTION:
            firsts.setdefault(section_id, []).append((article_id, slug))
    titles: dict[int, dict[str, str]] = {}
    ids = [a for shown in firsts.values() for a, _slug in shown]
    for start in range(0, len(ids), 900):
        published = ArticleTranslation.objects.filter(
            article_id__in=ids[start : start + 900], status=ArticleStatus.PUBLISHED
        ).values_list("article_id", "locale", "title")
        for article_id, row_locale, title in published:
            titles.setdefault(article_id, {})[row_locale] = title
    return _Tree(categories, firsts, counts, titles)


# The tree is read on every help-center home and changes a few times a day: each
# process keeps it for a minute, forgotten at once when this process writes articles
# or places (core.process_cache), so editors see their change on their next page.
_tree_cache = ProcessCache(
    "kb.help_tree",
    _load_tree,
    ttl=60.0,
    watch=[Article, ArticleTranslation, Category, Section],
)


def _tree_hit(tree: _Tree, article_id: int, slug: str, locale: str) -> ArticleHit:
    names = tree.titles.get(article_id, {})
    title_locale = locale if locale in names else other_locale(locale)
    return ArticleHit(
        article_id=article_id,
        slug=slug,
        title=names.get(title_locale, ""),
        snippet="",
        locale=title_locale,
    )


def help_categories(locale: str, *, per_section: int = 10) -> list[HelpCategory]:
    """Categories → sections → their first ``per_section`` published articles (with
    each section's full count), for the help-center home; titles in ``locale`` where
    the article has it (``hit.locale`` says otherwise). Empty sections and categories
    are left out. Served from memory; rebuilt in a few queries when stale."""
    zh = locale == Locale.ZH_HANS
    tree = _tree_cache.get()
    out: list[HelpCategory] = []
    for category in tree.categories:
        sections = []
        for section in sorted(category.sections.all(), key=lambda s: (s.position, s.name)):
            shown = tree.firsts.get(section.pk)
            if not shown:
                continue
            if per_section > TREE_ARTICLES_PER_SECTION:
                hits = section_articles(section, locale, limit=per_section)
            else:
                hits = [_tree_hit(tree, a, slug, locale) for a, slug in shown[:per_section]]
            sections.append(
                HelpSection(
                    section=section,
                    name=(zh and section.name_zh) or section.name,
                    articles=hits,
                    article_count=tree.counts.get(section.pk, 0),
                )
            )
        if sections:
            out.append(
                HelpCategory(
                    category=category,
                    name=(zh and category.name_zh) or category.name,
                    description=(zh and category.description_zh) or category.description,
                    sections=sections,
                )
            )
    return out


def section_articles(
    section: Section, locale: str, *, limit: int | None = None, offset: int = 0
) -> list[ArticleHit]:
    """A section's published articles in order (a section page): from the in-memory
    tree when the page is within its first articles, else two queries."""
    if limit is not None and offset + limit <= TREE_ARTICLES_PER_SECTION:
        tree = _tree_cache.get()
        shown = tree.firsts.get(section.pk, [])[offset : offset + limit]
        return [_tree_hit(tree, article_id, slug, locale) for article_id, slug in shown]
    qs = _ordered_articles().filter(section=section).values_list("id", "slug")
    rows = list(qs[offset : offset + limit] if limit is not None else qs[offset:])
    titles = _titles([a for a, _s in rows], locale)
    return [
        ArticleHit(
            article_id=a,
            slug=slug,
            title=titles.get(a, ("", locale))[0],
            snippet="",
            locale=titles.get(a, ("", locale))[1],
        )
        for a, slug in rows
    ]


# --- staff ------------------------------------------------------------------------------


def articles_for_staff(
    user: User,
    *,
    q: str = "",
    status: str | None = None,
    locale: str | None = None,
    category: Category | int | str | None = None,
) -> QuerySet[Article]:
    """Articles a staff member may see, newest change first, with translations
    prefetched. ``status`` and ``locale`` filter on the translations (an article with
    an English draft matches status="draft", locale="en"); ``q`` searches titles and
    text in every state, or is the exact slug."""
    if not (user.is_active and user.has_perm("kb.view_article")):
        return Article.objects.none()
    qs = Article.objects.select_related("section__category", "author").prefetch_related(
        "translations", "tags"
    )
    translations = ArticleTranslation.objects.filter(article=OuterRef("pk"))
    if status:
        translations = translations.filter(status=status)
    if locale:
        translations = translations.filter(locale=locale)
    if status or locale:
        qs = qs.filter(Exists(translations))
    if q.strip():
        statuses = (
            [kb_search.doc_status(status, loc) for loc in ([locale] if locale else Locale.values)]
            if status
            else all_statuses(locale)
        )
        matched = translations.filter(pk__in=matching_ids(q, ARTICLE, status=statuses))
        qs = qs.filter(Exists(matched) | Q(slug=q.strip().lower()))
    if isinstance(category, Category):
        qs = qs.filter(section__category=category)
    elif isinstance(category, int) or (isinstance(category, str) and category.isdigit()):
        qs = qs.filter(section__category_id=int(category))
    elif category:
        qs = qs.filter(section__category__slug=category)
    return qs.order_by("-updated_at", "-id")
