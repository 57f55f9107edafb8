"""Every write to the knowledge base: articles and their translations, places
(categories, sections), images, and what the help center records about its readers
(views, votes, searches, suggestions opened from the support form, deflections).

Content writes check the actor's permission and re-index after commit. The reader
records take no actor: the help center is public, and each is one small upsert.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.crypto import salted_hmac
from django.utils.text import slugify
from django.utils.translation import gettext as _

from tend.core.audit import audit_record
from tend.core.commit import after_commit
from tend.core.models import User
from tend.core.roles import require_perm
from tend.core.search.tokens import normalize
from tend.desk.models import Feature, ProductArea, Tag
from tend.kb.markdown import render_markdown
from tend.kb.models import (
    Article,
    ArticleDailyStat,
    ArticleImage,
    ArticleStatus,
    ArticleTranslation,
    ArticleVote,
    Category,
    Locale,
    SearchSource,
    SearchTerm,
    Section,
    SuggestionOpen,
)
from tend.kb.search import index_article, index_translation, unindex_translations

# A long manual is ~50,000 characters; four times that is a mistake (a pasted log, a
# whole book), and rendering and indexing it on every save would cost seconds.
MAX_MARKDOWN_CHARS = 200_000
MAX_TITLE_CHARS = 300
MAX_IMAGE_BYTES = 5 * 1024 * 1024
# A suggestion opened from the support form counts as a deflection when its visitor
# has not submitted the form this long after opening it.
DEFLECTION_WINDOW = timedelta(minutes=30)
DEFAULT_SECTION_SLUG = "general"

_IMAGE_TYPES = (
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
)


def visitor_hash(session_key: str) -> str:
    """A stable, unguessable stand-in for a visitor's session (64 hex characters):
    votes and suggestion opens never store the session key itself."""
    return salted_hmac("tend.kb.visitor", session_key, algorithm="sha256").hexdigest()


# --- validation helpers ----------------------------------------------------------------


def _choice(value: str, choices: Any, field: str) -> str:
    if value not in choices.values:
        raise ValidationError(
            {
                field: _("“%(value)s” is not one of: %(allowed)s.")
                % {"value": value, "allowed": ", ".join(choices.values)}
            }
        )
    return str(value)


def _clean_title(title: str) -> str:
    title = " ".join((title or "").split())
    if not title:
        raise ValidationError({"title": _("An article needs a title.")})
    if len(title) > MAX_TITLE_CHARS:
        raise ValidationError(
            {"title": _("Titles are at most %(max)d characters.") % {"max": MAX_TITLE_CHARS}}
        )
    return title


def _clean_body(body: str) -> str:
    body = (body or "").replace("\r\n", "\n")
    if len(body) > MAX_MARKDOWN_CHARS:
        raise ValidationError(
            {
                "body": _(
                    "This article is %(size)s characters long; the limit is %(max)s. "
                    "Split it into several articles."
                )
                % {"size": f"{len(body):,}", "max": f"{MAX_MARKDOWN_CHARS:,}"}
            }
        )
    return body


def _normalize_tags(names: Iterable[str]) -> list[str]:
    """Tag names as the desk stores them: lower case, spaces as underscores."""
    cleaned: list[str] = []
    for name in names:
        tag = re.sub(r"\s+", "_", str(name).strip().lower())[:64]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return cleaned


def _tags_for(names: Iterable[str]) -> list[Tag]:
    return [Tag.objects.get_or_create(name=name)[0] for name in _normalize_tags(names)]


def _unique_slug(title: str) -> str:
    base = slugify(title)[:100].strip("-")
    if not base:  # a Chinese title has no ASCII letters to make a slug of
        return f"article-{uuid.uuid4().hex[:10]}"
    candidates = [base, *(f"{base}-{n}" for n in range(2, 10))]
    taken = set(Article.objects.filter(slug__in=candidates).values_list("slug", flat=True))
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    return f"{base}-{uuid.uuid4().hex[:8]}"


def _clean_slug(slug: str) -> str:
    slug = slug.strip().lower()
    if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug) or len(slug) > 120:
        raise ValidationError(
            {"slug": _("Use lower-case letters, digits and hyphens (at most 120 characters).")}
        )
    if Article.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": _("Another article already uses this slug.")})
    return slug


def _section_for(category: Category | None, section: Section | None) -> Section | None:
    """The section an article goes to: the one given, else the category's first
    (a "General" one is made for a category that has none)."""
    if section is not None:
        if category is not None and section.category_id != category.pk:
            raise ValidationError({"section": _("This section belongs to another category.")})
        return section
    if category is None:
        return None
    first = category.sections.order_by("position", "name").first()
    if first is not None:
        return first
    return Section.objects.create(
        category=category, slug=DEFAULT_SECTION_SLUG, name="General", name_zh="常规"
    )


def _check_feature(product_area: ProductArea | None, feature: Feature | None) -> None:
    if (
        feature is not None
        and product_area is not None
        and feature.product_area_id != product_area.pk
    ):
        raise ValidationError({"feature": _("This feature belongs to another product area.")})


# --- articles ---------------------------------------------------------------------------


@transaction.atomic
def article_create(
    *,
    actor: User,
    title: str,
    body: str,
    locale: str = Locale.EN,
    status: str = ArticleStatus.DRAFT,
    section: Section | None = None,
    category: Category | None = None,
    slug: str | None = None,
    product_area: ProductArea | None = None,
    feature: Feature | None = None,
    tags: Iterable[str] = (),
) -> Article:
    """A new article with its first translation."""
    require_perm(actor, "kb.add_article")
    title = _clean_title(title)
    body = _clean_body(body)
    _choice(locale, Locale, "locale")
    _choice(status, ArticleStatus, "status")
    _check_feature(product_area, feature)
    if feature is not None and product_area is None:
        product_area = feature.product_area
    article = Article.objects.create(
        slug=_clean_slug(slug) if slug else _unique_slug(title),
        section=_section_for(category, section),
        author=actor,
        product_area=product_area,
        feature=feature,
    )
    tag_objects = _tags_for(tags)
    if tag_objects:
        article.tags.set(tag_objects)
    translation_save(
        actor=actor, article=article, locale=locale, title=title, body=body, status=status
    )
    return article


@transaction.atomic
def translation_save(
    *,
    actor: User,
    article: Article,
    locale: str,
    title: str,
    body: str,
    status: str,
) -> ArticleTranslation:
    """Create or replace the article's text in one locale; the HTML is rendered here,
    once, and the search document follows after commit."""
    require_perm(actor, "kb.change_article" if article.translations.exists() else "kb.add_article")
    title = _clean_title(title)
    body = _clean_body(body)
    _choice(locale, Locale, "locale")
    _choice(status, ArticleStatus, "status")
    now = timezone.now()
    translation = (
        ArticleTranslation.objects.select_for_update()
        .filter(article=article, locale=locale)
        .first()
    )
    if translation is None:
        translation = ArticleTranslation(article=article, locale=locale)
    was_published = translation.status == ArticleStatus.PUBLISHED and translation.pk is not None
    if translation.pk is None or translation.body_markdown != body or not translation.body_html:
        translation.body_html = render_markdown(body)
    translation.title = title
    translation.body_markdown = body
    translation.status = status
    translation.updated_by = actor
    if status == ArticleStatus.PUBLISHED and not was_published:
        translation.published_at = now
    translation.full_clean(exclude=["article", "body_html"])
    translation.save()
    Article.objects.filter(pk=article.pk).update(updated_at=now)
    translation_id = translation.pk
    after_commit(lambda: index_translation(translation_id))
    return translation


_ARTICLE_FIELDS = {"section", "category", "product_area", "feature", "tags", "position", "author"}


@transaction.atomic
def article_update(*, actor: User, article: Article, **fields: Any) -> Article:
    """Change where an article lives and what it is about. The slug never changes:
    old links in replies and macros keep working."""
    require_perm(actor, "kb.change_article")
    if "slug" in fields and fields["slug"] != article.slug:
        raise ValidationError({"slug": _("An article's slug cannot change once it is set.")})
    fields.pop("slug", None)
    unknown = set(fields) - _ARTICLE_FIELDS
    if unknown:
        raise ValidationError(
            _("Unknown article fields: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    if "section" in fields or "category" in fields:
        article.section = _section_for(fields.pop("category", None), fields.pop("section", None))
    tags = fields.pop("tags", None)
    for name, value in fields.items():
        setattr(article, name, value)
    if article.feature is not None and article.product_area is None:
        article.product_area = article.feature.product_area
    _check_feature(article.product_area, article.feature)
    article.save()
    if tags is not None:
        article.tags.set(_tags_for(tags))
    article_id = article.pk
    after_commit(lambda: index_article(article_id))
    return article


@transaction.atomic
def article_delete(*, actor: User, article: Article, reason: str = "") -> None:
    """Delete an article with every translation, image and statistic (audited)."""
    require_perm(actor, "kb.delete_article")
    translations = list(article.translations.values("id", "locale", "title"))
    audit_record(
        actor=actor,
        action="kb.article_delete",
        target=f"article:{article.pk} {article.slug}",
        reason=reason,
        data={"titles": {t["locale"]: t["title"] for t in translations}},
    )
    for image in article.images.all():
        image.file.delete(save=False)
    article.delete()
    ids = [t["id"] for t in translations]
    after_commit(lambda: unindex_translations(ids))


@transaction.atomic
def translation_delete(*, actor: User, translation: ArticleTranslation) -> None:
    """Remove one locale of an article (the article itself stays)."""
    require_perm(actor, "kb.delete_articletranslation")
    translation_id = translation.pk
    translation.delete()
    after_commit(lambda: unindex_translations([translation_id]))


# --- places -----------------------------------------------------------------------------


def _place_slug(slug: str | None, name: str) -> str:
    value = slugify(slug or name)[:100].strip("-")
    return value or f"c-{uuid.uuid4().hex[:8]}"


@transaction.atomic
def category_save(
    *,
    actor: User,
    name: str,
    category: Category | None = None,
    name_zh: str = "",
    slug: str | None = None,
    description: str = "",
    description_zh: str = "",
    position: int = 0,
) -> Category:
    """Create a category, or change the one given."""
    require_perm(actor, "kb.change_category" if category else "kb.add_category")
    category = category or Category()
    if not category.slug or slug:
        category.slug = _place_slug(slug, name)
    category.name = name.strip()
    category.name_zh = name_zh.strip()
    category.description = description.strip()
    category.description_zh = description_zh.strip()
    category.position = position
    category.full_clean()
    category.save()
    _reindex_place(Article.objects.filter(section__category=category))
    return category


@transaction.atomic
def section_save(
    *,
    actor: User,
    category: Category,
    name: str,
    section: Section | None = None,
    name_zh: str = "",
    slug: str | None = None,
    position: int = 0,
) -> Section:
    """Create a section in ``category``, or change (and possibly move) the one given."""
    require_perm(actor, "kb.change_section" if section else "kb.add_section")
    section = section or Section()
    section.category = category
    if not section.slug or slug:
        section.slug = _place_slug(slug, name)
    section.name = name.strip()
    section.name_zh = name_zh.strip()
    section.position = position
    section.full_clean()
    section.save()
    _reindex_place(Article.objects.filter(section=section))
    return section


def _reindex_place(articles: Any) -> None:
    # Section and category names are part of each document; renames are rare.
    ids = list(articles.values_list("id", flat=True))
    if ids:
        after_commit(lambda: _index_articles(ids))


def _index_articles(ids: list[int]) -> None:
    for article_id in ids:
        index_article(article_id)


# --- images -----------------------------------------------------------------------------


def _sniff_image(head: bytes) -> tuple[str, str] | None:
    for magic, content_type, ext in _IMAGE_TYPES:
        if head.startswith(magic):
            return content_type, ext
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


@transaction.atomic
def image_upload(*, actor: User, article: Article, upload: UploadedFile) -> ArticleImage:
    """Store an image for an article's Markdown. The type is read from the file's
    first bytes, never from its name or the browser's word; SVG is refused (it can
    carry script)."""
    require_perm(actor, "kb.add_articleimage")
    size = upload.size or 0
    if size > MAX_IMAGE_BYTES:
        raise ValidationError(
            {"file": _("Images are at most %(max)d MB.") % {"max": MAX_IMAGE_BYTES // 1024 // 1024}}
        )
    upload.seek(0)
    kind = _sniff_image(upload.read(16))
    upload.seek(0)
    if kind is None:
        raise ValidationError({"file": _("Upload a PNG, JPEG, GIF or WebP image.")})
    content_type, ext = kind
    image = ArticleImage(article=article, content_type=content_type, size=size, uploaded_by=actor)
    image.file.save(f"{uuid.uuid4().hex}.{ext}", upload, save=False)
    image.save()
    return image


# --- what readers do --------------------------------------------------------------------


def _stat_add(*, article_id: int, locale: str, day: date, **deltas: int) -> None:
    """Add to a day's counters, creating the row on first use (safe under races)."""
    rows = ArticleDailyStat.objects.filter(article_id=article_id, locale=locale, day=day)
    changes = {name: F(name) + delta for name, delta in deltas.items()}
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            ArticleDailyStat.objects.create(
                article_id=article_id,
                locale=locale,
                day=day,
                **{k: max(v, 0) for k, v in deltas.items()},
            )
    except IntegrityError:  # someone created it meanwhile
        rows.update(**changes)


def article_view_record(*, article: Article, locale: str) -> None:
    _stat_add(article_id=article.pk, locale=locale, day=timezone.localdate(), views=1)


@transaction.atomic
def article_vote(*, article: Article, locale: str, visitor: str, helpful: bool) -> None:
    """ "Was this helpful?" — one answer per visitor and article; answering again
    changes the answer and moves it between the day counters."""
    vote = ArticleVote.objects.select_for_update().filter(article=article, visitor=visitor).first()
    today = timezone.localdate()
    field = "helpful" if helpful else "not_helpful"
    if vote is None:
        try:
            with transaction.atomic():
                ArticleVote.objects.create(
                    article=article, locale=locale, visitor=visitor, helpful=helpful
                )
        except IntegrityError:  # a double click raced us; the first answer stands
            return
        _stat_add(article_id=article.pk, locale=locale, day=today, **{field: 1})
        return
    if vote.helpful == helpful:
        return
    old_field = "helpful" if vote.helpful else "not_helpful"
    old_day = timezone.localdate(vote.updated_at)
    ArticleDailyStat.objects.filter(
        article=article, locale=vote.locale, day=old_day, **{f"{old_field}__gt": 0}
    ).update(**{old_field: F(old_field) - 1})
    vote.helpful = helpful
    vote.locale = locale
    vote.save(update_fields=["helpful", "locale", "updated_at"])
    _stat_add(article_id=article.pk, locale=locale, day=today, **{field: 1})


def search_term_normalize(term: str) -> str:
    return " ".join(normalize(term or "").split())[:200]


def search_record(*, term: str, locale: str, source: str, hits: int) -> None:
    """Count a search by its normalised term (and whether it found nothing), for the
    "searches with no result" report."""
    term = search_term_normalize(term)
    if not term or locale not in Locale.values:
        return
    _choice(source, SearchSource, "source")
    day = timezone.localdate()
    rows = SearchTerm.objects.filter(day=day, term=term, locale=locale, source=source)
    empty = 1 if hits == 0 else 0
    changes = {"searches": F("searches") + 1, "no_results": F("no_results") + empty}
    if rows.update(**changes):
        return
    try:
        with transaction.atomic():
            SearchTerm.objects.create(
                day=day, term=term, locale=locale, source=source, searches=1, no_results=empty
            )
    except IntegrityError:
        rows.update(**changes)


def suggestion_open_record(
    *, article: Article, locale: str, visitor: str, query: str = ""
) -> SuggestionOpen:
    """A visitor opened a suggested article from the support form."""
    return SuggestionOpen.objects.create(
        article=article, locale=locale, visitor=visitor, query=" ".join(query.split())[:300]
    )


def suggestions_submitted(*, visitor: str, now: datetime | None = None) -> int:
    """The visitor submitted the support form after all: their pending opens do not
    deflect. Returns how many were marked."""
    return SuggestionOpen.objects.filter(
        visitor=visitor, submitted_at__isnull=True, counted_at__isnull=True
    ).update(submitted_at=now or timezone.now())


@transaction.atomic
def deflections_count(*, now: datetime | None = None) -> int:
    """Turn opens older than DEFLECTION_WINDOW without a submit into deflections on
    the article's day counter; returns how many. Idempotent: each open is claimed once
    (``counted_at``), and one visitor opening the same article twice counts once."""
    now = now or timezone.now()
    pending = SuggestionOpen.objects.filter(
        counted_at__isnull=True, opened_at__lte=now - DEFLECTION_WINDOW
    )
    rows = list(
        pending.select_for_update(skip_locked=True)
        .order_by("opened_at")
        .values_list("id", "article_id", "locale", "visitor", "opened_at", "submitted_at")
    )
    if not rows:
        return 0
    SuggestionOpen.objects.filter(pk__in=[r[0] for r in rows]).update(counted_at=now)
    already = set(
        SuggestionOpen.objects.filter(
            counted_at__isnull=False,
            submitted_at__isnull=True,
            visitor__in={r[3] for r in rows},
            article_id__in={r[1] for r in rows},
        )
        .exclude(pk__in=[r[0] for r in rows])
        .values_list("article_id", "visitor")
    )
    counts: dict[tuple[int, str, date], int] = {}
    for _id, article_id, locale, visitor, opened_at, submitted_at in rows:
        if submitted_at is not None or (article_id, visitor) in already:
            continue
        already.add((article_id, visitor))
        key = (article_id, locale, timezone.localdate(opened_at))
        counts[key] = counts.get(key, 0) + 1
    for (article_id, locale, day), n in counts.items():
        _stat_add(article_id=article_id, locale=locale, day=day, deflections=n)
    return sum(counts.values())
