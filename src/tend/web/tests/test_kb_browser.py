"""Knowledge base in a real browser (htmx + kb.js): an agent inserts a suggested
article's link into the reply; a writer sees the live preview; the macro editor's
picker inserts an article link into the macro text."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from tend.core.models import User
from tend.desk import services as desk
from tend.desk.models import Ticket
from tend.kb import services as kb
from tend.kb.models import Article

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = os.environ.get("TEND_CHROMIUM", "/usr/bin/chromium")
SHOTS = os.environ.get("TEND_SCREENSHOTS", "")
BASE = "https://support.example.com"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
            headless=True,
        )
        yield browser
        browser.close()


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


def signed_in(chromium: Any, live_server: Any, client: Any, user: User) -> Any:
    client.force_login(user)
    context = chromium.new_context(
        base_url=live_server.url, viewport={"width": 1360, "height": 900}
    )
    context.set_default_timeout(10_000)
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": live_server.url}])
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    if SHOTS:
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def test_agent_inserts_a_suggested_article_link_into_the_reply(
    chromium: Any, live_server: Any, client: Any, agent: User, article: Article, ticket: Ticket
) -> None:
    page = signed_in(chromium, live_server, client, agent)
    page.goto(f"/tickets/{ticket.number}/")
    body = page.locator("#composer-body")
    body.fill("Hello Li Wei, this should help:")

    suggestions = page.locator("#kb-suggestions")
    suggestions.get_by_text("Export invoices as CSV").wait_for()
    _shot(page, "kb-ticket-suggestions")
    suggestions.get_by_role("button", name="Insert link").first.click()

    assert body.input_value() == (
        "Hello Li Wei, this should help: "
        f"[Export invoices as CSV]({BASE}/help/articles/export-invoices/)"
    )


def test_writer_sees_the_live_preview_and_publishes(
    chromium: Any, live_server: Any, client: Any, agent: User
) -> None:
    page = signed_in(chromium, live_server, client, agent)
    page.goto("/kb/articles/new/")
    page.get_by_label("Title").fill("Connect Slack")
    page.locator("#id_body").fill("## Steps\n\n1. Open **Integrations**")

    page.locator("#kb-preview h2").wait_for()
    assert page.locator("#kb-preview strong").inner_text() == "Integrations"
    _shot(page, "kb-editor")
    page.get_by_role("button", name="Save and publish").click()

    page.get_by_text("Published. It is live in the help center.").wait_for()
    assert page.get_by_role("button", name="Unpublish").is_visible()


def test_macro_editor_picker_inserts_an_article_link(
    chromium: Any, live_server: Any, client: Any, agent: User, article: Article
) -> None:
    page = signed_in(chromium, live_server, client, agent)
    page.goto("/macros/new/")
    page.locator("#id_body").fill("See")
    page.get_by_label("Insert article link").fill("invoices")
    page.get_by_role("button", name="Insert link").click()
    _shot(page, "kb-macro-picker")

    assert page.locator("#id_body").input_value() == (
        f"See [Export invoices as CSV]({BASE}/help/articles/export-invoices/)"
    )


def test_manager_finds_the_list_categories_and_analytics(
    chromium: Any, live_server: Any, client: Any, manager: User, article: Article
) -> None:
    kb.article_view_record(article=article, locale="en")
    page = signed_in(chromium, live_server, client, manager)
    page.goto("/kb/")
    _shot(page, "kb-list")
    page.get_by_role("link", name="Categories").click()
    page.locator("#id_category-name").fill("Billing")
    page.get_by_role("button", name="Add category").click()
    page.get_by_text("Category Billing added.").wait_for()
    _shot(page, "kb-categories")
    page.goto("/kb/analytics/")
    _shot(page, "kb-analytics")

    assert page.locator("table.kb-stats").get_by_text("Export invoices as CSV").is_visible()
