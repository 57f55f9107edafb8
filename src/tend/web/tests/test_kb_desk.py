"""Articles where agents answer: suggested articles on the ticket page with "Insert
link", and the article-link picker in the macro editor. Links are the help center's
absolute URLs, because they end up in emails to customers."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tend.core.models import User
from tend.desk import services as desk
from tend.desk.models import Macro, Status, Ticket
from tend.kb import services as kb
from tend.kb.models import Article
from tend.web.views_kb_desk import markdown_link

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
BASE = "https://support.example.com"


def _client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture(autouse=True)
def _base_url(settings: Any) -> None:
    settings.BASE_URL = BASE


@pytest.fixture
def write(manager: User, django_capture_on_commit_callbacks: Any) -> Callable[..., Article]:
    """Write an article the way staff do, with its search index updated."""

    def run(title: str, body: str, *, status: str = "published", **kwargs: Any) -> Article:
        with django_capture_on_commit_callbacks(execute=True):
            return kb.article_create(actor=manager, title=title, body=body, status=status, **kwargs)

    return run


@pytest.fixture
def articles(
    write: Callable[..., Article], manager: User, django_capture_on_commit_callbacks: Any
) -> dict[str, Article]:
    reset = write(
        "Reset your password",
        "Forgot your password? Use the reset link on the sign-in page.",
        slug="reset-password",
    )
    with django_capture_on_commit_callbacks(execute=True):
        kb.translation_save(
            actor=manager,
            article=reset,
            locale="zh-hans",
            title="重置密码",
            body="忘记密码了？在登录页面点击重置密码链接。",
            status="published",
        )
    draft = write("Password rules", "Passwords need twelve characters.", status="draft")
    export = write("Export invoices", "Download invoices as CSV from Billing.")
    return {"reset": reset, "draft": draft, "export": export}


@pytest.fixture
def ticket(agent: User, team: Any) -> Ticket:
    return desk.ticket_create(
        actor=agent,
        subject="Forgot password",
        description="I cannot sign in, I forgot my password and need to reset it.",
        requester_email="li.wei@acme.test",
        requester_name="Li Wei",
        team=team,
    )


def _suggestions(user: User, ticket: Ticket) -> Any:
    return _client(user).get(
        reverse("web:kb_ticket_suggestions", args=[ticket.number]), headers=HTMX
    )


def test_ticket_page_loads_suggested_articles(agent: User, ticket: Ticket) -> None:
    html = _client(agent).get(reverse("web:ticket", args=[ticket.number])).content.decode()

    assert "Suggested articles" in html
    assert reverse("web:kb_ticket_suggestions", args=[ticket.number]) in html
    assert "web/kb.js" in html


def test_suggestions_offer_published_articles_with_an_insertable_link(
    agent: User, ticket: Ticket, articles: dict[str, Article]
) -> None:
    response = _suggestions(agent, ticket)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Reset your password" in html
    assert "Password rules" not in html  # drafts are not for customers
    link = f"[Reset your password]({BASE}/help/articles/reset-password/)"
    assert f'data-kb-insert="{link}"' in html
    assert 'data-kb-target="composer-body"' in html


def test_a_chinese_ticket_gets_the_chinese_version(
    agent: User, team: Any, articles: dict[str, Article]
) -> None:
    ticket = desk.ticket_create(
        actor=agent,
        subject="忘记密码",
        description="我忘记密码了，怎么重置？",
        requester_email="wang@acme.test",
        team=team,
    )

    html = _suggestions(agent, ticket).content.decode()

    assert "重置密码" in html
    assert f"[重置密码]({BASE}/help/articles/reset-password/?lang=zh-hans)" in html


def test_nothing_matching_says_so(agent: User, team: Any, articles: dict[str, Article]) -> None:
    ticket = desk.ticket_create(
        actor=agent,
        subject="Webhook retries",
        description="Do you retry failed webhooks?",
        requester_email="ops@acme.test",
        team=team,
    )

    html = _suggestions(agent, ticket).content.decode()

    assert "No article matches this ticket." in html


def test_readonly_sees_suggestions_but_no_insert_button(
    readonly: User, team: Any, ticket: Ticket, articles: dict[str, Article]
) -> None:
    team.members.add(readonly)

    html = _suggestions(readonly, ticket).content.decode()

    assert "Reset your password" in html
    assert "data-kb-insert" not in html


def test_no_insert_button_on_a_closed_ticket(
    agent: User, ticket: Ticket, articles: dict[str, Article]
) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(status=Status.CLOSED)

    html = _suggestions(agent, ticket).content.decode()

    assert "Reset your password" in html
    assert "data-kb-insert" not in html


def test_another_teams_ticket_reveals_nothing(
    outsider: User, ticket: Ticket, articles: dict[str, Article]
) -> None:
    assert _suggestions(outsider, ticket).status_code == 404


def test_link_picker_finds_published_articles_to_insert(
    agent: User, articles: dict[str, Article]
) -> None:
    response = _client(agent).get(
        reverse("web:kb_link_picker"),
        {"kb_q": "invoices", "kb_locale": "en", "target": "id_body"},
        headers=HTMX,
    )

    html = response.content.decode()
    assert "Export invoices" in html
    assert f'data-kb-insert="[Export invoices]({BASE}/help/articles/' in html
    assert 'data-kb-target="id_body"' in html


def test_link_picker_never_echoes_a_made_up_target(
    agent: User, articles: dict[str, Article]
) -> None:
    html = (
        _client(agent)
        .get(reverse("web:kb_link_picker"), {"kb_q": "invoices", "target": '"><script>'})
        .content.decode()
    )

    assert "<script>" not in html
    assert 'data-kb-target="id_body"' in html


def test_macro_editor_has_the_article_link_picker(agent: User) -> None:
    html = _client(agent).get(reverse("web:macro_new")).content.decode()

    assert "Insert article link" in html
    assert reverse("web:kb_link_picker") in html


def test_a_macro_with_an_article_link_puts_it_into_the_reply(
    agent: User, ticket: Ticket, articles: dict[str, Article]
) -> None:
    link = f"[Reset your password]({BASE}/help/articles/reset-password/)"
    client = _client(agent)
    client.post(
        reverse("web:macro_new"),
        {"name": "Password reset", "body": f"Hi, this explains it: {link}", "public": "1"},
    )
    macro = Macro.objects.get(name="Password reset")

    preview = client.get(
        reverse("web:ticket_macro_preview", args=[ticket.number]),
        {"macro_id": str(macro.pk), "body": ""},
        headers=HTMX,
    ).content.decode()

    assert f"{BASE}/help/articles/reset-password/" in preview


def test_markdown_link_keeps_brackets_in_titles_from_breaking_the_link() -> None:
    assert (
        markdown_link("Plans [beta]", "https://x.test/a/") == r"[Plans \[beta\]](https://x.test/a/)"
    )


def test_an_inserted_link_opens_that_version_in_the_help_center(
    agent: User, team: Any, articles: dict[str, Article]
) -> None:
    ticket = desk.ticket_create(
        actor=agent,
        subject="忘记密码",
        description="怎么重置密码？",
        requester_email="wang@acme.test",
        team=team,
    )
    html = _suggestions(agent, ticket).content.decode()
    url = re.search(rf'data-kb-insert="\[重置密码\]\({BASE}(/help/[^)"]+)\)"', html)

    assert url is not None
    page = Client().get(url.group(1).replace("&amp;", "&"))

    assert page.status_code == 200
    assert "重置密码" in page.content.decode()
