"""The help center and the support-form suggestions in a real browser (issue 5, point
10): a customer on a phone searches in Chinese and reads an article; another types in
the support form and sees a suggestion appear."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import shot
from tend.core.models import User
from tend.kb.models import ArticleDailyStat, ArticleVote, SearchTerm, SuggestionOpen
from tend.portal.tests.help_data import place, publish, translate

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def fits_the_screen(page: Any) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


def test_customer_searches_in_chinese_on_a_phone_and_reads_an_article(
    new_page: Callable[..., Any], manager: User
) -> None:
    # Given a billing article published in English and Chinese
    billing = place(manager, "Billing", "Invoices", category_zh="账单", section_zh="发票")
    article = publish(
        manager,
        "Fix the name on an invoice",
        "Open **Billing** and choose *Reissue*.",
        section=billing,
    )
    translate(
        manager,
        article,
        locale="zh-hans",
        title="如何修改发票抬头",
        body="如果发票抬头写错了，请打开**账单中心**，选择*重新开具*。",
    )
    publish(manager, "发票草稿", "还没写完的发票说明。", locale="zh-hans", status="draft")

    # When a customer on a phone opens the help center and switches to Chinese
    page = new_page(viewport=PHONE, is_mobile=True, has_touch=True)
    page.goto("/help/")
    page.click("button[lang=zh-hans]")
    page.wait_for_selector("html[lang=zh-hans]")
    assert page.is_visible("text=账单")
    assert fits_the_screen(page)
    shot(page, "help-home-zh-phone")

    # And searches for a two-character word
    page.fill("#help-q", "发票")
    page.press("#help-q", "Enter")
    page.wait_for_selector(".help-results a")
    results = page.inner_text(".help-results")
    assert "如何修改发票抬头" in results and "发票草稿" not in results
    assert fits_the_screen(page)
    shot(page, "help-search-zh-phone")

    # Then she reads the Chinese article and says it helped
    page.click(".help-results a >> text=如何修改发票抬头")
    page.wait_for_selector("h1 >> text=如何修改发票抬头")
    assert page.inner_text(".help-body strong") == "账单中心"
    assert page.query_selector(".help-note") is None  # no fallback: it is in Chinese
    assert fits_the_screen(page)
    page.click("#help-vote button[value=yes]")
    page.wait_for_selector("#help-vote .help-voted")
    shot(page, "help-article-zh-phone")

    assert ArticleVote.objects.get(article=article).helpful is True
    assert ArticleDailyStat.objects.get(article=article, locale="zh-hans").views == 1
    assert SearchTerm.objects.get().term == "发票"


def test_customer_types_in_the_support_form_and_sees_a_suggestion(
    new_page: Callable[..., Any], manager: User
) -> None:
    # Given an article about exporting invoices
    article = publish(manager, "Export invoices to CSV", "Open Billing, then press **Export CSV**.")
    publish(manager, "Change your password", "Open settings.")

    # When a customer types the subject of their question
    page = new_page(viewport={"width": 1280, "height": 900})
    page.goto("/support/")
    page.click("#id_subject")
    page.keyboard.type("CSV export of invoices fails", delay=20)

    # Then the article appears under the form, and only it
    page.wait_for_selector("#suggestions a")
    suggestions = page.inner_text("#suggestions")
    assert "Export invoices to CSV" in suggestions
    assert "Change your password" not in suggestions
    shot(page, "support-suggestion")

    # And opening it shows the article in a new tab, keeping what was typed
    with page.expect_popup() as popup_info:
        page.click("#suggestions a >> text=Export invoices to CSV")
    article_page = popup_info.value
    article_page.wait_for_selector("h1 >> text=Export invoices to CSV")
    assert article_page.inner_text(".help-body strong") == "Export CSV"
    assert page.input_value("#id_subject") == "CSV export of invoices fails"

    opened = SuggestionOpen.objects.get()
    assert opened.article_id == article.pk and opened.submitted_at is None
