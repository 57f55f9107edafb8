"""The public help center at /help: browse, read, vote, search, switch language,
sitemap. Nobody logs in; drafts never show."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from tend.core.models import User
from tend.kb.models import ArticleDailyStat, ArticleVote, SearchTerm
from tend.kb.selectors import help_article_url
from tend.kb.services import visitor_hash
from tend.portal.tests.help_data import place, publish, translate

pytestmark = pytest.mark.django_db


def chinese(client: Client) -> Client:
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


# --- home, categories, sections ---------------------------------------------------------


def test_home_lists_categories_sections_and_published_articles_without_login(
    client: Client, manager: User
) -> None:
    billing = place(manager, "Billing", "Refunds")
    publish(manager, "Request a refund", section=billing)
    publish(manager, "Secret plans", section=billing, status="draft")

    response = client.get("/help/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Billing" in html and "Refunds" in html
    assert 'href="/help/articles/request-a-refund/"' in html
    assert "Secret plans" not in html
    # The help center is for search engines too, unlike the signed-link pages.
    assert "noindex" not in html


def test_home_in_chinese_uses_chinese_names_and_titles(client: Client, manager: User) -> None:
    billing = place(manager, "Billing", "Refunds", category_zh="账单", section_zh="退款")
    article = publish(manager, "Request a refund", section=billing)
    translate(manager, article, locale="zh-hans", title="如何申请退款", body="打开账单中心。")

    html = chinese(client).get("/help/").content.decode()

    assert "账单" in html and "退款" in html and "如何申请退款" in html
    assert "Request a refund" not in html
    assert '<html lang="zh-hans">' in html


def test_section_page_pages_through_its_articles(client: Client, manager: User) -> None:
    refunds = place(manager, "Billing", "Refunds")
    for n in range(35):
        publish(manager, f"Refund case {n:02d}", section=refunds)

    first = client.get(f"/help/categories/{refunds.category.slug}/{refunds.slug}/")
    second = client.get(f"/help/categories/{refunds.category.slug}/{refunds.slug}/", {"page": 2})

    assert first.status_code == second.status_code == 200
    assert first.content.decode().count("Refund case") == 30
    assert second.content.decode().count("Refund case") == 5
    assert "Page 2 of 2" in second.content.decode()
    assert client.get(f"/help/categories/{refunds.category.slug}/").status_code == 200
    assert client.get("/help/categories/nope/").status_code == 404


# --- one article ------------------------------------------------------------------------


def test_article_page_shows_rendered_body_author_date_and_counts_the_view(
    client: Client, manager: User
) -> None:
    manager.first_name, manager.last_name = "Mia", "Manager"
    manager.save()
    article = publish(manager, "Request a refund", "Open **Billing**.\n\n<script>alert(1)</script>")

    response = client.get("/help/articles/request-a-refund/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "<strong>Billing</strong>" in html
    assert "alert(1)</script>" not in html
    assert "By Mia Manager" in html
    assert f'datetime="{timezone.localtime(article.translations.get().updated_at):%Y-%m-%d}' in html
    stat = ArticleDailyStat.objects.get(article=article)
    assert (stat.views, stat.locale) == (1, "en")


def test_drafts_and_unknown_slugs_are_not_found(client: Client, manager: User) -> None:
    publish(manager, "Coming soon", status="draft")

    assert client.get("/help/articles/coming-soon/").status_code == 404
    assert client.get("/help/articles/no-such-thing/").status_code == 404
    assert not ArticleDailyStat.objects.exists()


def test_article_in_the_chosen_language_or_the_other_with_a_note(
    client: Client, manager: User
) -> None:
    both = publish(manager, "Request a refund", "Open Billing.")
    translate(manager, both, locale="zh-hans", title="如何申请退款", body="打开账单中心。")
    publish(manager, "Only in English", "English text.")

    chinese(client)
    translated = client.get("/help/articles/request-a-refund/").content.decode()
    fallback = client.get("/help/articles/only-in-english/").content.decode()

    assert "如何申请退款" in translated and "打开账单中心" in translated
    assert "Request a refund" not in translated
    assert "English text." in fallback
    assert "简体中文" in fallback and 'role="note"' in fallback
    assert 'role="note"' not in translated


def test_lang_parameter_shows_that_language_for_the_page(client: Client, manager: User) -> None:
    article = publish(manager, "Request a refund", "Open Billing.")
    translate(manager, article, locale="zh-hans", title="如何申请退款", body="打开账单中心。")

    zh = client.get("/help/articles/request-a-refund/", {"lang": "zh-hans"}).content.decode()
    en = client.get("/help/articles/request-a-refund/").content.decode()

    assert "如何申请退款" in zh and "Request a refund" in en
    # The switch on the page returns to the address without ?lang=, or it would win.
    assert 'name="next" value="/help/articles/request-a-refund/"' in zh


def test_language_switch_changes_the_help_center_language(client: Client, manager: User) -> None:
    article = publish(manager, "Request a refund", "Open Billing.")
    translate(manager, article, locale="zh-hans", title="如何申请退款", body="打开账单中心。")

    response = client.post(
        "/i18n/setlang/", {"language": "zh-hans", "next": "/help/articles/request-a-refund/"}
    )
    page = client.get(response["Location"])

    assert response.status_code == 302
    assert '<html lang="zh-hans">' in page.content.decode()
    assert "如何申请退款" in page.content.decode()


def test_related_articles_are_listed(client: Client, manager: User) -> None:
    billing = place(manager, "Billing", "Refunds")
    publish(manager, "Request a refund", section=billing)
    publish(manager, "Refund to a different card", section=billing)

    html = client.get("/help/articles/request-a-refund/").content.decode()

    related = html[html.index("Related articles") :]
    assert "Refund to a different card" in related


# --- votes ------------------------------------------------------------------------------


def test_vote_records_one_answer_per_visitor_and_can_be_changed(
    client: Client, manager: User
) -> None:
    article = publish(manager, "Request a refund")

    first = client.post("/help/articles/request-a-refund/vote/", {"helpful": "yes"})
    again = client.post(
        "/help/articles/request-a-refund/vote/", {"helpful": "no"}, HTTP_HX_REQUEST="true"
    )

    assert first.status_code == 302
    assert again.status_code == 200 and "Thank you for your feedback." in again.content.decode()
    vote = ArticleVote.objects.get(article=article)
    assert vote.helpful is False
    assert vote.visitor == visitor_hash(client.session.session_key)
    stat = ArticleDailyStat.objects.get(article=article)
    assert (stat.helpful, stat.not_helpful) == (0, 1)
    # The page now thanks instead of asking again.
    assert (
        "Was this article helpful?"
        not in client.get("/help/articles/request-a-refund/").content.decode()
    )


def test_vote_needs_a_published_article_and_an_answer(client: Client, manager: User) -> None:
    publish(manager, "Draft", status="draft")
    publish(manager, "Live")

    assert client.post("/help/articles/draft/vote/", {"helpful": "yes"}).status_code == 404
    assert client.post("/help/articles/live/vote/", {"helpful": "maybe"}).status_code == 400
    assert client.get("/help/articles/live/vote/").status_code == 405
    assert not ArticleVote.objects.exists()


def test_votes_are_rate_limited(client: Client, manager: User, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TEND_HELP_VOTE_RATE_PER_HOUR = 1
    publish(manager, "Live")
    url = "/help/articles/live/vote/"

    client.post(url, {"helpful": "yes"})
    limited = client.post(url, {"helpful": "no"}, HTTP_HX_REQUEST="true")

    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode()
    assert ArticleVote.objects.get().helpful is True


# --- search -----------------------------------------------------------------------------


def test_chinese_two_character_search_finds_the_article_and_is_recorded(
    client: Client, manager: User
) -> None:
    publish(
        manager, "账单常见问题", "如果发票抬头写错了，可以在账单中心重新开具。", locale="zh-hans"
    )
    publish(manager, "发票草稿", "还没写完。", locale="zh-hans", status="draft")

    response = chinese(client).get("/help/search", {"q": "发票"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "账单常见问题" in html and "发票草稿" not in html
    assert "/help/articles/" in html
    term = SearchTerm.objects.get()
    assert (term.term, term.locale, term.source, term.searches, term.no_results) == (
        "发票",
        "zh-hans",
        "help",
        1,
        0,
    )


def test_search_without_results_is_counted_as_such(client: Client, manager: User) -> None:
    publish(manager, "Request a refund")

    response = client.get("/help/search/", {"q": "teleport"})

    assert response.status_code == 200
    assert "0 results" in response.content.decode()
    assert SearchTerm.objects.get(term="teleport").no_results == 1


def test_search_pages_and_records_only_the_first_page(client: Client, manager: User) -> None:
    for n in range(12):
        publish(manager, f"Invoice question {n:02d}")

    first = client.get("/help/search", {"q": "invoice"}).content.decode()
    second = client.get("/help/search", {"q": "invoice", "page": "2"}).content.decode()

    assert first.count('<a href="/help/articles/invoice-question') == 10
    assert second.count('<a href="/help/articles/invoice-question') == 2
    assert "12 results" in first and 'rel="next"' in first and 'rel="prev"' in second
    assert SearchTerm.objects.get().searches == 1


def test_search_in_one_language_falls_back_to_the_other(client: Client, manager: User) -> None:
    publish(manager, "Request a refund", "Open the billing center.")

    html = chinese(client).get("/help/search", {"q": "refund"}).content.decode()

    assert "Request a refund" in html
    assert "以下文章为其他语言版本" in html


def test_chinese_words_find_the_chinese_article_first_in_the_english_help_center(
    client: Client, manager: User
) -> None:
    # An English article that quotes the word would be all an English-first search finds.
    publish(manager, "Fapiao 发票 explained", "A 发票 (fapiao) is a Chinese tax invoice.")
    both = publish(manager, "Invoices", "Invoices and tax.")
    translate(manager, both, locale="zh-hans", title="发票常见问题", body="如何开具发票。")

    response = client.get("/help/search", {"q": "发票"})

    html = response.content.decode()
    assert '<html lang="en">' in html
    assert "发票常见问题" in html and "Fapiao 发票 explained" not in html
    # The Chinese hit opens in Chinese, though the article also exists in English.
    assert 'href="/help/articles/invoices/?lang=zh-hans"' in html
    assert "another language" not in html
    assert SearchTerm.objects.get().locale == "zh-hans"


def test_search_is_rate_limited_with_a_clear_message(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TEND_HELP_SEARCH_RATE_PER_MINUTE = 2

    for _ in range(2):
        assert client.get("/help/search", {"q": "refund"}).status_code == 200
    limited = client.get("/help/search", {"q": "refund"})
    limited_zh = chinese(client).get("/help/search", {"q": "refund"})

    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert "Too many requests. Please wait" in limited.content.decode()
    assert "请求过多" in limited_zh.content.decode()


def test_empty_search_asks_for_words_and_records_nothing(client: Client) -> None:
    response = client.get("/help/search", {"q": "   "})

    assert response.status_code == 200
    assert not SearchTerm.objects.exists()


# --- sitemap ----------------------------------------------------------------------------


def test_sitemap_lists_each_published_language_with_lastmod(client: Client, manager: User) -> None:
    both = publish(manager, "Request a refund")
    translate(manager, both, locale="zh-hans", title="如何申请退款", body="打开账单中心。")
    draft_zh = publish(manager, "English only")
    translate(manager, draft_zh, locale="zh-hans", title="草稿", body="草稿", status="draft")
    publish(manager, "Hidden", status="draft")

    response = client.get("/help/sitemap.xml")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    xml = response.content.decode()
    locs = re.findall(r"<loc>([^<]+)</loc>", xml)
    base = django_settings.BASE_URL
    assert f"{base}/help/articles/request-a-refund/?lang=en" in locs
    assert f"{base}/help/articles/request-a-refund/?lang=zh-hans" in locs
    assert f"{base}/help/articles/english-only/?lang=en" in locs
    assert not any("english-only/?lang=zh-hans" in loc or "hidden" in loc for loc in locs)
    assert xml.count("<lastmod>") == 3
    assert 'hreflang="zh-Hans"' in xml


def test_lastmod_follows_the_translation(client: Client, manager: User) -> None:
    article = publish(manager, "Request a refund")
    later = timezone.now() + timedelta(days=3)
    article.translations.update(updated_at=later)

    xml = client.get("/help/sitemap.xml").content.decode()

    assert f"<lastmod>{timezone.localtime(later):%Y-%m-%d}" in xml


def test_what_was_searched_is_shown_as_text_not_markup(client: Client) -> None:
    html = client.get("/help/search", {"q": '<script>alert("x")</script>'}).content.decode()

    assert '<script>alert("x")' not in html
    assert "&lt;script&gt;" in html


def test_article_links_elsewhere_match_the_help_center_route(client: Client, manager: User) -> None:
    publish(manager, "Request a refund")

    assert client.get(help_article_url("request-a-refund", absolute=False)).status_code == 200


def test_a_vote_counts_for_the_language_that_was_read(client: Client, manager: User) -> None:
    article = publish(manager, "Request a refund", "Open Billing.")
    translate(manager, article, locale="zh-hans", title="如何申请退款", body="打开账单中心。")
    page = client.get("/help/articles/request-a-refund/", {"lang": "zh-hans"}).content.decode()
    action = re.search(r'<form method="post" action="([^"]+)"', page)
    assert action is not None

    response = client.post(action.group(1).replace("&amp;", "&"), {"helpful": "yes"})

    assert response.status_code == 302
    assert response["Location"] == "/help/articles/request-a-refund/?lang=zh-hans"
    assert ArticleVote.objects.get().locale == "zh-hans"
    assert ArticleDailyStat.objects.get(article=article, locale="zh-hans").helpful == 1
