"""Knowledge base in a real browser (htmx + kb.js): an agent inserts a suggested
article's link into the reply; a writer sees the live preview; the macro editor's
picker inserts an article link into the macro text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from conftest import shot
from tend.core.models import User
from tend.desk import services as desk
from tend.desk.models import Ticket
from tend.kb import services as kb
from tend.kb.models import Article

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BASE = "https://support.example.com"


@pytest.fixture(autouse=True)
def _settings(settings: Any, tmp_path: Any) -> None:
    settings.BASE_URL = BASE
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def article(manager: User) -> Article:
    return kb.article_create(
        actor=manager,
        title="Export invoices as CSV",
        body="Open **Billing**, then choose *Export*.",
        status="published",
        slug="export-invoices",
    )


@pytest.fixture
def ticket(agent: User, team: Any) -> Ticket:
    return desk.ticket_create(
        actor=agent,
        subject="Cannot export invoices",
        description="The invoice export button does nothing.",
        requester_email="li.wei@acme.test",
        requester_name="Li Wei",
        team=team,
    )


def test_agent_inserts_a_suggested_article_link_into_the_reply(
    signed_in: Callable[..., Any], agent: User, article: Article, ticket: Ticket
) -> None:
    page = signed_in(agent)
    page.goto(f"/tickets/{ticket.number}/")
    body = page.locator("#composer-body")
    body.fill("Hello Li Wei, this should help:")

    suggestions = page.locator("#kb-suggestions")
    suggestions.get_by_text("Export invoices as CSV").wait_for()
    shot(page, "kb-ticket-suggestions")
    suggestions.get_by_role("button", name="Insert link").first.click()

    assert body.input_value() == (
        "Hello Li Wei, this should help: "
        f"[Export invoices as CSV]({BASE}/help/articles/export-invoices/)"
    )


def test_writer_sees_the_live_preview_and_publishes(
    signed_in: Callable[..., Any], agent: User
) -> None:
    page = signed_in(agent)
    page.goto("/kb/articles/new/")
    page.get_by_label("Title").fill("Connect Slack")
    page.locator("#id_body").fill("## Steps\n\n1. Open **Integrations**")

    page.locator("#kb-preview h2").wait_for()
    assert page.locator("#kb-preview strong").inner_text() == "Integrations"
    shot(page, "kb-editor")
    page.get_by_role("button", name="Save and publish").click()

    page.get_by_text("Published. It is live in the help center.").wait_for()
    assert page.get_by_role("button", name="Unpublish").is_visible()


def test_macro_editor_picker_inserts_an_article_link(
    signed_in: Callable[..., Any], agent: User, article: Article
) -> None:
    page = signed_in(agent)
    page.goto("/macros/new/")
    page.locator("#id_body").fill("See")
    page.get_by_label("Insert article link").fill("invoices")
    page.get_by_role("button", name="Insert link").click()
    shot(page, "kb-macro-picker")

    assert page.locator("#id_body").input_value() == (
        f"See [Export invoices as CSV]({BASE}/help/articles/export-invoices/)"
    )


def test_manager_finds_the_list_categories_and_analytics(
    signed_in: Callable[..., Any], manager: User, article: Article
) -> None:
    kb.article_view_record(article=article, locale="en")
    page = signed_in(manager)
    page.goto("/kb/")
    shot(page, "kb-list")
    page.get_by_role("link", name="Categories").click()
    page.locator("#id_category-name").fill("Billing")
    page.get_by_role("button", name="Add category").click()
    page.get_by_text("Category Billing added.").wait_for()
    shot(page, "kb-categories")
    page.goto("/kb/analytics/")
    shot(page, "kb-analytics")

    assert page.locator("table.kb-stats").get_by_text("Export invoices as CSV").is_visible()
