"""What the knowledge base learns: views, helpfulness and deflections per article,
searches that found nothing, and the "worth writing" list — groups of recent tickets
asking the same thing that no published article answers ("asked more than once →
write it").

Re-exported by kb.selectors; the staff analytics page and the API read these.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Exists, IntegerField, OuterRef, Sum, Value
from django.utils import timezone

from tend.core.search import matching_ids
from tend.desk.models import Feature, ProductArea, Tag, Ticket
from tend.kb.models import (
    Article,
    ArticleDailyStat,
    ArticleStatus,
    ArticleTranslation,
    Locale,
    SearchTerm,
)
from tend.kb.search import ARTICLE, published_statuses
from tend.kb.terms import content_terms

# --- per-article figures ----------------------------------------------------------------


@dataclass(frozen=True)
class ArticleStats:
    article_id: int
    slug: str
    title: str
    views: int
    helpful: int
    not_helpful: int
    deflections: int

    @property
    def votes(self) -> int:
        return self.helpful + self.not_helpful

    @property
    def helpful_pct(self) -> float | None:
        """Share of "yes" answers, 0–100; None without votes."""
        return round(100 * self.helpful / self.votes, 1) if self.votes else None


def _since(days: int, now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - timedelta(days=days)


def kb_analytics(
    *, days: int = 30, locale: str | None = None, limit: int | None = None
) -> list[ArticleStats]:
    """Per article over the last ``days`` days: views, votes, helpful % and
    deflections, most viewed first. Articles without any activity are left out.
    Two queries."""
    since = timezone.localdate() - timedelta(days=days - 1)
    rows = ArticleDailyStat.objects.filter(day__gte=since)
    if locale:
        rows = rows.filter(locale=locale)
    totals = list(
        rows.values("article_id")
        .annotate(v=Sum("views"), h=Sum("helpful"), n=Sum("not_helpful"), d=Sum("deflections"))
        .order_by("-v", "-d", "article_id")
    )
    if limit is not None:
        totals = totals[:limit]
    ids = [r["article_id"] for r in totals]
    names: dict[int, tuple[str, str]] = {}
    title_rows = ArticleTranslation.objects.filter(article_id__in=ids).values_list(
        "article_id", "article__slug", "locale", "title"
    )
    for article_id, slug, row_locale, title in title_rows:
        # English first in the staff list unless a locale was asked for.
        if article_id not in names or row_locale == (locale or Locale.EN):
            names[article_id] = (slug, title)
    return [
        ArticleStats(
            article_id=r["article_id"],
            slug=names.get(r["article_id"], ("", ""))[0],
            title=names.get(r["article_id"], ("", ""))[1],
            views=r["v"] or 0,
            helpful=r["h"] or 0,
            not_helpful=r["n"] or 0,
            deflections=r["d"] or 0,
        )
        for r in totals
    ]


@dataclass(frozen=True)
class TermCount:
    term: str
    locale: str
    searches: int
    no_results: int


def no_result_terms(*, days: int = 30, limit: int = 20) -> list[TermCount]:
    """The terms searched most often without a result (help center, support form,
    agents, API together), most misses first."""
    since = timezone.localdate() - timedelta(days=days - 1)
    rows = (
        SearchTerm.objects.filter(day__gte=since)
        .values("term", "locale")
        .annotate(s=Sum("searches"), n=Sum("no_results"))
        .filter(n__gt=0)
        .order_by("-n", "-s", "term")[:limit]
    )
    return [TermCount(r["term"], r["locale"], r["s"], r["n"]) for r in rows]


# --- worth writing ----------------------------------------------------------------------


@dataclass
class TopicGroup:
    """Recent tickets about one thing that no published article covers. ``kind`` is
    what joins them: "feature", "product_area", "tag" or "subject" (similar words)."""

    label: str
    ticket_ids: list[int]
    product_area: ProductArea | None = None
    feature: Feature | None = None
    tag: Tag | None = None
    kind: str = "subject"
    terms: list[str] = field(default_factory=list)


# Tickets looked at: the newest this many in the period.
MAX_TICKETS = 5000
MAX_GROUPS = 50
# A tag on more than this share of the period's tickets, and on at least this many, is
# not a topic. The minimum keeps a quiet week's few tickets from all counting as generic.
GENERIC_TAG_SHARE = 0.25
GENERIC_TAG_MIN_TICKETS = 10


def _covered() -> tuple[set[int], set[int], set[int]]:
    """Product areas, features and tags that a published article is about."""
    published = Article.objects.filter(
        Exists(
            ArticleTranslation.objects.filter(
                article=OuterRef("pk"), status=ArticleStatus.PUBLISHED
            )
        )
    )
    areas, features = set(), set()
    for area_id, feature_id in published.values_list("product_area_id", "feature_id"):
        if area_id:
            areas.add(area_id)
        if feature_id:
            features.add(feature_id)
    tags = set(
        Article.tags.through.objects.filter(article__in=published).values_list("tag_id", flat=True)
    )
    return areas, features, tags


def _similarity(shared: int, size_a: int, size_b: int) -> float:
    """Jaccard overlap of two subjects' terms, 0 when they are not alike enough: two
    shared terms and a third of all, or half of all (short subjects)."""
    union = size_a + size_b - shared
    if not shared or not union:
        return 0.0
    jaccard = shared / union
    if (shared >= 2 and jaccard >= 0.34) or (jaccard >= 0.5 and union <= 3):
        return jaccard
    return 0.0


def _subject_clusters(subjects: dict[int, str]) -> list[tuple[list[int], list[str]]]:
    """Groups of tickets with alike subjects, with the terms most of them share.

    Leader clustering: each ticket joins the group whose first ticket it is most
    alike, or starts a group. Comparing with first tickets only (never chaining
    through members) keeps "export csv" and "export pdf" from merging through a
    ticket that mentions both; and it is linear in the tickets.
    """
    seeds: list[set[str]] = []
    members: list[list[int]] = []
    postings: dict[str, list[int]] = {}
    terms: dict[int, set[str]] = {}
    for pk, subject in subjects.items():
        own = set(content_terms(subject))
        if not own:
            continue
        terms[pk] = own
        shared: Counter[int] = Counter()
        for t in own:
            shared.update(postings.get(t, ()))
        best, best_score = -1, 0.0
        for g, n in shared.items():
            score = _similarity(n, len(own), len(seeds[g]))
            if score > best_score:
                best, best_score = g, score
        if best >= 0:
            members[best].append(pk)
            continue
        seeds.append(own)
        members.append([pk])
        for t in own:
            postings.setdefault(t, []).append(len(seeds) - 1)
    out = []
    for group in members:
        if len(group) < 2:
            continue
        counts = Counter(t for pk in group for t in terms[pk])
        common = [t for t, n in counts.most_common() if n >= max(2, (len(group) + 1) // 2)]
        out.append((sorted(group), common or [t for t, _n in counts.most_common(2)]))
    return out


def _answered(term_lists: Sequence[Sequence[str]]) -> list[bool]:
    """For each group's main terms: does a published article (either language) contain
    them? One query however many groups: a UNION of one index lookup per group, each
    stopping at its first match."""
    statuses = published_statuses(None)
    lookups = [
        ArticleTranslation.objects.filter(
            pk__in=matching_ids(" ".join(terms[:2]), ARTICLE, status=statuses, cap=1)
        )
        .order_by()
        .values_list(Value(i, output_field=IntegerField()), flat=True)
        for i, terms in enumerate(term_lists)
        if terms
    ]
    if not lookups:
        return [False] * len(term_lists)
    first, *rest = lookups
    found = set(first.union(*rest, all=True))
    return [i in found for i in range(len(term_lists))]


def _label(subjects: Iterable[str]) -> str:
    counted = Counter(" ".join(s.split()) for s in subjects)
    top, n = counted.most_common(1)[0]
    if n > 1:
        return top
    return min(counted, key=lambda s: (len(s), s))


def worth_writing(
    *, days: int = 30, min_tickets: int = 2, now: datetime | None = None
) -> list[TopicGroup]:
    """Groups of at least ``min_tickets`` tickets from the last ``days`` days that ask
    about the same thing and that no published article answers, biggest first:
    the same feature, product area or tag with no article about it, or subjects with
    the same words that no article contains."""
    tickets = list(
        Ticket.objects.filter(created_at__gte=_since(days, now))
        .order_by("-created_at")
        .values_list("id", "subject", "product_area_id", "feature_id")[:MAX_TICKETS]
    )
    if not tickets:
        return []
    ids = [t[0] for t in tickets]
    subjects = {pk: subject for pk, subject, _a, _f in tickets}
    covered_areas, covered_features, covered_tags = _covered()
    by_feature: dict[int, list[int]] = {}
    by_area: dict[int, list[int]] = {}
    for pk, _subject, area_id, feature_id in tickets:
        if feature_id and feature_id not in covered_features:
            by_feature.setdefault(feature_id, []).append(pk)
        if area_id and area_id not in covered_areas:
            by_area.setdefault(area_id, []).append(pk)
    by_tag: dict[int, list[int]] = {}
    tag_rows = Ticket.tags.through.objects.filter(ticket_id__in=ids).values_list(
        "tag_id", "ticket_id"
    )
    for tag_id, ticket_id in tag_rows:
        if tag_id not in covered_tags:
            by_tag.setdefault(tag_id, []).append(ticket_id)
    # A tag on a large share of the tickets is workflow ("vip", "bug", "how-to"), not
    # something one article could answer; it would only crowd the top of the list.
    generic = GENERIC_TAG_SHARE * len(tickets)
    by_tag = {
        k: v
        for k, v in by_tag.items()
        if not (len(v) > generic and len(v) >= GENERIC_TAG_MIN_TICKETS)
    }

    def big(groups: dict[int, list[int]]) -> dict[int, list[int]]:
        return {k: sorted(v) for k, v in groups.items() if len(v) >= min_tickets}

    by_feature, by_area, by_tag = big(by_feature), big(by_area), big(by_tag)
    features = Feature.objects.select_related("product_area").in_bulk(list(by_feature))
    areas = ProductArea.objects.in_bulk(list(by_area))
    tags = Tag.objects.in_bulk(list(by_tag))

    groups: list[TopicGroup] = []
    for feature_id, members in by_feature.items():
        feature = features[feature_id]
        groups.append(
            TopicGroup(
                label=f"{feature.product_area.name} / {feature.name}",
                ticket_ids=members,
                product_area=feature.product_area,
                feature=feature,
                kind="feature",
            )
        )
    for area_id, members in by_area.items():
        groups.append(
            TopicGroup(
                label=areas[area_id].name,
                ticket_ids=members,
                product_area=areas[area_id],
                kind="product_area",
            )
        )
    for tag_id, members in by_tag.items():
        groups.append(
            TopicGroup(label=tags[tag_id].name, ticket_ids=members, tag=tags[tag_id], kind="tag")
        )
    clusters = sorted(_subject_clusters(subjects), key=lambda c: -len(c[0]))[:MAX_GROUPS]
    clusters = [c for c in clusters if len(c[0]) >= min_tickets]
    answered = _answered([shared for _members, shared in clusters])
    for (members, shared), is_answered in zip(clusters, answered, strict=True):
        if is_answered:
            continue
        groups.append(
            TopicGroup(
                label=_label(subjects[pk] for pk in members),
                ticket_ids=members,
                kind="subject",
                terms=shared[:5],
            )
        )
    # The same tickets found twice (a feature and its area, a tag on exactly those
    # tickets) is one topic: the first, most specific, reading stays.
    seen: set[tuple[int, ...]] = set()
    unique: list[TopicGroup] = []
    for group in groups:
        key = tuple(group.ticket_ids)
        if key not in seen:
            seen.add(key)
            unique.append(group)
    order = {"feature": 0, "product_area": 1, "tag": 2, "subject": 3}
    unique.sort(key=lambda g: (-len(g.ticket_ids), order[g.kind], g.label))
    return unique[:MAX_GROUPS]
