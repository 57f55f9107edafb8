"""The demo seed gives the help center real content and the analytics page a month of
readers: views, votes, searches that found nothing, deflections."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from conftest import make_staff
from tend.core.roles import Role
from tend.desk.models import Feature, ProductArea
from tend.kb.demo import seed_kb
from tend.kb.demo_articles import ARTICLES
from tend.kb.models import (
    Article,
    ArticleDailyStat,
    ArticleTranslation,
    Category,
    SearchTerm,
    SuggestionOpen,
)
from tend.kb.selectors import article_for_slug, article_search, help_categories

pytestmark = pytest.mark.django_db


def _demo_staff_and_product_map() -> None:
    make_staff("manager", Role.MANAGER)
    make_staff("liwei", Role.AGENT)
    for area in {a.area for a in ARTICLES}:
        product_area = ProductArea.objects.create(name=area.title(), slug=area)
        for feature in {a.feature for a in ARTICLES if a.area == area}:
            Feature.objects.create(product_area=product_area, name=feature, slug=feature)


def test_seed_kb_publishes_articles_in_both_languages(
    django_capture_on_commit_callbacks: Any,
) -> None:
    # Given the demo's staff and product map
    _demo_staff_and_product_map()

    # When the demo seeds the knowledge base (and its commits index the articles)
    with django_capture_on_commit_callbacks(execute=True):
        written = seed_kb()

    # Then the help center has categories, sections and ~30 articles by a staff author
    assert written == len(ARTICLES) == Article.objects.count()
    assert 25 <= written <= 40
    assert 3 <= Category.objects.count() <= 4
    assert not Article.objects.filter(author__isnull=True).exists()
    assert not Article.objects.filter(section__isnull=True).exists()
    # most articles also have a Chinese version, one still a draft
    zh = ArticleTranslation.objects.filter(locale="zh-hans")
    assert zh.count() >= 0.7 * written
    assert zh.filter(status="draft").exists()
    # articles know what they answer (for "worth writing")
    assert not Article.objects.filter(product_area__isnull=True).exists()
    # and they are searchable in both languages, Chinese by a 2-character word
    assert article_search("invoice", locale="en").total >= 2
    assert article_search("发票", locale="zh-hans").total >= 2
    found = article_for_slug("download-invoices", "zh-hans")
    assert found is not None and "发票" in found[1].title
    assert help_categories("en")


def test_seed_kb_gives_the_analytics_page_a_month_of_readers() -> None:
    _demo_staff_and_product_map()
    seed_kb()

    totals = ArticleDailyStat.objects.aggregate(
        views=Sum("views"), helpful=Sum("helpful"), deflections=Sum("deflections")
    )
    assert totals["views"] > 1000
    assert 0 < totals["helpful"] < totals["views"]
    assert totals["deflections"] > 0
    # a deflection is an opened suggestion that was not followed by a submit
    assert SuggestionOpen.objects.filter(submitted_at__isnull=True).count() == totals["deflections"]
    assert SearchTerm.objects.filter(no_results__gt=0).values("term").distinct().count() >= 5


def test_seed_kb_runs_once() -> None:
    _demo_staff_and_product_map()
    seed_kb()

    assert seed_kb() == 0
    assert Article.objects.count() == len(ARTICLES)
