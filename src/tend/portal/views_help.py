"""The public help center at /help: categories → sections → articles, search, votes,
a sitemap, and the suggestions the support form shows while a customer types.

Nobody logs in here. Views parse, call kb selectors/services and answer; drafts never
leave kb.selectors (they are asked for published text only). Readers get their
language from the language switch (the cookie set by Django's set_language), from
``?lang=`` on a link (so sitemap and shared links name a language), or from the
browser.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST, require_safe

from tend.core.ratelimit import RateLimitResult, client_ip, rate_limit_hit
from tend.kb import images, selectors, services
from tend.kb.markdown import with_public_images
from tend.kb.models import Article, ArticleStatus, ArticleTranslation, Locale, SearchSource

PER_PAGE = 10
# Deep pages of a search are never read by people; they only cost offset scans.
MAX_PAGE = 50
SECTION_PER_PAGE = 30
SUGGESTIONS = 5
# article_suggest looks at the first 2,000 characters; more is never worth sending.
SUGGEST_SUBJECT_CHARS = 300
SUGGEST_TEXT_CHARS = 2_000
# Fewer characters than this say nothing yet (one Latin letter, one Chinese character).
SUGGEST_MIN_CHARS = 2
MINUTE = 60
HOUR = 3600
OPEN_SALT = "tend.portal.help.suggestion-open"
# A suggestion link is followed within minutes of being shown; a day covers a long
# coffee break without making links from old pages count forever.
OPEN_MAX_AGE = 24 * HOUR
SITEMAP_MAX_URLS = 50_000  # the sitemap protocol's limit per file
# Image names are random and never reused, so browsers and proxies may keep them long;
# not for ever, so that an unpublished article's images eventually stop being served.
IMAGE_MAX_AGE = 30 * 24 * HOUR


def _rate(name: str, default: int) -> int:
    # Tunable without a code change; the defaults leave room for an office behind one
    # address while stopping a script.
    return int(getattr(settings, name, default))


# --- language ---------------------------------------------------------------------------


def help_locale() -> str:
    """The kb locale of the active language."""
    return Locale.ZH_HANS if (translation.get_language() or "").startswith("zh") else Locale.EN


def _with_help_language(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Honour ``?lang=en|zh-hans`` on a help-center link (the sitemap's, a suggestion's):
    that page is shown in that language. It is not remembered: only the language
    switch changes what the reader's next pages are in."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        asked = request.GET.get("lang", "")
        if asked not in Locale.values:
            return view(request, *args, **kwargs)
        with translation.override(asked):
            request.LANGUAGE_CODE = asked
            return view(request, *args, **kwargs)

    return wrapped


def _without_lang(request: HttpRequest) -> str:
    """This page's address without ``?lang=``, where the language switch returns to:
    otherwise the old ``lang`` would win over the language just chosen."""
    query = request.GET.copy()
    query.pop("lang", None)
    encoded = query.urlencode()
    return f"{request.path}?{encoded}" if encoded else request.path


def _page(
    request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any
) -> HttpResponse:
    context.setdefault("switch_next", _without_lang(request))
    context.setdefault("help_q", "")
    return render(request, template, context, **kwargs)


# --- rate limits ------------------------------------------------------------------------


def _limited(kind: str, request: HttpRequest, limit: int, window: int) -> RateLimitResult:
    return rate_limit_hit(f"help:{kind}:{client_ip(request)}", limit, window)


def limit_message(retry_after: int) -> str:
    seconds = max(1, retry_after)
    if seconds < MINUTE:
        return ngettext(
            "Too many requests. Please wait %(seconds)d second and try again.",
            "Too many requests. Please wait %(seconds)d seconds and try again.",
            seconds,
        ) % {"seconds": seconds}
    minutes = math.ceil(seconds / MINUTE)
    return ngettext(
        "Too many requests. Please wait %(minutes)d minute and try again.",
        "Too many requests. Please wait %(minutes)d minutes and try again.",
        minutes,
    ) % {"minutes": minutes}


def _too_many(response: HttpResponse, hit: RateLimitResult) -> HttpResponse:
    response.status_code = 429
    response["Retry-After"] = str(hit.retry_after)
    return response


# --- visitors ---------------------------------------------------------------------------


def visitor_for(request: HttpRequest, *, create: bool) -> str:
    """The hashed session that stands for this visitor ("" when there is none and
    ``create`` is False). Sessions are only made when a visitor does something worth
    remembering (votes, suggestions), not for every reader."""
    key = request.session.session_key
    if not key and create:
        request.session.save()
        key = request.session.session_key
    return services.visitor_hash(key) if key else ""


# --- home, categories, sections ---------------------------------------------------------


@require_GET
@_with_help_language
def home(request: HttpRequest) -> HttpResponse:
    locale = help_locale()
    categories = selectors.help_categories(locale, per_section=5)
    return _page(request, "portal/help/home.html", {"categories": categories, "locale": locale})


def _category_or_404(slug: str, locale: str) -> selectors.HelpCategory:
    for node in selectors.help_categories(locale, per_section=SECTION_PER_PAGE):
        if node.category.slug == slug:
            return node
    raise Http404(_("This page does not exist."))


@require_GET
@_with_help_language
def category(request: HttpRequest, category: str) -> HttpResponse:
    locale = help_locale()
    node = _category_or_404(category, locale)
    return _page(request, "portal/help/category.html", {"node": node, "locale": locale})


@require_GET
@_with_help_language
def section(request: HttpRequest, category: str, section: str) -> HttpResponse:
    locale = help_locale()
    node = _category_or_404(category, locale)
    place = next((s for s in node.sections if s.section.slug == section), None)
    if place is None:
        raise Http404(_("This page does not exist."))
    pages = max(1, math.ceil(place.article_count / SECTION_PER_PAGE))
    page = _page_number(request, last=pages)
    articles = selectors.section_articles(
        place.section, locale, limit=SECTION_PER_PAGE, offset=(page - 1) * SECTION_PER_PAGE
    )
    context = {
        "node": node,
        "place": place,
        "articles": articles,
        "locale": locale,
        "pager": _pager(request, page=page, pages=pages),
    }
    return _page(request, "portal/help/section.html", context)


# --- one article ------------------------------------------------------------------------


def _published(slug: str, locale: str) -> tuple[Article, ArticleTranslation]:
    found = selectors.article_for_slug(slug, locale)
    if found is None:
        raise Http404(_("This article does not exist or is not published."))
    return found


@require_GET
@_with_help_language
def article(request: HttpRequest, slug: str) -> HttpResponse:
    locale = help_locale()
    item, text = _published(slug, locale)
    services.article_view_record(article=item, locale=text.locale)
    author = item.author.display_name if item.author is not None else ""
    context = {
        "article": item,
        "text": text,
        "body_html": with_public_images(text.body_html),
        "locale": locale,
        "fallback": text.locale != locale,
        "author": author,
        "updated": text.updated_at,
        "related": selectors.article_related(item, locale=locale),
        "place": item.section,
        "place_name": _place_name(item, locale),
        "alternates": _alternates(item),
        "voted": request.session.get(_vote_key(item)),
    }
    return _page(request, "portal/help/article.html", context)


def _place_name(item: Article, locale: str) -> tuple[str, str]:
    if item.section is None:
        return "", ""
    zh = locale == Locale.ZH_HANS
    return (
        (zh and item.section.category.name_zh) or item.section.category.name,
        (zh and item.section.name_zh) or item.section.name,
    )


def _alternates(item: Article) -> list[str]:
    """The locales this article is published in (for hreflang links)."""
    return sorted(
        item.translations.filter(status=ArticleStatus.PUBLISHED).values_list("locale", flat=True)
    )


def _vote_key(item: Article) -> str:
    return f"help-vote-{item.pk}"


@require_POST
@_with_help_language
def vote(request: HttpRequest, slug: str) -> HttpResponse:
    locale = help_locale()
    item, text = _published(slug, locale)
    answer = request.POST.get("helpful")
    if answer not in ("yes", "no"):
        return HttpResponse(_("Please answer yes or no."), status=400)
    is_htmx = request.headers.get("HX-Request") == "true"
    hit = _limited("vote", request, _rate("TEND_HELP_VOTE_RATE_PER_HOUR", 60), HOUR)
    if not hit.allowed:
        if is_htmx:
            return _too_many(
                render(
                    request, "portal/help/_vote.html", {"limited": limit_message(hit.retry_after)}
                ),
                hit,
            )
        messages.error(request, limit_message(hit.retry_after))
        return _back_to(item, locale)
    services.article_vote(
        article=item,
        locale=text.locale,
        visitor=visitor_for(request, create=True),
        helpful=answer == "yes",
    )
    request.session[_vote_key(item)] = answer
    if is_htmx:
        return render(request, "portal/help/_vote.html", {"article": item, "voted": answer})
    messages.success(request, _("Thank you for your feedback."))
    return _back_to(item, locale)


def _back_to(item: Article, locale: str) -> HttpResponse:
    url = reverse("portal:help_article", args=[item.slug])
    return redirect(f"{url}?{urlencode({'lang': locale})}")


# --- images -----------------------------------------------------------------------------


@require_safe
def image(request: HttpRequest, name: str) -> FileResponse:
    """An article image (``/help/images/YYYY/MM/<name>``), served without DEBUG, while
    its article is published in some language. Staff also see a draft's images, so the
    editor's preview shows them, but those answers are kept out of shared caches."""
    found = images.image_for_help(name)
    public = found is not None
    if found is None and request.user.has_perm("kb.view_articleimage"):
        found = images.image_for_help(name, include_drafts=True)
    if found is None:
        raise Http404(_("This page does not exist."))
    try:
        handle = found.file.open("rb")
    except OSError as exc:  # the row outlived its file
        raise Http404(_("This page does not exist.")) from exc
    response = FileResponse(handle, content_type=images.image_content_type(found))
    # The type was sniffed on upload; browsers must not guess another (HTML, script).
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = (
        f"public, max-age={IMAGE_MAX_AGE}" if public else "private, no-cache"
    )
    return response


# --- search -----------------------------------------------------------------------------


def _page_number(request: HttpRequest, *, last: int) -> int:
    try:
        page = int(request.GET.get("page", "1"))
    except ValueError:
        page = 1
    return min(max(1, page), max(1, last))


def _pager(request: HttpRequest, *, page: int, pages: int) -> dict[str, Any]:
    def link(number: int) -> str:
        query: QueryDict = request.GET.copy()
        query["page"] = str(number)
        return f"{request.path}?{query.urlencode()}"

    return {
        "page": page,
        "pages": pages,
        "previous": link(page - 1) if page > 1 else "",
        "next": link(page + 1) if page < pages else "",
    }


@require_GET
@_with_help_language
def search(request: HttpRequest) -> HttpResponse:
    locale = help_locale()
    q = " ".join(request.GET.get("q", "").split())[:200]
    context: dict[str, Any] = {"q": q, "help_q": q, "locale": locale, "hits": [], "total": 0}
    if not q:
        return _page(request, "portal/help/search.html", context)
    hit = _limited("search", request, _rate("TEND_HELP_SEARCH_RATE_PER_MINUTE", 60), MINUTE)
    if not hit.allowed:
        context["limited"] = limit_message(hit.retry_after)
        return _too_many(_page(request, "portal/help/search.html", context), hit)

    page = _page_number(request, last=MAX_PAGE)
    offset = (page - 1) * PER_PAGE
    # Chinese words are searched in the Chinese articles first, whatever language the
    # pages are in; other words in the reader's language.
    first = selectors.search_locale(q, locale) or locale
    result = selectors.article_search(q, locale=first, limit=PER_PAGE, offset=offset)
    other_languages = False
    if result.total == 0:
        # An English word asked while reading in Chinese (or a Chinese one with no
        # Chinese article) still deserves its answer; the page says when the results
        # are not in the reader's language.
        result = selectors.article_search(q, locale=None, limit=PER_PAGE, offset=offset)
        other_languages = any(h.locale != locale for h in result.hits)
    if page == 1:
        # Only the first page is a search; later pages are the same search read on.
        # It counts for the language it was searched in: a Chinese search with no
        # result is a gap in the Chinese articles.
        services.search_record(
            term=q, locale=first, source=SearchSource.HELP_CENTER, hits=result.total
        )
    pages = min(MAX_PAGE, max(1, math.ceil(result.total / PER_PAGE)))
    context.update(
        hits=result.hits,
        total=result.total,
        other_languages=other_languages,
        pager=_pager(request, page=page, pages=pages),
    )
    return _page(request, "portal/help/search.html", context)


# --- sitemap ----------------------------------------------------------------------------


@require_GET
def sitemap(request: HttpRequest) -> HttpResponse:
    """Every published article in each language it is published in, with its last
    change, so search engines find both the English and the Chinese pages."""
    rows = (
        ArticleTranslation.objects.filter(status=ArticleStatus.PUBLISHED)
        .order_by("article__position", "article_id", "locale")
        .values_list("article__slug", "locale", "updated_at")[:SITEMAP_MAX_URLS]
    )
    by_slug: dict[str, list[tuple[str, Any]]] = {}
    for slug, locale, updated_at in rows.iterator(chunk_size=2000):
        by_slug.setdefault(slug, []).append((locale, updated_at))
    entries = []
    for slug, versions in by_slug.items():
        base = selectors.help_article_url(slug)
        alternates = [(locale, f"{base}?{urlencode({'lang': locale})}") for locale, _u in versions]
        for (_locale, updated_at), (_l, url) in zip(versions, alternates, strict=True):
            entries.append({"url": url, "lastmod": updated_at, "alternates": alternates})
    return render(
        request,
        "portal/help/sitemap.xml",
        {"entries": entries, "home": settings.BASE_URL + reverse("portal:help_home")},
        content_type="application/xml; charset=utf-8",
    )


# --- suggestions on the support form ----------------------------------------------------


def _open_token(hit: selectors.ArticleHit, *, visitor: str, query: str) -> str:
    return signing.dumps(
        {"a": hit.article_id, "l": hit.locale, "v": visitor, "q": query[:300]},
        salt=OPEN_SALT,
        compress=True,
    )


@require_GET
def suggest(request: HttpRequest) -> HttpResponse:
    """Up to five published articles for what the customer is typing on /support
    (asked by htmx, debounced); an HTML fragment."""
    subject = " ".join(request.GET.get("subject", "").split())[:SUGGEST_SUBJECT_CHARS]
    description = request.GET.get("description", "")[:SUGGEST_TEXT_CHARS]
    text = f"{subject}\n{description}".strip()
    if len(text) < SUGGEST_MIN_CHARS:
        return render(request, "portal/help/_suggestions.html", {"suggestions": []})
    hit = _limited("suggest", request, _rate("TEND_HELP_SUGGEST_RATE_PER_MINUTE", 120), MINUTE)
    if not hit.allowed:
        context = {"suggestions": [], "limited": limit_message(hit.retry_after)}
        return _too_many(render(request, "portal/help/_suggestions.html", context), hit)
    # The customer's own words decide the language: someone typing Chinese on the
    # English form is best answered by the Chinese article.
    hits = selectors.articles_suggested_for_text(text, limit=SUGGESTIONS)
    if hits:
        visitor = visitor_for(request, create=True)
        query = subject or " ".join(description.split())
        suggestions = [
            {
                "hit": h,
                "url": reverse(
                    "portal:help_open", args=[_open_token(h, visitor=visitor, query=query)]
                ),
            }
            for h in hits
        ]
    else:
        suggestions = []
    return render(request, "portal/help/_suggestions.html", {"suggestions": suggestions})


@require_GET
def open_suggestion(request: HttpRequest, token: str) -> HttpResponse:
    """A suggestion followed from the support form: remember it (it becomes a
    deflection unless the form is sent after all), then show the article."""
    try:
        data = signing.loads(token, salt=OPEN_SALT, max_age=OPEN_MAX_AGE)
        article_id = int(data["a"])
        locale = str(data["l"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise Http404(_("This page does not exist.")) from exc
    item = Article.objects.filter(pk=article_id).first()
    if item is None or locale not in Locale.values:
        raise Http404(_("This article does not exist or is not published."))
    found = selectors.article_for_slug(item.slug, locale)
    if found is None:
        raise Http404(_("This article does not exist or is not published."))
    # Only the visitor the suggestion was shown to counts: a shared or replayed link
    # must not record someone else's deflection.
    if data.get("v") and data["v"] == visitor_for(request, create=False):
        services.suggestion_open_record(
            article=item, locale=found[1].locale, visitor=data["v"], query=str(data.get("q", ""))
        )
    return redirect(
        f"{reverse('portal:help_article', args=[item.slug])}?{urlencode({'lang': locale})}"
    )


def suggestions_submitted(request: HttpRequest) -> None:
    """The support form was sent: this visitor's opened suggestions did not deflect."""
    visitor = visitor_for(request, create=False)
    if visitor:
        services.suggestions_submitted(visitor=visitor)
