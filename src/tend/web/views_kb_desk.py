"""Article links where agents write: the ticket page's "Suggested articles" panel
and the "Insert article link" picker (macro and article editors). Each hit carries the
help center's absolute URL and a ready Markdown link, because the text ends up in
emails to customers. kb.js inserts it at the cursor.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tend.core.models import User
from tend.desk.models import Ticket
from tend.desk.selectors import ticket_for_user
from tend.kb import selectors as kb_selectors
from tend.kb.models import Locale
from tend.kb.selectors import ArticleHit
from tend.web.forms_kb import locale_or_default
from tend.web.requests import forbidden, request_user

# Suggestions on a ticket and hits in the link picker: a short list to choose from.
SUGGESTIONS_SHOWN = 5
PICKER_HITS = 8

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def article_link_url(slug: str, locale: str) -> str:
    """The help-center address to put into a reply: absolute (it leaves Tend by email),
    and for a Chinese article with ``?lang=`` so the customer reads the version whose
    title the link shows (the help center's default language is English)."""
    url = kb_selectors.help_article_url(slug)
    return f"{url}?lang={locale}" if locale != Locale.EN else url


def markdown_link(title: str, url: str) -> str:
    """``[title](url)`` with the title's brackets escaped so the link stays one link."""
    text = re.sub(r"([\[\]\\])", r"\\\1", title.replace("\n", " ").strip())
    return f"[{text}]({url})"


def user_locale(user: User) -> str:
    return Locale.ZH_HANS.value if (user.language or "").startswith("zh") else Locale.EN.value


def ticket_locale(ticket: Ticket, user: User) -> str:
    """The language to suggest articles in: the customer's writing when it is Chinese,
    else the agent's own (tickets and contacts carry no language of their own)."""
    if _CJK.search(f"{ticket.subject} {ticket.description[:2000]}"):
        return Locale.ZH_HANS.value
    return user_locale(user)


@dataclass(frozen=True)
class LinkHit:
    """An article hit ready to show and insert: its help-center URL and Markdown link."""

    title: str
    snippet: str
    locale: str
    url: str
    markdown: str


def _link_hits(hits: Sequence[ArticleHit]) -> list[LinkHit]:
    out = []
    for hit in hits:
        url = article_link_url(hit.slug, hit.locale)
        out.append(LinkHit(hit.title, hit.snippet, hit.locale, url, markdown_link(hit.title, url)))
    return out


@login_required
@require_GET
def link_picker(request: HttpRequest) -> HttpResponse:
    """Published articles matching ``kb_q``, each with a Markdown link to insert into
    the text box named by ``target`` (a macro's or an article's body)."""
    user = request_user(request)
    if not user.has_perm("kb.view_article"):
        return forbidden(request)
    q = request.GET.get("kb_q", "").strip()[:200]
    locale = locale_or_default(request.GET.get("kb_locale") or user_locale(user))
    target = request.GET.get("target", "id_body")
    if not re.fullmatch(r"[A-Za-z][\w-]{0,40}", target):
        target = "id_body"
    hits: list[LinkHit] = []
    if q:
        result = kb_selectors.article_search(q, locale=locale, limit=PICKER_HITS)
        hits = _link_hits(result.hits)
    return render(request, "web/kb/_link_results.html", {"q": q, "hits": hits, "target": target})


@login_required
@require_GET
def ticket_suggestions(request: HttpRequest, number: int) -> HttpResponse:
    """The ticket page's "Suggested articles": published articles matching the
    ticket's subject and description, in the customer's language."""
    user = request_user(request)
    try:
        ticket = ticket_for_user(user, number=number)
    except Ticket.DoesNotExist:
        raise Http404(_("No such ticket.")) from None
    if not user.has_perm("kb.view_article"):
        return forbidden(request)
    locale = ticket_locale(ticket, user)
    hits = kb_selectors.article_suggest(
        f"{ticket.subject}\n{ticket.description}", locale=locale, limit=SUGGESTIONS_SHOWN
    )
    return render(
        request,
        "web/kb/_ticket_suggestions.html",
        {
            "ticket": ticket,
            "hits": _link_hits(hits),
            "can_insert": not ticket.is_closed and user.has_perm("desk.add_comment"),
        },
    )


urlpatterns = [
    path("kb/links/", link_picker, name="kb_link_picker"),
    path("kb/tickets/<int:number>/suggestions/", ticket_suggestions, name="kb_ticket_suggestions"),
]
