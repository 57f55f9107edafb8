"""POST /ingest/email: raw messages from MTAs become tickets, once."""

from __future__ import annotations

import pytest

from tend.api.services import token_create
from tend.desk.models import Ticket
from tend.mail.models import InboundMessage

RAW = (
    b"From: =?utf-8?b?546L6Iqz?= <wang.fang@example.cn>\r\n"
    b"To: support@tend.test\r\n"
    b"Subject: =?gb2312?b?zt63qMnqx+vNy7/u?=\r\n"  # 无法申请退款 in GB2312
    b"Message-ID: <abc123@example.cn>\r\n"
    b"Content-Type: text/plain; charset=gb2312\r\n"
    b"\r\n"
) + "我在账单页面点击退款按钮没有反应。\r\n".encode("gb18030")


@pytest.fixture
def token(agent, settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path
    return token_create(user=agent, name="mta")[1]


@pytest.mark.django_db
def test_a_raw_message_becomes_one_ticket_even_when_posted_twice(client, token):
    for _ in range(2):
        response = client.post(
            "/ingest/email",
            RAW,
            content_type="message/rfc822",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert response.status_code == 202
    ticket = Ticket.objects.get()
    assert response.json()["ticket"] == ticket.number
    assert ticket.subject == "无法申请退款" and ticket.channel == "email"
    assert "退款按钮" in ticket.comments.get().body
    assert InboundMessage.objects.count() == 1


@pytest.mark.django_db
def test_ingest_refuses_missing_token_empty_body_and_readonly_users(client, token, readonly):
    assert client.post("/ingest/email", RAW, content_type="message/rfc822").status_code == 401
    empty = client.post(
        "/ingest/email", b"", content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert empty.status_code == 400 and "detail" in empty.json()
    ro_token = token_create(user=readonly)[1]
    denied = client.post(
        "/ingest/email", RAW, content_type="message/rfc822", HTTP_AUTHORIZATION=f"Bearer {ro_token}"
    )
    assert denied.status_code == 403
    assert Ticket.objects.count() == 0
