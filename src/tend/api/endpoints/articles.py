"""Knowledge-base articles: list and search, read, create, change, delete.

An article is one slug with a text per language; ``title``, ``locale`` and ``status``
at the top of each answer are those of the text asked for (``?locale=``, or the one
just written), the others are under ``translations``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja import Status as WithStatus
from pydantic import Field

from tend.api.auth import request_user
from tend.api.errors import field_error
from tend.api.filters import reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import Error, Page, StrictIn, TagName, UserRef
from tend.core.models import User
from tend.core.roles import require_perm
from tend.desk.models import Feature, ProductArea
from tend.kb.models import Article, ArticleStatus, Category, Locale, Section
from tend.kb.selectors import articles_for_staff, help_article_url
from tend.kb.services import article_create, article_delete, article_update, translation_save

router = Router(tags=["knowledge base"])


class TranslationOut(Schema):
    locale: str
    title: str
    body: str = Field(description="Markdown.")
    body_html: str = Field(description="The sanitised HTML the help center shows.")
    status: str
    published_at: datetime | None
    updated_at: datetime


class ArticleOut(Schema):
    id: int
    slug: str
    url: str = Field(description="The article on the public help center.")
    title: str
    locale: str
    status: str
    category: int | None
    section: int | None
    product_area: int | None
    feature: int | None
    tags: list[str]
    author: UserRef | None
    created_at: datetime
    updated_at: datetime
    translations: list[TranslationOut]


class ArticleCreateIn(StrictIn):
    title: str
    body: str = Field(description="Markdown, at most 200,000 characters.")
    locale: Locale = Locale.EN
    status: ArticleStatus = ArticleStatus.DRAFT
    category: int | str | None = Field(default=None, description="Category id or slug.")
    section: int | None = Field(default=None, description="Section id.")
    slug: str | None = Field(default=None, description="Made from the title when left out.")
    tags: list[TagName] = []
    product_area: int | None = None
    feature: int | None = None


class ArticlePatchIn(StrictIn):
    locale: Locale | None = Field(
        default=None,
        description="The text that title/body/status change (default: English, or the "
        "article's only language). A new locale needs title and body.",
    )
    title: str | None = None
    body: str | None = None
    status: ArticleStatus | None = None
    category: int | str | None = None
    section: int | None = None
    tags: list[TagName] | None = None
    product_area: int | None = None
    feature: int | None = None
    position: int | None = Field(default=None, ge=0)


class ArticleFilters(PageParams):
    q: str | None = Field(default=None, description="Words to search for (any state), or a slug.")
    locale: Locale | None = Field(
        default=None, description="Articles with a text in this language."
    )
    status: ArticleStatus | None = Field(
        default=None, description="Articles with a text in this state."
    )
    category: str | None = Field(default=None, description="Category id or slug.")


# --- helpers ----------------------------------------------------------------------------


def _out(article: Article, locale: str | None = None) -> dict[str, Any]:
    """Needs translations and tags prefetched (articles_for_staff does)."""
    translations = sorted(article.translations.all(), key=lambda t: t.locale != Locale.EN)
    main = next((t for t in translations if t.locale == locale), None) or (
        translations[0] if translations else None
    )
    section = article.section
    return {
        "id": article.pk,
        "slug": article.slug,
        "url": help_article_url(article.slug),
        "title": main.title if main else "",
        "locale": main.locale if main else "",
        "status": main.status if main else "",
        "category": section.category_id if section else None,
        "section": section.pk if section else None,
        "product_area": article.product_area_id,
        "feature": article.feature_id,
        "tags": sorted(t.name for t in article.tags.all()),
        "author": article.author,
        "created_at": article.created_at,
        "updated_at": article.updated_at,
        "translations": [
            {
                "locale": t.locale,
                "title": t.title,
                "body": t.body_markdown,
                "body_html": t.body_html,
                "status": t.status,
                "published_at": t.published_at,
                "updated_at": t.updated_at,
            }
            for t in translations
        ],
    }


def _visible(user: User, article_id: int) -> Article:
    return articles_for_staff(user).get(pk=article_id)


def _category(value: int | str | None) -> Category | None:
    if value is None or value == "":
        return None
    lookup = Q(pk=int(value)) if str(value).isdigit() else Q(slug=str(value))
    category = Category.objects.filter(lookup).first()
    if category is None:
        raise field_error("category", _("No category “%(value)s”.") % {"value": value})
    return category


def _section(section_id: int | None) -> Section | None:
    if section_id is None:
        return None
    section = Section.objects.select_related("category").filter(pk=section_id).first()
    if section is None:
        raise field_error("section", _("No section with id %(id)s.") % {"id": section_id})
    return section


def _product_area(area_id: int | None) -> ProductArea | None:
    if area_id is None:
        return None
    area = ProductArea.objects.filter(pk=area_id).first()
    if area is None:
        raise field_error("product_area", _("No product area with id %(id)s.") % {"id": area_id})
    return area


def _feature(feature_id: int | None) -> Feature | None:
    if feature_id is None:
        return None
    feature = Feature.objects.select_related("product_area").filter(pk=feature_id).first()
    if feature is None:
        raise field_error("feature", _("No feature with id %(id)s.") % {"id": feature_id})
    return feature


# --- endpoints --------------------------------------------------------------------------


@router.get("/articles", response={200: Page[ArticleOut], 422: Error})
def article_list(request: HttpRequest, filters: Query[ArticleFilters]) -> dict[str, Any]:
    """Articles in every state, most recently changed first; ``q`` searches titles and
    text with the help center's tokeniser (Chinese two-character words work)."""
    reject_unknown_params(request, ArticleFilters)
    qs = articles_for_staff(
        request_user(request),
        q=filters.q or "",
        status=filters.status,
        locale=filters.locale,
        category=filters.category,
    )
    page = paginate(qs, filters)
    page["items"] = [_out(a, filters.locale) for a in page["items"]]
    return page


@router.get("/articles/{article_id}", response={200: ArticleOut, 404: Error})
def article_detail(
    request: HttpRequest, article_id: int, locale: Locale | None = None
) -> dict[str, Any]:
    return _out(_visible(request_user(request), article_id), locale)


@router.post("/articles", response={201: ArticleOut, 403: Error, 422: Error})
def article_post(request: HttpRequest, payload: ArticleCreateIn) -> WithStatus[dict[str, Any]]:
    user = request_user(request)
    require_perm(user, "kb.add_article")  # 403 before any complaint about the input
    article = article_create(
        actor=user,
        title=payload.title,
        body=payload.body,
        locale=payload.locale,
        status=payload.status,
        category=_category(payload.category),
        section=_section(payload.section),
        slug=payload.slug,
        product_area=_product_area(payload.product_area),
        feature=_feature(payload.feature),
        tags=payload.tags,
    )
    return WithStatus(201, _out(_visible(user, article.pk), payload.locale))


@router.patch(
    "/articles/{article_id}", response={200: ArticleOut, 403: Error, 404: Error, 422: Error}
)
def article_patch(request: HttpRequest, article_id: int, payload: ArticlePatchIn) -> dict[str, Any]:
    user = request_user(request)
    article = _visible(user, article_id)
    require_perm(user, "kb.change_article")
    changes = payload.model_dump(exclude_unset=True)
    locale = changes.pop("locale", None)
    text = {k: changes.pop(k) for k in ("title", "body", "status") if k in changes}
    if text:
        existing = {t.locale: t for t in article.translations.all()}
        locale = locale or (
            Locale.EN if Locale.EN in existing or not existing else next(iter(existing))
        )
        current = existing.get(locale)
        if current is None and not {"title", "body"} <= set(text):
            raise ValidationError(
                _("A new language needs both a title and a body."), code="incomplete"
            )
        translation_save(
            actor=user,
            article=article,
            locale=locale,
            title=text.get("title") or (current.title if current else ""),
            body=text["body"]
            if text.get("body") is not None
            else (current.body_markdown if current else ""),
            status=text.get("status") or (current.status if current else ArticleStatus.DRAFT),
        )
    if "category" in changes or "section" in changes:
        changes["category"] = _category(changes.get("category"))
        changes["section"] = _section(changes.get("section"))
    if "product_area" in changes:
        changes["product_area"] = _product_area(changes["product_area"])
    if "feature" in changes:
        changes["feature"] = _feature(changes["feature"])
    if changes:
        article_update(actor=user, article=article, **changes)
    return _out(_visible(user, article.pk), locale)


@router.delete("/articles/{article_id}", response={204: None, 403: Error, 404: Error})
def article_remove(request: HttpRequest, article_id: int, reason: str = "") -> HttpResponse:
    """Delete an article with all its languages (Managers; audited)."""
    user = request_user(request)
    article = _visible(user, article_id)
    article_delete(actor=user, article=article, reason=reason)
    return HttpResponse(status=204)
