"""The ticket page in a real browser: keyboard shortcuts, macro preview, and the
collision warning arriving without losing the draft (htmx + ticket.js)."""

from __future__ import annotations

import pytest

from conftest import shot
from tend.desk import services
from tend.desk.models import Comment, Macro, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def ticket(agent, team, settings, tmp_path) -> Ticket:  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return services.ticket_create(
        actor=agent,
        subject="Cannot export invoices",
        description="The export button does nothing.",
        requester_email="li.wei@acme.test",
        requester_name="Li Wei",
        team=team,
    )


def test_keyboard_reply_and_ctrl_enter_send(signed_in, agent, ticket):
    page = signed_in(agent)
    page.goto(f"/tickets/{ticket.number}/")
    shot(page, "ticket")

    page.keyboard.press("n")
    assert page.evaluate("document.activeElement.id") == "composer-body"
    assert "mode-note" in page.get_attribute("#composer-form", "class")
    page.keyboard.type("Looked at the logs.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("article.comment.note >> text=Looked at the logs.")
    shot(page, "after-note")

    # Focus stays in the fresh composer after sending; Escape leaves it, then "r".
    page.keyboard.press("Escape")
    page.keyboard.press("r")
    assert "mode-public" in page.get_attribute("#composer-form", "class")
    page.keyboard.type("Fixed now.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("article.comment.public >> text=Fixed now.")
    assert Comment.objects.get(body="Fixed now.").public is True


def test_macro_preview_fills_the_composer_and_sending_applies_it(signed_in, agent, ticket):
    macro = services.macro_create(
        actor=agent,
        name="Need logs",
        body="Hi {{ requester.first_name }}, please send logs.",
        actions={"priority": "high"},
        shared=False,
    )
    page = signed_in(agent)
    page.goto(f"/tickets/{ticket.number}/")

    page.keyboard.press("m")
    assert page.evaluate("document.activeElement.id") == "macro-picker"
    page.keyboard.press("Escape")  # close the native list; pick the option directly
    page.select_option("#macro-picker", str(macro.pk))
    page.wait_for_selector(".macro-preview")
    assert page.input_value("#composer-body") == "Hi Li, please send logs."
    assert "High" in page.inner_text(".macro-preview")
    shot(page, "macro-preview")

    page.click("#composer-form button[data-default-submit]")
    page.wait_for_selector("article.comment >> text=Hi Li, please send logs.")
    assert Ticket.objects.get(pk=ticket.pk).priority == "high"
    assert Macro.objects.get(pk=macro.pk).usage_count == 1


def test_collision_warning_keeps_the_draft_until_send_anyway(signed_in, agent, teammate, ticket):
    page = signed_in(agent)
    page.goto(f"/tickets/{ticket.number}/")
    page.fill("#composer-body", "Try clearing your cache.")
    services.comment_add_agent(
        actor=teammate, ticket=Ticket.objects.get(pk=ticket.pk), body="Fixed it, please retry."
    )

    page.click("#composer-form button[data-default-submit]")
    page.wait_for_selector("#conflict-box")
    assert "Fixed it, please retry." in page.inner_text("#conflict-box")
    assert page.input_value("#composer-body") == "Try clearing your cache."
    assert not Comment.objects.filter(body="Try clearing your cache.").exists()
    shot(page, "conflict")

    page.click("#conflict-box button[name=confirm_version]")
    page.wait_for_selector("article.comment >> text=Try clearing your cache.")
    assert Comment.objects.filter(body="Try clearing your cache.").count() == 1
    assert page.input_value("#composer-body") == ""
