"""The knowledge-base analytics page: views, helpful %, deflections per article,
searches with no result, and the "worth writing" list whose "Write it" opens a new
article pre-filled from the group of tickets."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tend.core.models import User
from tend.desk import services as desk
from tend.desk.models import Feature, ProductArea
from tend.kb import services as kb
from tend.kb.models import Article, ArticleDailyStat, SearchSource
from tend.web.views_kb_analytics import write_it_url

pytestmark = pytest.mark.django_db


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def article(manager: User) -> Article:
    return kb.article_create(
        actor=manager, title="Reset your password", body="Use the link.", status="published"
    )


@pytest.fixture
def exports(agent: User, team: Any) -> Feature:
    """Three recent tickets about the same feature, which no article is about."""
    area = ProductArea.objects.create(name="Billing", slug="billing")
    feature = Feature.objects.create(product_area=area, name="Invoice export", slug="export")
    for subject in ("Export fails", "CSV export empty", "Where is the export button"):
        desk.ticket_create(
            actor=agent,
            subject=subject,
            description="…",
            requester_email="li.wei@acme.test",
            team=team,
            product_area=area,
            feature=feature,
        )
    return feature


def test_analytics_shows_views_helpful_share_and_deflections(agent: User, article: Article) -> None:
    for _ in range(3):
        kb.article_view_record(article=article, locale="en")
    kb.article_vote(article=article, locale="en", visitor="a", helpful=True)
    kb.article_vote(article=article, locale="en", visitor="b", helpful=True)
    kb.article_vote(article=article, locale="en", visitor="c", helpful=True)
    kb.article_vote(article=article, locale="en", visitor="d", helpful=False)
    ArticleDailyStat.objects.filter(article=article).update(deflections=2)

    response = _client(agent).get(reverse("web:kb_analytics"))

    html = response.content.decode()
    assert response.status_code == 200
    row = html[html.index("Reset your password") :]
    row = row[: row.index("</tr>")]
    cells = [c.split("<")[0] for c in row.split('<td class="num">')[1:]]
    assert cells == ["3", "4", "75 %", "2"]


def test_analytics_lists_searches_with_no_result(agent: User) -> None:
    for _ in range(2):
        kb.search_record(
            term="Salesforce sync", locale="en", source=SearchSource.HELP_CENTER, hits=0
        )
    kb.search_record(term="发票", locale="zh-hans", source=SearchSource.SUPPORT_FORM, hits=0)
    kb.search_record(term="password", locale="en", source=SearchSource.HELP_CENTER, hits=4)

    html = _client(agent).get(reverse("web:kb_analytics")).content.decode()

    section = html[html.index("Searches with no result") :]
    assert "salesforce sync" in section.lower()
    assert "发票" in section
    assert "password" not in section


def test_worth_writing_offers_to_write_the_missing_article(agent: User, exports: Feature) -> None:
    html = _client(agent).get(reverse("web:kb_analytics")).content.decode()

    section = html[html.index("Worth writing") : html.index("kb-articles-title")]
    assert "Billing / Invoice export" in section
    assert "Write it" in section
    assert reverse("web:kb_article_new") in section


def test_write_it_opens_a_new_article_prefilled_from_the_group(
    agent: User, exports: Feature
) -> None:
    from tend.kb.selectors import worth_writing

    group = next(g for g in worth_writing(days=30) if g.feature == exports)
    url = write_it_url(group)

    query = parse_qs(urlsplit(url).query)
    page = _client(agent).get(url).content.decode()

    assert query["title"] == ["Billing / Invoice export"]
    assert query["feature"] == [str(exports.pk)]
    assert 'value="Billing / Invoice export"' in page
    assert f'<option value="{exports.pk}" selected>' in page


def test_published_article_about_the_feature_takes_it_off_the_list(
    agent: User, manager: User, exports: Feature
) -> None:
    kb.article_create(
        actor=manager,
        title="Exporting invoices",
        body="Billing → Export.",
        status="published",
        product_area=exports.product_area,
        feature=exports,
    )

    html = _client(agent).get(reverse("web:kb_analytics")).content.decode()

    section = html[html.index("Worth writing") : html.index("kb-articles-title")]
    assert "Billing / Invoice export" not in section


def test_staff_without_kb_statistics_permission_are_refused(db: None) -> None:
    nobody = User.objects.create_user(username="nobody", email="n@tend.test", password="x")

    assert _client(nobody).get(reverse("web:kb_analytics")).status_code == 403


def _alike_pairs(agent: User, team: Any, topics: list[str]) -> None:
    """Per topic, two tickets with alike subjects: a "similar subjects" group each."""
    for topic in topics:
        for ending in ("problem", "trouble"):
            desk.ticket_create(
                actor=agent,
                subject=f"{topic} {ending}",
                description="…",
                requester_email="li.wei@acme.test",
                team=team,
            )


def _page_queries(client: Client) -> tuple[int, str]:
    # Seen once first: new tickets change the sidebar's cached queue counts, which
    # are recounted once and are not what this measures.
    client.get(reverse("web:kb_analytics"))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("web:kb_analytics"))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_worth_writing_costs_the_same_queries_however_many_groups(
    agent: User, team: Any, article: Article
) -> None:
    # Given two groups of alike tickets
    client = _client(agent)
    _alike_pairs(agent, team, ["alpha bravo", "charlie delta"])
    few, html = _page_queries(client)
    assert html.count("Similar subjects") == 2

    # When four more groups appear
    _alike_pairs(agent, team, ["echo foxtrot", "golf hotel", "india juliett", "kilo lima"])
    many, html = _page_queries(client)

    # Then the page lists them all with no more queries than before
    assert html.count("Similar subjects") == 6
    assert many == few
