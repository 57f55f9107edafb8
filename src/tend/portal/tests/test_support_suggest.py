"""Suggestions on the support form: as the customer types, up to five articles that
may answer them; opening one is remembered, and it deflects the ticket unless the
customer sends the form after all."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tend.core.models import User
from tend.desk.models import Ticket
from tend.kb.models import ArticleDailyStat, SuggestionOpen
from tend.kb.services import deflections_count, visitor_hash
from tend.portal.forms import form_started_token
from tend.portal.tests.help_data import publish

pytestmark = pytest.mark.django_db

SUGGEST = "/help/suggest/"


def suggestion_links(html: str) -> list[str]:
    return re.findall(r'href="(/help/open/[^"]+)"', html)


def test_subject_and_description_ask_for_suggestions_while_typing(client: Client) -> None:
    html = client.get("/support/").content.decode()

    for field in ("subject", "description"):
        tag = re.search(rf'<(input|textarea)[^>]*name="{field}"[^>]*>', html)
        assert tag is not None
        assert f'hx-get="{SUGGEST}"' in tag.group(0)
        assert 'hx-trigger="keyup changed delay:300ms"' in tag.group(0)
        assert 'hx-target="#suggestions"' in tag.group(0)
    assert 'id="suggestions"' in html
    assert "/static/web/htmx.min.js" in html


def test_typed_text_brings_up_to_five_published_articles(client: Client, manager: User) -> None:
    for n in range(7):
        publish(manager, f"Export invoices to CSV, way {n}", "Use the export button.")
    publish(manager, "Export drafts", "Export secrets.", status="draft")
    publish(manager, "Change your password", "Open settings.")

    response = client.get(
        SUGGEST, {"subject": "CSV export broken", "description": "The export button fails."}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert len(suggestion_links(html)) == 5
    assert html.count("Export invoices to CSV") == 5
    assert "Export drafts" not in html and "Change your password" not in html
    assert 'target="_blank"' in html


def test_chinese_text_suggests_the_chinese_article(client: Client, manager: User) -> None:
    publish(manager, "如何申请退款", "打开账单中心，点击退款按钮。", locale="zh-hans")

    html = client.get(SUGGEST, {"subject": "退款", "description": ""}).content.decode()

    assert "如何申请退款" in html and len(suggestion_links(html)) == 1


def test_chinese_text_on_the_english_form_suggests_the_chinese_article_first(
    client: Client, manager: User
) -> None:
    publish(manager, "Fapiao 发票 explained", "A 发票 (fapiao) is a Chinese tax invoice. 发票!")
    publish(manager, "发票常见问题", "如何开具发票。", locale="zh-hans")

    html = client.get(SUGGEST, {"subject": "发票", "description": ""}).content.decode()

    assert html.index("发票常见问题") < html.index("Fapiao 发票 explained")


def test_too_little_text_asks_nothing_and_starts_no_session(client: Client, manager: User) -> None:
    publish(manager, "Export invoices")

    response = client.get(SUGGEST, {"subject": " e ", "description": ""})

    assert response.status_code == 200
    assert suggestion_links(response.content.decode()) == []
    assert "sessionid" not in response.cookies


def test_opening_a_suggestion_records_it_and_shows_the_article(
    client: Client, manager: User
) -> None:
    article = publish(manager, "Export invoices to CSV", "Use the **export** button.")
    html = client.get(SUGGEST, {"subject": "CSV export", "description": ""}).content.decode()
    [link] = suggestion_links(html)

    opened = client.get(link, follow=True)

    assert opened.status_code == 200
    assert "<strong>export</strong>" in opened.content.decode()
    record = SuggestionOpen.objects.get()
    assert record.article == article and record.locale == "en"
    assert record.visitor == visitor_hash(client.session.session_key)
    assert record.query == "CSV export"


def test_a_suggestion_link_from_another_visitor_or_tampered_records_nothing(
    client: Client, manager: User
) -> None:
    publish(manager, "Export invoices to CSV")
    html = client.get(SUGGEST, {"subject": "CSV export", "description": ""}).content.decode()
    [link] = suggestion_links(html)

    stranger = Client().get(link)
    tampered = client.get(link[:-3] + "xx/")

    assert stranger.status_code == 302  # still shows the article
    assert tampered.status_code == 404
    assert not SuggestionOpen.objects.exists()


def submit_support(client: Client) -> None:
    response = client.post(
        "/support/",
        {
            "name": "Li Wei",
            "email": "li.wei@acme.test",
            "subject": "CSV export",
            "description": "Still broken after reading the article.",
            "website": "",
            "started": form_started_token(time.time() - 30),
        },
    )
    assert response.status_code == 302, response.content.decode()


def open_a_suggestion(client: Client) -> None:
    html = client.get(SUGGEST, {"subject": "CSV export", "description": ""}).content.decode()
    [link] = suggestion_links(html)
    client.get(link)


def test_sending_the_form_after_opening_a_suggestion_is_not_a_deflection(
    client: Client, manager: User
) -> None:
    publish(manager, "Export invoices to CSV")
    open_a_suggestion(client)

    submit_support(client)
    counted = deflections_count(now=timezone.now() + timedelta(hours=1))

    assert Ticket.objects.count() == 1
    assert SuggestionOpen.objects.get().submitted_at is not None
    assert counted == 0


def test_leaving_after_opening_a_suggestion_is_a_deflection(client: Client, manager: User) -> None:
    article = publish(manager, "Export invoices to CSV")
    open_a_suggestion(client)
    # Someone else sending the form does not change this visitor's outcome.
    submit_support(Client())

    counted = deflections_count(now=timezone.now() + timedelta(hours=1))

    assert counted == 1
    assert ArticleDailyStat.objects.get(article=article).deflections == 1


def test_suggestions_are_rate_limited_with_a_message(client: Client, settings) -> None:  # type: ignore[no-untyped-def]
    settings.TEND_HELP_SUGGEST_RATE_PER_MINUTE = 2

    for _ in range(2):
        assert client.get(SUGGEST, {"subject": "export"}).status_code == 200
    limited = client.get(SUGGEST, {"subject": "export"}, HTTP_HX_REQUEST="true")

    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert "Too many requests" in limited.content.decode()
    assert 'role="alert"' in limited.content.decode()
