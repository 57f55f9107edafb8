"""Staff knowledge-base screens: the article list, the editor with locale tabs, live
preview and images, publish / unpublish, categories and sections, and who may do what."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tend.core.models import User
from tend.kb import services as kb
from tend.kb.images import help_image_url
from tend.kb.models import Article, ArticleStatus, ArticleTranslation, Category, Section

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Path) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[..., Any]:
    """Run a service and its after-commit work (the search index) at once."""

    def run(func: Callable[..., Any], **kwargs: Any) -> Any:
        with django_capture_on_commit_callbacks(execute=True):
            return func(**kwargs)

    return run


@pytest.fixture
def nobody(db: None) -> Iterator[User]:
    """Signed-in staff without any role: no knowledge-base permission at all."""
    yield User.objects.create_user(username="nobody", email="nobody@tend.test", password="x")


@pytest.fixture
def article(manager: User, committed: Callable[..., Any]) -> Article:
    section = kb.section_save(
        actor=manager,
        category=kb.category_save(actor=manager, name="Account"),
        name="Signing in",
    )
    return committed(
        kb.article_create,
        actor=manager,
        title="Reset your password",
        body="Open **Settings** and choose *Reset password*.",
        status="published",
        section=section,
    )


def test_agent_sees_articles_with_their_languages_and_states(agent: User, article: Article) -> None:
    response = _client(agent).get(reverse("web:kb_articles"))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Reset your password" in html
    assert reverse("web:kb_article_edit", args=[article.pk]) in html
    assert "English: Published" in html
    assert reverse("web:kb_article_new") in html


def test_article_list_filters_by_status_and_search(
    agent: User, article: Article, committed: Callable[..., Any]
) -> None:
    committed(kb.article_create, actor=agent, title="Export invoices", body="CSV export.")
    client = _client(agent)

    drafts = client.get(reverse("web:kb_articles"), {"status": "draft"}).content.decode()
    found = client.get(reverse("web:kb_articles"), {"q": "password"}).content.decode()

    assert "Export invoices" in drafts and "Reset your password" not in drafts
    assert "Reset your password" in found and "Export invoices" not in found


def test_readonly_reads_the_list_but_cannot_open_the_editor(
    readonly: User, article: Article
) -> None:
    client = _client(readonly)

    listing = client.get(reverse("web:kb_articles")).content.decode()
    editor = client.get(reverse("web:kb_article_edit", args=[article.pk]))
    posted = client.post(
        reverse("web:kb_article_edit", args=[article.pk]),
        {"title": "Hacked", "body": "x", "action": "save"},
    )

    assert "Reset your password" in listing
    assert reverse("web:kb_article_new") not in listing
    assert editor.status_code == 403
    assert posted.status_code == 403
    assert ArticleTranslation.objects.get(article=article).title == "Reset your password"


def test_staff_without_kb_permission_get_the_forbidden_page(nobody: User) -> None:
    response = _client(nobody).get(reverse("web:kb_articles"))

    assert response.status_code == 403
    assert "Not allowed" in response.content.decode()


def test_agent_writes_a_draft_then_publishes_it(agent: User) -> None:
    client = _client(agent)

    created = client.post(
        reverse("web:kb_article_new"),
        {"title": "Connect Slack", "body": "1. Open *Integrations*", "tags": "slack, chat"},
    )
    article = Article.objects.get()
    draft = ArticleTranslation.objects.get(article=article)
    published = client.post(
        reverse("web:kb_article_edit", args=[article.pk]) + "?locale=en",
        {
            "title": "Connect Slack",
            "body": "1. Open *Integrations*",
            "action": "publish",
            "tags": "slack, chat",
        },
    )

    assert created.status_code == 302
    assert created["Location"] == reverse("web:kb_article_edit", args=[article.pk]) + "?locale=en"
    assert draft.status == ArticleStatus.DRAFT
    assert article.author == agent
    assert sorted(t.name for t in article.tags.all()) == ["chat", "slack"]
    assert published.status_code == 302
    translation = ArticleTranslation.objects.get(article=article)
    assert translation.status == ArticleStatus.PUBLISHED
    assert translation.published_at is not None
    assert "<em>Integrations</em>" in translation.body_html


def test_unpublish_takes_an_article_back_to_draft(agent: User, article: Article) -> None:
    page = _client(agent).get(reverse("web:kb_article_edit", args=[article.pk]))
    assert "Unpublish" in page.content.decode()

    _client(agent).post(
        reverse("web:kb_article_edit", args=[article.pk]),
        {"title": "Reset your password", "body": "Changed.", "action": "unpublish"},
    )

    translation = ArticleTranslation.objects.get(article=article)
    assert translation.status == ArticleStatus.DRAFT
    assert translation.body_markdown == "Changed."


def test_chinese_tab_adds_a_chinese_version_and_leaves_english_alone(
    agent: User, article: Article
) -> None:
    url = reverse("web:kb_article_edit", args=[article.pk]) + "?locale=zh-hans"
    client = _client(agent)

    tab = client.get(url).content.decode()
    client.post(url, {"title": "重置密码", "body": "打开**设置**。", "action": "save"})

    assert "not written" in tab
    versions = {t.locale: t for t in ArticleTranslation.objects.filter(article=article)}
    assert versions["zh-hans"].title == "重置密码"
    assert versions["zh-hans"].status == ArticleStatus.DRAFT
    assert versions["en"].title == "Reset your password"
    assert versions["en"].status == ArticleStatus.PUBLISHED


def test_editor_shows_the_service_refusal_on_the_form(agent: User, article: Article) -> None:
    response = _client(agent).post(
        reverse("web:kb_article_edit", args=[article.pk]),
        {"title": "Reset", "body": "x" * (kb.MAX_MARKDOWN_CHARS + 1), "action": "save"},
    )

    assert response.status_code == 400
    assert ArticleTranslation.objects.get(article=article).body_markdown.startswith("Open")


def test_preview_renders_markdown_without_script(agent: User) -> None:
    response = _client(agent).post(
        reverse("web:kb_preview"),
        {"body": "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Title</h1>" in html
    assert "<script" not in html
    assert 'href="javascript:' not in html


def test_readonly_cannot_use_the_preview(readonly: User) -> None:
    response = _client(readonly).post(reverse("web:kb_preview"), {"body": "hi"})

    assert response.status_code == 403


def test_image_upload_answers_the_markdown_to_insert(agent: User, article: Article) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _client(agent).post(
        reverse("web:kb_image_upload", args=[article.pk]),
        {"upload": SimpleUploadedFile("shot.png", PNG, "image/png"), "alt": "Settings [page]"},
        HTTP_HX_REQUEST="true",
    )

    image = article.images.get()
    html = response.content.decode()
    assert response.status_code == 200
    assert f"![Settings page]({help_image_url(image)})" in html
    assert "data-kb-autoinsert" in html


def test_image_upload_refuses_what_is_not_an_image(agent: User, article: Article) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = _client(agent).post(
        reverse("web:kb_image_upload", args=[article.pk]),
        {"upload": SimpleUploadedFile("x.png", b"<svg onload=alert(1)>", "image/png")},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 400
    assert "PNG, JPEG, GIF or WebP" in response.content.decode()
    assert not article.images.exists()


def test_manager_deletes_an_article_agent_may_not(
    agent: User, manager: User, article: Article
) -> None:
    url = reverse("web:kb_article_delete", args=[article.pk])

    refused = _client(agent).post(url, {"confirm": "1"})
    deleted = _client(manager).post(url, {"confirm": "1"})

    assert refused.status_code == 403
    assert deleted.status_code == 302
    assert not Article.objects.filter(pk=article.pk).exists()


def test_categories_and_sections_are_managed_on_one_page(agent: User) -> None:
    client = _client(agent)

    client.post(
        reverse("web:kb_category_new"),
        {"category-name": "Billing", "category-name_zh": "账单", "category-position": "1"},
    )
    category = Category.objects.get()
    client.post(
        reverse("web:kb_section_new"),
        {"section-category": category.pk, "section-name": "Invoices", "section-position": "0"},
    )
    page = client.get(reverse("web:kb_categories")).content.decode()

    assert category.slug == "billing"
    assert Section.objects.get().category == category
    assert "Billing" in page and "账单" in page and "Invoices" in page


def test_category_rename_keeps_its_place(agent: User) -> None:
    category = kb.category_save(actor=agent, name="Billing", position=3)

    _client(agent).post(
        reverse("web:kb_category_edit", args=[category.pk]),
        {"name": "Billing and plans", "slug": "billing", "position": "3"},
    )

    category.refresh_from_db()
    assert category.name == "Billing and plans"
    assert category.slug == "billing"


def test_readonly_cannot_add_categories(readonly: User) -> None:
    response = _client(readonly).post(reverse("web:kb_category_new"), {"category-name": "X"})

    assert response.status_code == 403
    assert not Category.objects.exists()


def test_article_list_queries_do_not_grow_with_the_articles(agent: User) -> None:
    def count() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = _client(agent)
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("web:kb_articles")).status_code == 200
        return len(queries)

    kb.article_create(actor=agent, title="First", body="One.")
    count()  # warm the caches a first request fills (sidebar counts, permissions)
    few = count()
    for n in range(5):
        article = kb.article_create(actor=agent, title=f"Article {n}", body="Text.")
        kb.translation_save(
            actor=agent,
            article=article,
            locale="zh-hans",
            title=f"文章 {n}",
            body="正文。",
            status="draft",
        )

    assert count() == few
