"""Reading the knowledge base: help-center search (Chinese two-character words too),
suggestions from a customer's free text, the help-center tree, one article with its
language fallback, related articles and the staff list."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tend.core.models import User
from tend.kb.models import Article
from tend.kb.selectors import (
    article_for_slug,
    article_related,
    article_search,
    article_suggest,
    articles_for_staff,
    articles_suggested_for_text,
    help_categories,
    search_locale,
    section_articles,
)
from tend.kb.services import category_save, section_save, translation_save

pytestmark = pytest.mark.django_db


def titles(hits) -> list[str]:  # type: ignore[no-untyped-def]
    return [h.title for h in hits]


# --- search ---------------------------------------------------------------------------


def test_search_finds_published_articles_in_the_asked_language(publish) -> None:
    publish("Request a refund", "Open Billing and click **Refund**.")
    publish("如何申请退款", "打开账单中心，点击退款按钮。", locale="zh-hans")
    publish("Refund drafts", "Not yet.", status="draft")

    english = article_search("refund", locale="en")
    chinese = article_search("退款", locale="zh-hans")

    assert titles(english.hits) == ["Request a refund"] and english.total == 1
    assert titles(chinese.hits) == ["如何申请退款"]
    assert chinese.hits[0].locale == "zh-hans"
    assert english.hits[0].snippet == "Open Billing and click Refund."


def test_two_character_chinese_query_matches_inside_longer_text(publish) -> None:
    publish("账单常见问题", "如果发票抬头写错了，可以在账单中心重新开具。", locale="zh-hans")

    assert titles(article_search("发票", locale="zh-hans").hits) == ["账单常见问题"]
    assert titles(article_search("抬头", locale=None).hits) == ["账单常见问题"]


def test_title_matches_rank_above_body_matches(publish) -> None:
    publish("Sign-in help", "If your invoice is missing, ask us.")
    publish("Invoice basics", "Everything about billing.")

    assert titles(article_search("invoice", locale="en").hits)[0] == "Invoice basics"


def test_search_pages_and_counts(publish) -> None:
    for n in range(5):
        publish(f"Export guide {n}", "export")

    page = article_search("export", locale="en", limit=2, offset=2)

    assert page.total == 5 and len(page.hits) == 2


def test_snippet_shows_the_matching_part_of_a_long_article(publish) -> None:
    publish(
        "Long", "Intro sentence. " * 40 + "The webhook secret rotates monthly. " + "Tail. " * 40
    )

    snippet = article_search("webhook", locale="en").hits[0].snippet

    assert "webhook secret" in snippet and snippet.startswith("…")


def count_queries(func, *args, **kwargs) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as queries:
        func(*args, **kwargs)
    return len(queries)


def test_search_queries_do_not_grow_with_the_hits(publish) -> None:
    publish("Password reset 0", "Reset it from the sign-in page.")
    few = count_queries(article_search, "password", locale="en")
    for n in range(1, 10):
        publish(f"Password reset {n}", "Reset it from the sign-in page.")

    assert count_queries(article_search, "password", locale="en") == few
    # SQLite: two counts, the ranked ids, the documents, the articles.
    assert connection.vendor != "sqlite" or few <= 5


# --- suggestions ----------------------------------------------------------------------


def test_suggestions_pick_the_telling_words_of_a_long_message(publish) -> None:
    publish("Get a refund for a duplicate payment", "Refunds go back to the card.")
    publish("Reset your password", "Use the sign-in page.")
    publish("Export a report", "Reports export to CSV.")

    hits = article_suggest(
        "Hello, I have a question. I was charged twice this month and would like a refund "
        "of the duplicate payment please, thank you very much",
        locale="en",
    )

    assert titles(hits)[0] == "Get a refund for a duplicate payment"
    assert "Reset your password" not in titles(hits)


def test_suggestions_work_for_chinese_sentences(publish) -> None:
    publish("如何申请退款", "重复扣费时，可以在账单中心申请退款。", locale="zh-hans")
    publish("修改登录密码", "在个人资料页面修改密码。", locale="zh-hans")

    hits = article_suggest("上个月重复扣费了，请帮忙退款到原来的银行卡", locale="zh-hans")

    assert titles(hits) == ["如何申请退款"]


def test_text_with_chinese_characters_is_searched_in_chinese_first() -> None:
    assert search_locale("发票 PDF", "en") == "zh-hans"
    # Extension B and compatibility ideographs count too; kana-free Latin does not.
    assert search_locale("\U00020000", None) == "zh-hans"
    assert search_locale("\uf900", "en") == "zh-hans"
    assert search_locale("invoice PDF", "en") == "en"
    assert search_locale("invoice", None) is None


def test_chinese_text_is_answered_by_chinese_articles_first(publish) -> None:
    publish("Fapiao 发票 发票 发票", "About the 发票 (fapiao): 发票, 发票.")
    publish("发票常见问题", "如果发票抬头写错了，可以重新开具。", locale="zh-hans")

    hits = articles_suggested_for_text("发票", limit=5)

    assert [h.locale for h in hits] == ["zh-hans", "en"]


def test_articles_matching_more_terms_come_first(publish) -> None:
    publish("Webhook basics", "Webhooks send events.")
    publish("Webhook timeout retries", "A webhook that hits a timeout is retried.")

    hits = article_suggest("our webhook gets a timeout", locale="en")

    assert titles(hits)[0] == "Webhook timeout retries"


def test_suggestions_leave_out_excluded_articles_and_drafts(publish) -> None:
    shown = publish("Invoice address", "Change the invoice address.")
    publish("Invoice drafts", "invoice", status="draft")

    assert article_suggest("invoice address wrong", locale="en", exclude=[shown.pk]) == []


def test_suggestions_for_text_with_only_common_words_are_empty(publish) -> None:
    publish("Refunds", "x")

    assert article_suggest("hi, how do I do this?", locale="en") == []
    assert article_suggest("", locale="en") == []


def test_suggestions_for_long_text_stay_within_a_bounded_number_of_queries(publish) -> None:
    publish("Refunds", "refund")
    text = " ".join(f"word{n} refund" for n in range(400))

    # At most MAX_PROBES term counts and a few searches, however long the text.
    assert count_queries(article_suggest, text, locale="en") <= 40


def test_a_new_article_is_suggested_right_away(publish) -> None:
    assert article_suggest("webhook timeout", locale="en") == []

    publish("Webhook timeout", "x")

    assert titles(article_suggest("webhook timeout", locale="en")) == ["Webhook timeout"]


# --- one article ----------------------------------------------------------------------


def test_article_for_slug_falls_back_to_the_other_language(publish, agent, commit) -> None:
    article = publish("Refunds", "Ask billing.")

    found = article_for_slug(article.slug, "zh-hans")
    assert found is not None
    assert found[1].locale == "en"  # the caller shows "only available in English"

    commit(
        translation_save,
        actor=agent,
        article=article,
        locale="zh-hans",
        title="退款",
        body="请联系账单。",
        status="published",
    )
    found = article_for_slug(article.slug, "zh-hans")
    assert found is not None and found[1].title == "退款"


def test_drafts_are_hidden_unless_asked_for(publish) -> None:
    article = publish("Draft", "x", status="draft")

    assert article_for_slug(article.slug, "en") is None
    assert article_for_slug(article.slug, "en", include_drafts=True) is not None
    assert article_for_slug("no-such-article", "en") is None


def test_related_articles_share_words_or_the_section(publish, manager) -> None:
    billing = category_save(actor=manager, name="Billing")
    article = publish("Refund a duplicate payment", "x", category=billing)
    publish("Refund timelines", "x")
    publish("Change invoice address", "x", category=billing)
    publish("Unrelated sign-in", "x")

    related = titles(article_related(article, locale="en", limit=2))

    assert related == ["Refund timelines", "Change invoice address"]


# --- the help-center tree -------------------------------------------------------------


def test_help_home_lists_categories_sections_and_published_articles(publish, manager) -> None:
    billing = category_save(actor=manager, name="Billing", name_zh="账单", position=1)
    category_save(actor=manager, name="Empty", position=2)
    invoices = section_save(actor=manager, category=billing, name="Invoices", name_zh="发票")
    publish("Invoice address", "x", section=invoices)
    publish("发票抬头", "x", locale="zh-hans", section=invoices)
    publish("Draft invoice", "x", section=invoices, status="draft")
    for n in range(3):
        publish(f"More {n}", "x", section=invoices)

    with CaptureQueriesContext(connection) as queries:
        tree = help_categories("zh-hans", per_section=3)

    assert len(queries) <= 6
    assert [c.name for c in tree] == ["账单"]
    section = tree[0].sections[0]
    assert section.name == "发票" and section.article_count == 5
    assert len(section.articles) == 3
    assert {h.locale for h in section_articles(invoices, "zh-hans")} == {"en", "zh-hans"}


# --- staff ----------------------------------------------------------------------------


def test_staff_list_filters_by_status_locale_text_and_category(publish, agent, manager) -> None:
    billing = category_save(actor=manager, name="Billing")
    published = publish("Refunds", "How to get a refund.", category=billing)
    draft = publish("Refund draft", "x", status="draft")
    chinese = publish("退款说明", "x", locale="zh-hans")

    def slugs(**filters) -> set[str]:  # type: ignore[no-untyped-def]
        return {a.slug for a in articles_for_staff(agent, **filters)}

    assert slugs() == {published.slug, draft.slug, chinese.slug}
    assert slugs(status="draft") == {draft.slug}
    assert slugs(locale="zh-hans") == {chinese.slug}
    assert slugs(q="refund") == {published.slug, draft.slug}
    assert slugs(q="退款") == {chinese.slug}
    assert slugs(category=billing.slug) == {published.slug}
    assert slugs(category=billing.pk) == {published.slug}


def test_staff_without_kb_permission_see_nothing(publish) -> None:
    publish("Refunds", "x")
    nobody = User.objects.create_user(username="norole", password="x")

    assert list(articles_for_staff(nobody)) == []
    assert Article.objects.count() == 1


def test_the_word_being_typed_matches_as_a_prefix(publish) -> None:
    publish("Card payments", "x")
    publish("Reports", "x")

    assert titles(article_suggest("Wrong paym", locale="en")) == ["Card payments"]
    # a finished word is not stretched
    assert article_suggest("Wrong paym ", locale="en") == []
