"""Knowledge base, staff side: the article list, the editor (one locale tab at a time,
Markdown with a live preview, images, publish / unpublish), categories and sections.
Its ``urlpatterns`` also mount views_kb_desk (suggested articles on a ticket, the
"insert article link" picker) and views_kb_analytics (the analytics page).

Who may do what comes from the kb permissions (core/roles.py): reading needs
``kb.view_article``, writing ``kb.add_article`` / ``kb.change_article``,
the numbers ``kb.view_articledailystat``. kb.services checks again; the checks here
decide what to show and answer 403 early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tend.core.models import User
from tend.kb import selectors as kb_selectors
from tend.kb import services as kb_services
from tend.kb.images import help_image_url
from tend.kb.markdown import render_markdown
from tend.kb.models import Article, ArticleStatus, ArticleTranslation, Category, Section
from tend.web.forms_kb import (
    LOCALE_TABS,
    ArticleFilterForm,
    ArticleForm,
    CategoryForm,
    ImageUploadForm,
    SectionForm,
    locale_or_default,
)
from tend.web.requests import forbidden, form_errors_add, request_user
from tend.web.views_kb_analytics import urlpatterns as analytics_urlpatterns
from tend.web.views_kb_desk import urlpatterns as desk_urlpatterns
from tend.web.views_kb_desk import user_locale

PAGE_SIZE = 50
# The live preview renders what is typed, up to what an article may hold at all.
PREVIEW_MAX_CHARS = kb_services.MAX_MARKDOWN_CHARS


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- articles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleRow:
    article: Article
    title: str
    locale: str  # the tab the title comes from, opened by the title's link
    published: bool
    locales: list[tuple[str, str, ArticleTranslation | None]]
    updated_at: Any
    updated_by: User | None


def _article_row(article: Article, preferred: str) -> ArticleRow:
    by_locale = {t.locale: t for t in article.translations.all()}
    shown = by_locale.get(preferred) or next(iter(by_locale.values()), None)
    latest = max(by_locale.values(), key=lambda t: t.updated_at, default=None)
    return ArticleRow(
        article=article,
        title=shown.title if shown else article.slug,
        locale=shown.locale if shown else preferred,
        published=any(t.status == ArticleStatus.PUBLISHED for t in by_locale.values()),
        locales=[(code, label, by_locale.get(code)) for code, label in LOCALE_TABS],
        updated_at=latest.updated_at if latest else article.updated_at,
        updated_by=latest.updated_by if latest else None,
    )


@login_required
@require_GET
def article_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.view_article"):
        return forbidden(request)
    form = ArticleFilterForm(request.GET or None)
    filters = form.filters()
    articles = kb_selectors.articles_for_staff(
        user,
        q=filters.q,
        status=filters.status,
        locale=filters.locale,
        category=filters.category,
    )
    # Who saved each row last is shown too: one more query for the page, not one a row.
    articles = articles.prefetch_related("translations__updated_by")
    page = Paginator(articles, PAGE_SIZE).get_page(request.GET.get("page"))
    preferred = filters.locale or user_locale(user)
    return render(
        request,
        "web/kb/article_list.html",
        {
            "filter_form": form,
            "page": page,
            "rows": [_article_row(a, preferred) for a in page.object_list],
            "filtered": any(vars(filters).values()),
            "can_add": user.has_perm("kb.add_article"),
            "can_change": user.has_perm("kb.change_article"),
            "can_manage_categories": user.has_perm("kb.view_category"),
            "can_see_stats": user.has_perm("kb.view_articledailystat"),
        },
    )


def _tabs(request: HttpRequest, article: Article | None, locale: str) -> list[dict[str, Any]]:
    by_locale = {t.locale: t for t in article.translations.all()} if article else {}
    base = (
        reverse("web:kb_article_edit", args=[article.pk])
        if article
        else reverse("web:kb_article_new")
    )
    tabs = []
    for code, label in LOCALE_TABS:
        query = request.GET.copy() if article is None else {}
        query["locale"] = code
        tabs.append(
            {
                "code": code,
                "label": label,
                "current": code == locale,
                "translation": by_locale.get(code),
                "url": f"{base}?{urlencode(query, doseq=True)}",
            }
        )
    return tabs


def _preview(body: str) -> dict[str, str]:
    if len(body) > PREVIEW_MAX_CHARS:
        return {
            "preview_error": _("Too long: an article holds at most %(max)s characters.")
            % {"max": PREVIEW_MAX_CHARS}
        }
    return {"preview_html": render_markdown(body) if body.strip() else ""}


def _editor(
    request: HttpRequest,
    *,
    form: ArticleForm,
    article: Article | None,
    locale: str,
    translation: ArticleTranslation | None,
    status: int = 200,
) -> HttpResponse:
    user = request_user(request)
    body = form["body"].value() or ""
    return render(
        request,
        "web/kb/article_form.html",
        {
            "form": form,
            "article": article,
            "locale": locale,
            "translation": translation,
            "tabs": _tabs(request, article, locale),
            "help_url": (
                f"{kb_selectors.help_article_url(article.slug, absolute=False)}?lang={locale}"
                if article
                else ""
            ),
            "image_form": ImageUploadForm(),
            "can_upload": article is not None and user.has_perm("kb.add_articleimage"),
            "can_delete": article is not None and user.has_perm("kb.delete_article"),
            **_preview(body),
        },
        status=status,
    )


def _status_for(action: str, current: str | None) -> str:
    if action == "publish":
        return ArticleStatus.PUBLISHED
    if action == "unpublish":
        return ArticleStatus.DRAFT
    return current or ArticleStatus.DRAFT


@login_required
@require_http_methods(["GET", "POST"])
def article_new(request: HttpRequest) -> HttpResponse:
    """A new article; ``?title=&product_area=&feature=&tag=`` pre-fill it (the analytics
    page's "Write it" link for a group of tickets no article answers)."""
    user = request_user(request)
    if not user.has_perm("kb.add_article"):
        return forbidden(request)
    locale = locale_or_default(request.GET.get("locale"))
    initial = {
        "title": request.GET.get("title", "")[:300],
        "product_area": request.GET.get("product_area") or None,
        "feature": request.GET.get("feature") or None,
        "tags": request.GET.get("tag", "")[:500],
    }
    form = ArticleForm(request.POST or None, initial=initial, new=True)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            article = kb_services.article_create(
                actor=user,
                title=data["title"],
                body=data["body"],
                locale=locale,
                status=_status_for(request.POST.get("action", ""), None),
                section=data["section"],
                slug=data.get("slug") or None,
                product_area=data["product_area"],
                feature=data["feature"],
                tags=form.tag_names(),
            )
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _saved_message(request.POST.get("action", "")))
            return _to_editor(article, locale)
    status = 400 if request.method == "POST" else 200
    return _editor(request, form=form, article=None, locale=locale, translation=None, status=status)


def _to_editor(article: Article, locale: str) -> HttpResponse:
    url = reverse("web:kb_article_edit", args=[article.pk])
    return redirect(f"{url}?{urlencode({'locale': locale})}")


def _article_initial(article: Article, translation: ArticleTranslation | None) -> dict[str, Any]:
    return {
        "title": translation.title if translation else "",
        "body": translation.body_markdown if translation else "",
        "section": article.section_id,
        "product_area": article.product_area_id,
        "feature": article.feature_id,
        "tags": ", ".join(t.name for t in article.tags.all()),
    }


def _article_or_404(pk: int) -> Article:
    return get_object_or_404(
        Article.objects.select_related("author", "section__category").prefetch_related(
            "translations__updated_by", "tags"
        ),
        pk=pk,
    )


@login_required
@require_http_methods(["GET", "POST"])
def article_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.change_article"):
        return forbidden(request)
    article = _article_or_404(pk)
    locale = locale_or_default(request.GET.get("locale"))
    translation = next((t for t in article.translations.all() if t.locale == locale), None)
    form = ArticleForm(request.POST or None, initial=_article_initial(article, translation))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        action = request.POST.get("action", "save")
        try:
            with transaction.atomic():
                changed = _changed_article_fields(article, form.article_fields())
                if changed:
                    kb_services.article_update(actor=user, article=article, **changed)
                kb_services.translation_save(
                    actor=user,
                    article=article,
                    locale=locale,
                    title=data["title"],
                    body=data["body"],
                    status=_status_for(action, translation.status if translation else None),
                )
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _saved_message(action))
            return _to_editor(article, locale)
    status = 400 if request.method == "POST" else 200
    return _editor(
        request, form=form, article=article, locale=locale, translation=translation, status=status
    )


def _saved_message(action: str) -> str:
    if action == "publish":
        return _("Published. It is live in the help center.")
    if action == "unpublish":
        return _("Unpublished. Only staff can see it now.")
    return _("Saved.")


def _changed_article_fields(article: Article, fields: dict[str, Any]) -> dict[str, Any]:
    """Only what differs, so saving the text alone does not touch the article row."""
    changed = {
        name: value
        for name, value in fields.items()
        if name != "tags" and getattr(article, f"{name}_id") != (value.pk if value else None)
    }
    current = sorted(t.name.casefold() for t in article.tags.all())
    if sorted(n.casefold() for n in fields["tags"]) != current:
        changed["tags"] = fields["tags"]
    return changed


@login_required
@require_POST
def article_delete(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.delete_article"):
        return forbidden(request)
    article = get_object_or_404(Article, pk=pk)
    if request.POST.get("confirm") != "1":
        messages.error(request, _("Tick “Yes, delete it” to delete the article."))
        return redirect("web:kb_article_edit", pk=article.pk)
    try:
        kb_services.article_delete(actor=user, article=article)
    except PermissionDenied as error:
        return forbidden(request, error)
    messages.success(request, _("Article deleted."))
    return redirect("web:kb_articles")


@login_required
@require_POST
def article_preview(request: HttpRequest) -> HttpResponse:
    """The editor's live preview: the same sanitised rendering readers will get."""
    user = request_user(request)
    if not (user.has_perm("kb.add_article") or user.has_perm("kb.change_article")):
        return forbidden(request)
    return render(request, "web/kb/_preview.html", _preview(request.POST.get("body", "")))


@login_required
@require_POST
def image_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Store an image for the article; htmx gets the ``![alt](url)`` to insert, a plain
    post goes back to the editor with it in a message."""
    user = request_user(request)
    if not user.has_perm("kb.add_articleimage"):
        return forbidden(request)
    article = get_object_or_404(Article, pk=pk)
    form = ImageUploadForm(request.POST, request.FILES)
    error = ""
    markdown = ""
    if not form.is_valid():
        error = " ".join(str(m) for errors in form.errors.values() for m in errors)
    else:
        try:
            image = kb_services.image_upload(
                actor=user, article=article, upload=form.cleaned_data["upload"]
            )
        except ValidationError as exc:
            error = " ".join(exc.messages)
        except PermissionDenied as denied:
            return forbidden(request, denied)
        else:
            alt = (form.cleaned_data.get("alt") or "").replace("]", "").replace("[", "").strip()
            markdown = f"![{alt}]({help_image_url(image)})"
    if _is_htmx(request):
        response = render(
            request,
            "web/kb/_image_result.html",
            {"error": error, "markdown": markdown},
            status=400 if error else 200,
        )
        if error:
            # kb.js lets htmx show a 400 that names where it goes.
            response["HX-Retarget"] = "#kb-image-result"
            response["HX-Reswap"] = "innerHTML"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request, _("Image uploaded. Paste this into the body: %(md)s") % {"md": markdown}
        )
    return _to_editor(article, locale_or_default(request.GET.get("locale")))


# --- categories and sections -----------------------------------------------------------


def _categories_page(
    request: HttpRequest,
    *,
    category_form: CategoryForm | None = None,
    section_form: SectionForm | None = None,
    status: int = 200,
) -> HttpResponse:
    user = request_user(request)
    return render(
        request,
        "web/kb/categories.html",
        {
            "categories": list(Category.objects.prefetch_related("sections")),
            "category_form": category_form or CategoryForm(prefix="category"),
            "section_form": section_form or SectionForm(prefix="section"),
            "can_add": user.has_perm("kb.add_category") and user.has_perm("kb.add_section"),
            "can_change": user.has_perm("kb.change_category"),
        },
        status=status,
    )


@login_required
@require_GET
def category_list(request: HttpRequest) -> HttpResponse:
    if not request_user(request).has_perm("kb.view_category"):
        return forbidden(request)
    return _categories_page(request)


def _save_and_return(
    request: HttpRequest,
    form: CategoryForm | SectionForm,
    *,
    save: Callable[[dict[str, Any]], Category | Section],
    saved_message: str,
) -> HttpResponse | None:
    """The shared part of adding and changing categories and sections: a valid form
    goes to the kb service ``save``; success flashes ``saved_message`` (with
    ``%(name)s``, the saved one's name) and goes back to the categories page. None
    means: show the form again, the service's ValidationError now on it."""
    if not form.is_valid():
        return None
    try:
        saved = save(form.cleaned_data)
    except ValidationError as exc:
        form_errors_add(form, exc)
        return None
    except PermissionDenied as error:
        return forbidden(request, error)
    messages.success(request, saved_message % {"name": saved.name})
    return redirect("web:kb_categories")


@login_required
@require_POST
def category_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.add_category"):
        return forbidden(request)
    form = CategoryForm(request.POST, prefix="category")
    done = _save_and_return(
        request,
        form,
        save=lambda data: kb_services.category_save(actor=user, category=None, **data),
        saved_message=_("Category %(name)s added."),
    )
    if done is not None:
        return done
    return _categories_page(request, category_form=form, status=400)


@login_required
@require_POST
def section_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.add_section"):
        return forbidden(request)
    form = SectionForm(request.POST, prefix="section")
    done = _save_and_return(
        request,
        form,
        save=lambda data: kb_services.section_save(actor=user, section=None, **data),
        saved_message=_("Section %(name)s added."),
    )
    if done is not None:
        return done
    return _categories_page(request, section_form=form, status=400)


def _edit_page(
    request: HttpRequest, form: CategoryForm | SectionForm, *, heading: str
) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/kb/category_form.html",
        {"form": form, "heading": heading},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def category_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.change_category"):
        return forbidden(request)
    category = get_object_or_404(Category, pk=pk)
    form = CategoryForm(request.POST or None, initial=CategoryForm.initial_for(category))
    if request.method == "POST":
        done = _save_and_return(
            request,
            form,
            save=lambda data: kb_services.category_save(actor=user, category=category, **data),
            saved_message=_("Saved."),
        )
        if done is not None:
            return done
    return _edit_page(request, form, heading=_("Category %(name)s") % {"name": category.name})


@login_required
@require_http_methods(["GET", "POST"])
def section_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.change_section"):
        return forbidden(request)
    section = get_object_or_404(Section.objects.select_related("category"), pk=pk)
    form = SectionForm(request.POST or None, initial=SectionForm.initial_for(section))
    if request.method == "POST":
        done = _save_and_return(
            request,
            form,
            save=lambda data: kb_services.section_save(actor=user, section=section, **data),
            saved_message=_("Saved."),
        )
        if done is not None:
            return done
    return _edit_page(request, form, heading=_("Section %(name)s") % {"name": section.name})


urlpatterns = [
    path("kb/", article_list, name="kb_articles"),
    path("kb/articles/new/", article_new, name="kb_article_new"),
    path("kb/articles/<int:pk>/", article_edit, name="kb_article_edit"),
    path("kb/articles/<int:pk>/delete/", article_delete, name="kb_article_delete"),
    path("kb/articles/<int:pk>/images/", image_upload, name="kb_image_upload"),
    path("kb/preview/", article_preview, name="kb_preview"),
    path("kb/categories/", category_list, name="kb_categories"),
    path("kb/categories/new/", category_new, name="kb_category_new"),
    path("kb/categories/<int:pk>/", category_edit, name="kb_category_edit"),
    path("kb/sections/new/", section_new, name="kb_section_new"),
    path("kb/sections/<int:pk>/", section_edit, name="kb_section_edit"),
    *desk_urlpatterns,
    *analytics_urlpatterns,
]
