"""POST /ingest/email: raw messages from MTAs are kept at once and become tickets once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tend.api.services import token_create
from tend.desk.models import Ticket
from tend.mail.models import InboundMessage, Mailbox
from tend.mail.tests.jobs import Jobs, recorded_jobs

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


@pytest.fixture
def jobs() -> Iterator[Jobs]:
    with recorded_jobs() as recorded:
        yield recorded


def _post(client: Any, token: str, raw: bytes = RAW, query: str = "") -> Any:
    return client.post(
        f"/ingest/email{query}",
        raw,
        content_type="message/rfc822",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )


@pytest.mark.django_db
def test_message_is_kept_and_answered_before_processing_then_becomes_one_ticket(
    client: Any,
    token: str,
    jobs: Jobs,
    django_capture_on_commit_callbacks: Callable[..., Any],
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, token)

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "received" and body["ticket"] is None
    assert Ticket.objects.count() == 0  # not processed in the request
    assert jobs.args("tend.mail.tasks.process_inbound") == [(body["id"],)]

    assert jobs.run() == ["processed"]

    ticket = Ticket.objects.get()
    assert ticket.subject == "无法申请退款" and ticket.channel == "email"
    assert "退款按钮" in ticket.comments.get().body

    # The MTA delivers again (it never saw our answer): same row, no new job or ticket.
    with django_capture_on_commit_callbacks(execute=True):
        again = _post(client, token)
    assert again.status_code == 202
    assert again.json() == {"id": body["id"], "status": "processed", "ticket": ticket.number}
    assert jobs.names() == []
    assert InboundMessage.objects.count() == 1 and Ticket.objects.count() == 1


@pytest.mark.django_db
def test_envelope_recipient_picks_the_mailbox(client: Any, token: str, jobs: Jobs) -> None:
    Mailbox.objects.create(address="support@tend.test")
    sales = Mailbox.objects.create(address="Sales@Tend.test")

    # Bcc'd to sales: only the envelope knows.
    response = _post(client, token, query="?recipient=sales@tend.test")

    assert InboundMessage.objects.get(pk=response.json()["id"]).mailbox == sales


@pytest.mark.django_db
def test_ingest_refuses_missing_token_empty_body_and_readonly_users(client, token, readonly):  # type: ignore[no-untyped-def]
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
    assert InboundMessage.objects.count() == 0
