"""Knowledge-base articles over the API: create, search (Chinese too), read, change
text and place, delete; permissions and bad input."""

from __future__ import annotations

from typing import Any

from tend.core.models import AuditEntry
from tend.kb.models import Article, Category
from tend.kb.services import MAX_MARKDOWN_CHARS, category_save


def delete(client: Any, path: str) -> Any:
    return client.client.delete(path, headers=client.headers)


def test_agent_creates_an_article_and_gets_its_id_and_slug(api_as, agent, manager) -> None:
    category = category_save(actor=manager, name="Billing")

    response = api_as(agent).post(
        "/api/v1/articles",
        {
            "title": "Get a refund",
            "body": "Open **Billing**.",
            "locale": "en",
            "status": "published",
            "category": category.pk,
            "tags": ["Refunds"],
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "get-a-refund" and Article.objects.filter(pk=body["id"]).exists()
    assert (body["title"], body["locale"], body["status"]) == ("Get a refund", "en", "published")
    assert body["category"] == category.pk and body["section"] is not None
    assert body["tags"] == ["refunds"]
    assert body["url"].endswith("/help/articles/get-a-refund/")
    assert body["translations"][0]["body_html"] == "<p>Open <strong>Billing</strong>.</p>\n"
    assert body["author"]["username"] == agent.username


def test_category_may_be_given_by_slug_and_unknown_ones_are_refused(api_as, agent, manager) -> None:
    category_save(actor=manager, name="Billing", slug="billing")
    client = api_as(agent)

    made = client.post("/api/v1/articles", {"title": "A", "body": "x", "category": "billing"})
    missing = client.post("/api/v1/articles", {"title": "B", "body": "x", "category": "nope"})

    assert made.status_code == 201
    assert made.json()["category"] == Category.objects.get(slug="billing").pk
    assert missing.status_code == 422 and "category" in missing.json()["errors"]


def test_search_finds_articles_in_english_and_chinese(
    api_as, agent, django_capture_on_commit_callbacks
) -> None:
    client = api_as(agent)
    with django_capture_on_commit_callbacks(execute=True):  # index as after a commit
        client.post(
            "/api/v1/articles", {"title": "Refunds", "body": "Get a refund.", "status": "published"}
        )
        client.post(
            "/api/v1/articles",
            {"title": "如何申请退款", "body": "在账单中心申请退款。", "locale": "zh-hans"},
        )
        client.post("/api/v1/articles", {"title": "Passwords", "body": "Reset it."})

    english = client.get("/api/v1/articles", q="refund").json()
    chinese = client.get("/api/v1/articles", q="退款").json()
    drafts_in_chinese = client.get("/api/v1/articles", locale="zh-hans", status="draft").json()

    assert [a["title"] for a in english["items"]] == ["Refunds"] and english["count"] == 1
    assert [a["title"] for a in chinese["items"]] == ["如何申请退款"]
    assert [a["title"] for a in drafts_in_chinese["items"]] == ["如何申请退款"]


def test_list_paginates_and_refuses_unknown_filters(api_as, agent) -> None:
    client = api_as(agent)
    for n in range(3):
        client.post("/api/v1/articles", {"title": f"Article {n}", "body": "x"})

    page = client.get("/api/v1/articles", limit=2, offset=0).json()
    wrong = client.get("/api/v1/articles", stauts="draft")

    assert page["count"] == 3 and len(page["items"]) == 2
    assert wrong.status_code == 422


def test_patch_adds_a_chinese_version_and_publishes_it(api_as, agent) -> None:
    client = api_as(agent)
    article = client.post("/api/v1/articles", {"title": "Refunds", "body": "x"}).json()

    incomplete = client.patch(
        f"/api/v1/articles/{article['id']}", {"locale": "zh-hans", "title": "退款"}
    )
    added = client.patch(
        f"/api/v1/articles/{article['id']}",
        {"locale": "zh-hans", "title": "退款", "body": "联系账单。", "status": "published"},
    )

    assert incomplete.status_code == 422
    assert added.status_code == 200
    body = added.json()
    assert (body["title"], body["locale"], body["status"]) == ("退款", "zh-hans", "published")
    assert {t["locale"] for t in body["translations"]} == {"en", "zh-hans"}
    assert body["slug"] == article["slug"]


def test_patch_changes_text_and_tags_but_never_the_slug(api_as, agent) -> None:
    client = api_as(agent)
    article = client.post("/api/v1/articles", {"title": "Refunds", "body": "x"}).json()

    changed = client.patch(
        f"/api/v1/articles/{article['id']}", {"title": "Refunds, explained", "tags": ["billing"]}
    ).json()
    slug = client.patch(f"/api/v1/articles/{article['id']}", {"slug": "other"})

    assert changed["title"] == "Refunds, explained" and changed["slug"] == "refunds"
    assert changed["tags"] == ["billing"]
    assert slug.status_code == 422  # not a field one may send


def test_detail_shows_the_asked_language(api_as, agent) -> None:
    client = api_as(agent)
    article = client.post("/api/v1/articles", {"title": "Refunds", "body": "x"}).json()
    client.patch(
        f"/api/v1/articles/{article['id']}", {"locale": "zh-hans", "title": "退款", "body": "y"}
    )

    assert (
        client.get(f"/api/v1/articles/{article['id']}", locale="zh-hans").json()["title"] == "退款"
    )
    assert client.get(f"/api/v1/articles/{article['id']}").json()["title"] == "Refunds"
    assert client.get("/api/v1/articles/999999").status_code == 404


def test_markdown_with_script_is_stored_safe(api_as, agent) -> None:
    response = api_as(agent).post(
        "/api/v1/articles",
        {"title": "XSS", "body": "<script>alert(1)</script> [x](javascript:alert(1))"},
    )

    html = response.json()["translations"][0]["body_html"]
    assert "<script" not in html and 'href="javascript' not in html


def test_huge_article_is_a_clear_422(api_as, agent) -> None:
    response = api_as(agent).post(
        "/api/v1/articles", {"title": "Log", "body": "x" * (MAX_MARKDOWN_CHARS + 1)}
    )

    assert response.status_code == 422
    assert "200,000" in response.json()["detail"]
    assert not Article.objects.exists()


def test_bad_locale_and_status_are_422(api_as, agent) -> None:
    client = api_as(agent)

    assert (
        client.post("/api/v1/articles", {"title": "A", "body": "x", "locale": "fr"}).status_code
        == 422
    )
    assert (
        client.post("/api/v1/articles", {"title": "A", "body": "x", "status": "live"}).status_code
        == 422
    )
    assert client.post("/api/v1/articles", {"title": "", "body": "x"}).status_code == 422


def test_read_only_may_read_but_not_write(api_as, agent, readonly) -> None:
    article = api_as(agent).post("/api/v1/articles", {"title": "Refunds", "body": "x"}).json()
    client = api_as(readonly)

    assert client.get(f"/api/v1/articles/{article['id']}").status_code == 200
    assert client.post("/api/v1/articles", {"title": "A", "body": "x"}).status_code == 403
    assert client.patch(f"/api/v1/articles/{article['id']}", {"title": "B"}).status_code == 403


def test_only_managers_delete_and_it_is_audited(api_as, agent, manager) -> None:
    article = api_as(agent).post("/api/v1/articles", {"title": "Refunds", "body": "x"}).json()

    assert delete(api_as(agent), f"/api/v1/articles/{article['id']}").status_code == 403
    assert delete(api_as(manager), f"/api/v1/articles/{article['id']}").status_code == 204
    assert not Article.objects.exists()
    assert AuditEntry.objects.filter(action="kb.article_delete", actor=manager).exists()


def test_anonymous_requests_are_401(anonymous_api) -> None:
    assert anonymous_api.get("/api/v1/articles").status_code == 401
