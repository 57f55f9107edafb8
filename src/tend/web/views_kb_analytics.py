"""The knowledge-base analytics page: per-article views, helpful share and
deflections, searches that found nothing, and the "worth writing" list whose "Write
it" opens a new article pre-filled from the group of tickets. The figures come from
kb.selectors (kb/analytics.py); this only arranges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from tend.core.models import User
from tend.desk.models import Ticket
from tend.desk.selectors import tickets_visible_to
from tend.kb import selectors as kb_selectors
from tend.kb.selectors import TopicGroup
from tend.web.requests import forbidden, request_user

ANALYTICS_PERIODS = (7, 30, 90)

GROUP_KIND_LABELS = {
    "feature": gettext_lazy("Feature"),
    "product_area": gettext_lazy("Product area"),
    "tag": gettext_lazy("Tag"),
    "subject": gettext_lazy("Similar subjects"),
}
# Ticket links shown per "worth writing" group.
EXAMPLE_TICKETS = 5


def write_it_url(group: TopicGroup) -> str:
    """A new article pre-filled from a "worth writing" group of tickets."""
    query: dict[str, Any] = {"title": group.label}
    if group.product_area is not None:
        query["product_area"] = group.product_area.pk
    if group.feature is not None:
        query["feature"] = group.feature.pk
    if group.tag is not None:
        query["tag"] = group.tag.name
    return f"{reverse('web:kb_article_new')}?{urlencode(query)}"


@dataclass(frozen=True)
class WorthWritingRow:
    group: TopicGroup
    kind_label: str
    tickets: list[Ticket]
    write_url: str


def _worth_writing_rows(user: User, groups: list[TopicGroup]) -> list[WorthWritingRow]:
    """Each group with a few of its tickets the viewer may open (one query for all)."""
    wanted = {pk for g in groups for pk in g.ticket_ids[-EXAMPLE_TICKETS:]}
    visible = {
        t.pk: t
        for t in tickets_visible_to(user).filter(pk__in=wanted).only("pk", "number", "subject")
    }
    return [
        WorthWritingRow(
            group=g,
            kind_label=str(GROUP_KIND_LABELS.get(g.kind, g.kind)),
            tickets=[
                visible[pk] for pk in reversed(g.ticket_ids[-EXAMPLE_TICKETS:]) if pk in visible
            ],
            write_url=write_it_url(g),
        )
        for g in groups
    ]


@dataclass(frozen=True)
class Totals:
    views: int
    votes: int
    helpful: int
    deflections: int

    @property
    def helpful_pct(self) -> float | None:
        return round(100 * self.helpful / self.votes, 1) if self.votes else None


@login_required
@require_GET
def analytics(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("kb.view_articledailystat"):
        return forbidden(request)
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    if days not in ANALYTICS_PERIODS:
        days = 30
    stats = kb_selectors.kb_analytics(days=days)
    totals = Totals(
        views=sum(s.views for s in stats),
        votes=sum(s.votes for s in stats),
        helpful=sum(s.helpful for s in stats),
        deflections=sum(s.deflections for s in stats),
    )
    return render(
        request,
        "web/kb/analytics.html",
        {
            "days": days,
            "periods": ANALYTICS_PERIODS,
            "articles": stats,
            "totals": totals,
            "no_result_terms": kb_selectors.no_result_terms(days=days),
            "worth_writing": _worth_writing_rows(user, kb_selectors.worth_writing(days=days)),
            "can_write": user.has_perm("kb.add_article"),
            "can_edit": user.has_perm("kb.change_article"),
        },
    )


urlpatterns = [
    path("kb/analytics/", analytics, name="kb_analytics"),
]
