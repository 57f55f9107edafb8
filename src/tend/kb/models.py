"""Knowledge base: categories → sections → articles, each article in one or more
locales, plus what the help center learns from its readers (views, votes, searches,
suggestions opened from the support form).

An ``Article`` is the locale-independent thing (slug, place, owner, tags); its text
lives in one ``ArticleTranslation`` per locale, each with its own draft/published
state, so the English version can be live while the Chinese one is still a draft.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.core.models import TimeStampedModel
from tend.desk.models import Feature, ProductArea, Tag


class Locale(models.TextChoices):
    EN = "en", "English"
    ZH_HANS = "zh-hans", "简体中文"


class ArticleStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")


class Category(models.Model):
    slug = models.SlugField(_("slug"), max_length=100, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    description = models.CharField(_("description"), max_length=500, blank=True)
    description_zh = models.CharField(_("description (Chinese)"), max_length=500, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("category")
        verbose_name_plural = _("categories")
        ordering = ["position", "name"]

    def __str__(self) -> str:
        return self.name


class Section(models.Model):
    category = models.ForeignKey(
        Category, verbose_name=_("category"), on_delete=models.CASCADE, related_name="sections"
    )
    slug = models.SlugField(_("slug"), max_length=100)
    name = models.CharField(_("name"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200, blank=True)
    position = models.PositiveIntegerField(_("position"), default=0)

    class Meta:
        verbose_name = _("section")
        verbose_name_plural = _("sections")
        ordering = ["category__position", "position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["category", "slug"], name="section_unique_slug")
        ]

    def __str__(self) -> str:
        return f"{self.category.name} / {self.name}"


class Article(TimeStampedModel):
    """One article across its locales. The slug never changes once set: links in old
    replies and macros keep working when the title is edited."""

    slug = models.SlugField(_("slug"), max_length=120, unique=True, allow_unicode=False)
    section = models.ForeignKey(
        Section,
        verbose_name=_("section"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="articles",
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    # What the article answers, in the desk's own vocabulary: "worth writing" compares
    # recent tickets' product area / feature / tags with these.
    product_area = models.ForeignKey(
        ProductArea,
        verbose_name=_("product area"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    feature = models.ForeignKey(
        Feature,
        verbose_name=_("feature"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("article")
        verbose_name_plural = _("articles")
        ordering = ["position", "-updated_at"]

    def __str__(self) -> str:
        return self.slug


class ArticleTranslation(TimeStampedModel):
    """The article in one locale. ``body_html`` is the sanitised rendering of
    ``body_markdown``, stored so that reading an article never renders Markdown."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="translations"
    )
    locale = models.CharField(_("language"), max_length=10, choices=Locale.choices)
    title = models.CharField(_("title"), max_length=300)
    body_markdown = models.TextField(_("body (Markdown)"), blank=True)
    body_html = models.TextField(_("body (HTML)"), blank=True, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=ArticleStatus.choices, default=ArticleStatus.DRAFT
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("article translation")
        verbose_name_plural = _("article translations")
        constraints = [
            models.UniqueConstraint(fields=["article", "locale"], name="article_unique_locale")
        ]
        indexes = [
            # "Published in this language", then the article: the help-center tree and
            # lists read titles by article from it without touching the rows (it also
            # serves every lookup by status and locale alone).
            models.Index(fields=["status", "locale", "article"], name="kb_translation_published"),
        ]

    def __str__(self) -> str:
        return f"{self.title} ({self.locale})"


class ArticleImage(models.Model):
    """An image uploaded for an article's Markdown (``![alt](url)``). No Pillow here:
    the type is checked from the file's first bytes (PNG, JPEG, GIF, WebP)."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="images"
    )
    file = models.FileField(_("file"), upload_to="kb/%Y/%m/")
    content_type = models.CharField(_("content type"), max_length=50)
    size = models.PositiveIntegerField(_("size"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("article image")
        verbose_name_plural = _("article images")
        # The help center finds an image by its stored name (/help/images/<name>).
        indexes = [models.Index(fields=["file"], name="kb_image_file")]

    def __str__(self) -> str:
        return self.file.name or ""


class ArticleDailyStat(models.Model):
    """Per article, locale and day: views, votes and deflections. Upserted, so the
    help center writes one small row per article a day however busy it is."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="+"
    )
    locale = models.CharField(_("language"), max_length=10, choices=Locale.choices)
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), default=0)
    helpful = models.PositiveIntegerField(_("helpful"), default=0)
    not_helpful = models.PositiveIntegerField(_("not helpful"), default=0)
    deflections = models.PositiveIntegerField(_("deflections"), default=0)

    class Meta:
        verbose_name = _("article statistics")
        verbose_name_plural = _("article statistics")
        constraints = [
            models.UniqueConstraint(
                fields=["article", "locale", "day"], name="article_stat_unique_day"
            )
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {self.locale} {self.day}"


class ArticleVote(models.Model):
    """One "was this helpful?" answer per visitor and article; voting again changes it.
    ``visitor`` is a hash of the visitor's session, never the session key itself."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="+"
    )
    locale = models.CharField(_("language"), max_length=10, choices=Locale.choices)
    visitor = models.CharField(_("visitor"), max_length=64)
    helpful = models.BooleanField(_("helpful"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("article vote")
        verbose_name_plural = _("article votes")
        constraints = [
            models.UniqueConstraint(fields=["article", "visitor"], name="article_vote_unique")
        ]

    def __str__(self) -> str:
        return f"{self.article_id} {'+' if self.helpful else '-'}"


class SearchSource(models.TextChoices):
    HELP_CENTER = "help", _("Help center")
    SUPPORT_FORM = "support", _("Support form")
    AGENT = "agent", _("Agent")
    API = "api", _("API")


class SearchTerm(models.Model):
    """Searches per normalised term, locale, source and day; ``no_results`` counts the
    ones that found nothing (the "searches with no result" report)."""

    day = models.DateField(_("day"))
    term = models.CharField(_("term"), max_length=200)
    locale = models.CharField(_("language"), max_length=10, choices=Locale.choices)
    source = models.CharField(_("source"), max_length=10, choices=SearchSource.choices)
    searches = models.PositiveIntegerField(_("searches"), default=0)
    no_results = models.PositiveIntegerField(_("searches with no result"), default=0)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        constraints = [
            models.UniqueConstraint(
                fields=["day", "term", "locale", "source"], name="search_term_unique_day"
            )
        ]

    def __str__(self) -> str:
        return self.term


class SuggestionOpen(models.Model):
    """A suggested article opened from the support form. It becomes a deflection when
    the visitor leaves without submitting (no ``submitted_at`` once it has aged past
    the deflection window); a submit in the same session marks it as not deflecting."""

    article = models.ForeignKey(
        Article, verbose_name=_("article"), on_delete=models.CASCADE, related_name="+"
    )
    locale = models.CharField(_("language"), max_length=10, choices=Locale.choices)
    visitor = models.CharField(_("visitor"), max_length=64, db_index=True)
    query = models.CharField(_("typed text"), max_length=300, blank=True)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    counted_at = models.DateTimeField(_("counted as deflection"), null=True, blank=True)

    class Meta:
        verbose_name = _("suggestion opened")
        verbose_name_plural = _("suggestions opened")
        indexes = [models.Index(fields=["counted_at", "opened_at"], name="kb_open_pending")]

    def __str__(self) -> str:
        return f"{self.article_id} {self.opened_at:%Y-%m-%d}"
