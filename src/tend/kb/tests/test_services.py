"""Writing the knowledge base: articles in two languages, stable slugs, places,
images, limits and permissions; and what the help center records about readers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tend.core.models import AuditEntry, SearchDocument
from tend.kb import services
from tend.kb.models import (
    Article,
    ArticleDailyStat,
    ArticleTranslation,
    ArticleVote,
    SearchTerm,
    SuggestionOpen,
)
from tend.kb.selectors import article_search
from tend.kb.services import (
    MAX_MARKDOWN_CHARS,
    article_create,
    article_delete,
    article_update,
    article_view_record,
    article_vote,
    category_save,
    deflections_count,
    image_upload,
    search_record,
    section_save,
    suggestion_open_record,
    suggestions_submitted,
    translation_save,
    visitor_hash,
)

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def stat(article: Article, locale: str = "en") -> ArticleDailyStat:
    return ArticleDailyStat.objects.get(article=article, locale=locale, day=timezone.localdate())


# --- articles -------------------------------------------------------------------------


def test_agent_creates_a_draft_with_rendered_html_and_a_slug_from_the_title(agent) -> None:
    article = article_create(actor=agent, title="How to Export a Report", body="Click **Export**.")

    translation = article.translations.get()
    assert article.slug == "how-to-export-a-report"
    assert article.author == agent
    assert translation.status == "draft" and translation.published_at is None
    assert translation.body_html == "<p>Click <strong>Export</strong>.</p>\n"
    assert translation.updated_by == agent


def test_same_title_twice_gets_a_distinct_slug_and_chinese_titles_get_one_too(agent) -> None:
    first = article_create(actor=agent, title="Refunds", body="x")
    second = article_create(actor=agent, title="Refunds", body="y")
    chinese = article_create(actor=agent, title="如何申请退款", body="z", locale="zh-hans")

    assert (first.slug, second.slug) == ("refunds", "refunds-2")
    assert chinese.slug.startswith("article-")


def test_slug_stays_when_the_title_changes(agent) -> None:
    article = article_create(actor=agent, title="Old title", body="x")

    translation_save(
        actor=agent, article=article, locale="en", title="New title", body="x", status="draft"
    )

    article.refresh_from_db()
    assert article.slug == "old-title"
    with pytest.raises(ValidationError):
        article_update(actor=agent, article=article, slug="new-title")


def test_publishing_sets_published_at_once(agent) -> None:
    article = article_create(actor=agent, title="Refunds", body="x")
    first = translation_save(
        actor=agent, article=article, locale="en", title="Refunds", body="x", status="published"
    )
    published_at = first.published_at

    again = translation_save(
        actor=agent, article=article, locale="en", title="Refunds", body="y", status="published"
    )

    assert published_at is not None and again.published_at == published_at


def test_one_article_has_an_english_and_a_chinese_version(agent, commit) -> None:
    article = commit(
        article_create, actor=agent, title="Refunds", body="Ask billing.", status="published"
    )
    commit(
        translation_save,
        actor=agent,
        article=article,
        locale="zh-hans",
        title="退款",
        body="请联系账单。",
        status="draft",
    )

    assert set(article.translations.values_list("locale", "status")) == {
        ("en", "published"),
        ("zh-hans", "draft"),
    }
    # Each translation is its own search document; the draft only for staff.
    assert SearchDocument.objects.filter(kind="article").count() == 2
    assert article_search("退款", locale="zh-hans").total == 0
    assert article_search("退款", locale="zh-hans", published_only=False).total == 1


def test_huge_article_is_refused_with_a_clear_message(agent) -> None:
    with pytest.raises(ValidationError) as error:
        article_create(actor=agent, title="Log", body="x" * (MAX_MARKDOWN_CHARS + 1))

    assert "body" in error.value.message_dict
    assert "200,000" in error.value.message_dict["body"][0]
    assert not Article.objects.exists()


def test_article_at_the_limit_is_accepted(agent) -> None:
    article = article_create(actor=agent, title="Long", body="word " * (MAX_MARKDOWN_CHARS // 5))

    assert len(article.translations.get().body_markdown) == MAX_MARKDOWN_CHARS


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"title": "  "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"locale": "fr"}, "locale"),
        ({"status": "live"}, "status"),
        ({"slug": "Not a slug!"}, "slug"),
    ],
)
def test_bad_input_names_the_field(agent, fields, field) -> None:
    params = {"actor": agent, "title": "Refunds", "body": "x", **fields}

    with pytest.raises(ValidationError) as error:
        article_create(**params)

    assert field in error.value.message_dict


def test_read_only_staff_may_not_write_and_only_managers_delete(readonly, agent, manager) -> None:
    with pytest.raises(PermissionDenied):
        article_create(actor=readonly, title="Refunds", body="x")
    article = article_create(actor=agent, title="Refunds", body="x")
    with pytest.raises(PermissionDenied):
        article_delete(actor=agent, article=article)

    article_delete(actor=manager, article=article, reason="duplicate")

    assert not Article.objects.exists()
    entry = AuditEntry.objects.get(action="kb.article_delete")
    assert entry.actor == manager and entry.data["titles"] == {"en": "Refunds"}


def test_deleting_an_article_removes_it_from_search(publish, manager, commit) -> None:
    article = publish("Refunds", "Ask billing.")
    assert article_search("refunds", locale="en").total == 1

    commit(article_delete, actor=manager, article=article)

    assert article_search("refunds", locale="en").total == 0
    assert not SearchDocument.objects.filter(kind="article").exists()


def test_category_gives_the_article_its_first_section(manager, agent) -> None:
    billing = category_save(actor=manager, name="Billing", name_zh="账单")
    empty = category_save(actor=manager, name="Sign-in")
    invoices = section_save(actor=manager, category=billing, name="Invoices", position=1)
    section_save(actor=manager, category=billing, name="Payments", position=2)

    placed = article_create(actor=agent, title="Invoices", body="x", category=billing)
    made = article_create(actor=agent, title="SSO", body="x", category=empty)

    assert placed.section == invoices
    assert made.section is not None and made.section.category == empty


def test_update_sets_tags_product_area_and_feature(agent, manager) -> None:
    from tend.desk.models import Feature, ProductArea

    area = ProductArea.objects.create(name="Billing", slug="billing")
    feature = Feature.objects.create(product_area=area, name="Invoices", slug="invoices")
    article = article_create(actor=agent, title="Invoices", body="x", tags=["Tax ID"])

    article_update(actor=agent, article=article, feature=feature, tags=["vat", "Tax ID"])

    article.refresh_from_db()
    assert article.feature == feature and article.product_area == area
    assert sorted(article.tags.values_list("name", flat=True)) == ["tax_id", "vat"]


# --- images ---------------------------------------------------------------------------


def test_image_upload_checks_the_bytes_not_the_name(agent, settings, tmp_path) -> None:
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    article = article_create(actor=agent, title="Screens", body="x")

    image = image_upload(
        actor=agent, article=article, upload=SimpleUploadedFile("shot.txt", PNG, "text/plain")
    )

    assert image.content_type == "image/png" and image.file.name.endswith(".png")
    with pytest.raises(ValidationError):
        image_upload(
            actor=agent,
            article=article,
            upload=SimpleUploadedFile("evil.png", b"<svg onload=alert(1)>", "image/png"),
        )


# --- readers --------------------------------------------------------------------------


def test_views_add_up_per_article_locale_and_day(publish) -> None:
    article = publish("Refunds")

    article_view_record(article=article, locale="en")
    article_view_record(article=article, locale="en")
    article_view_record(article=article, locale="zh-hans")

    assert stat(article).views == 2
    assert stat(article, "zh-hans").views == 1


def test_one_vote_per_visitor_and_changing_it_moves_the_count(publish) -> None:
    article = publish("Refunds")
    visitor = visitor_hash("session-1")

    article_vote(article=article, locale="en", visitor=visitor, helpful=True)
    article_vote(article=article, locale="en", visitor=visitor, helpful=True)
    assert (stat(article).helpful, stat(article).not_helpful) == (1, 0)

    article_vote(article=article, locale="en", visitor=visitor, helpful=False)
    assert (stat(article).helpful, stat(article).not_helpful) == (0, 1)
    assert ArticleVote.objects.count() == 1


def test_visitor_hash_is_stable_and_hides_the_session_key() -> None:
    assert visitor_hash("abc") == visitor_hash("abc")
    assert visitor_hash("abc") != visitor_hash("abd")
    assert "abc" not in visitor_hash("abc") and len(visitor_hash("abc")) == 64


def test_search_terms_are_counted_normalised_with_misses() -> None:
    search_record(term="  Refund ", locale="en", source="help", hits=3)
    search_record(term="REFUND", locale="en", source="help", hits=0)
    search_record(term="", locale="en", source="help", hits=0)

    row = SearchTerm.objects.get()
    assert (row.term, row.searches, row.no_results) == ("refund", 2, 1)


def test_opened_suggestion_without_submit_becomes_one_deflection(publish) -> None:
    article = publish("Refunds")
    leaver, submitter = visitor_hash("leaver"), visitor_hash("submitter")
    suggestion_open_record(article=article, locale="en", visitor=leaver, query="refund")
    suggestion_open_record(article=article, locale="en", visitor=leaver, query="refund please")
    suggestion_open_record(article=article, locale="en", visitor=submitter, query="refund")
    suggestions_submitted(visitor=submitter)
    later = timezone.now() + services.DEFLECTION_WINDOW + timedelta(minutes=1)

    assert deflections_count(now=timezone.now()) == 0  # still within the window
    assert deflections_count(now=later) == 1
    assert deflections_count(now=later) == 0  # each open is counted once
    assert stat(article).deflections == 1
    assert SuggestionOpen.objects.filter(counted_at__isnull=True).count() == 0


def test_submitting_marks_only_that_visitors_pending_opens(publish) -> None:
    article = publish("Refunds")
    suggestion_open_record(article=article, locale="en", visitor="a" * 64)
    suggestion_open_record(article=article, locale="en", visitor="b" * 64)

    assert suggestions_submitted(visitor="a" * 64) == 1
    assert ArticleTranslation.objects.count() == 1
