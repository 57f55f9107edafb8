"""The journeys a person makes, in a real browser (issue: foundation, point 13)."""

from __future__ import annotations

import re

import pytest

from tend.desk import services
from tend.desk.models import Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 128


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def log_in(page, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto("/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "correct horse battery")
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")


def test_agent_answers_from_the_queue_with_a_macro_and_asks_to_confirm(
    page, agent, team, media, deliver_mail
):
    ticket = services.ticket_create(
        actor=None,
        subject="Export button does nothing",
        description="Clicking export on the invoices page has no effect.",
        requester_email="li.wei@acme.test",
        requester_name="Li Wei",
        team=team,
    )
    macro = services.macro_create(
        actor=agent,
        name="Send the workaround",
        body="Hi {{ requester.first_name }}, please use Reports → Export while we fix #{{ ticket.number }}.",
        actions={"priority": "high", "add_tags": ["export"]},
        shared=False,
    )

    log_in(page, "alice")
    page.goto("/queues/unassigned/")
    page.click(f"text={ticket.subject}")
    page.wait_for_selector("#composer-body")
    assert f"/tickets/{ticket.number}/" in page.url

    page.select_option("#macro-picker", value=str(macro.pk))
    page.wait_for_selector("#macro-preview-box")
    preview = page.inner_text("#macro-preview-box")
    assert "export" in preview.lower()  # the tag change is shown before sending
    page.wait_for_function(
        "document.querySelector('#composer-body').value.includes('Hi Li, please use Reports')"
    )

    page.click("button[name=action][value=confirm]")
    page.wait_for_selector("article.comment.public >> text=please use Reports")

    ticket.refresh_from_db()
    assert ticket.status == Status.PENDING
    assert ticket.priority == "high"
    assert ticket.confirmation_requested_at is not None
    assert list(ticket.tags.values_list("name", flat=True)) == ["export"]
    # Customer mail is queued and sent by a task; send it now.
    confirm_mails = [m for m in deliver_mail() if "/support/confirm/" in m.body]
    assert len(confirm_mails) == 1 and confirm_mails[0].to == ["li.wei@acme.test"]


def test_customer_submits_the_support_form_with_an_attachment(page, media, monkeypatch, tmp_path):
    # The form refuses posts faster than a person could type; the browser is faster.
    monkeypatch.setattr("tend.portal.forms.MIN_FILL_SECONDS", 0)
    screenshot = tmp_path / "screenshot.png"
    screenshot.write_bytes(PNG)

    page.goto("/support/")
    page.fill("input[name=name]", "王芳")
    page.fill("input[name=email]", "wang.fang@example.cn")
    page.fill("input[name=subject]", "无法申请退款")
    page.fill("textarea[name=description]", "我在账单页面点击退款按钮没有反应。")
    page.set_input_files("input[name=attachment]", str(screenshot))
    page.click("form.portal-form button[type=submit]")

    page.wait_for_selector("text=/#\\d+/")
    ticket = Ticket.objects.get()
    assert f"#{ticket.number}" in page.inner_text("main")
    assert ticket.channel == "web" and ticket.subject == "无法申请退款"
    assert ticket.requester.email == "wang.fang@example.cn" and ticket.requester.name == "王芳"
    assert ticket.attachments.get().filename == "screenshot.png"


def test_switching_to_simplified_chinese_shows_chinese_on_the_queue(page, agent):
    log_in(page, "alice")
    page.goto("/queues/open/")
    assert "All open" in page.inner_text("body")
    page.click("details.user-menu summary")
    page.click("form.lang-switch button[lang=zh-hans]")
    page.wait_for_function("document.documentElement.lang.startsWith('zh')")
    body = page.inner_text("body")
    assert "全部未解决" in body or re.search(r"[\u4e00-\u9fff]{2,}", body)
    agent.refresh_from_db()
    assert agent.language == "zh-hans"
