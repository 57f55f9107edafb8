"""Customer email for tests: one builder, so every test writes mail the same way."""

from __future__ import annotations

from email.message import EmailMessage


def customer_email(
    body: str = "My printer is on fire.",
    *,
    subject: str = "Printer",
    sender: str = "Ann <ann@example.com>",
    cc: str = "",
    message_id: str = "<m1@example.com>",
    in_reply_to: str = "",
    headers: dict[str, str] | None = None,
) -> EmailMessage:
    """A plain-text message to support@tend.test; a reply when ``in_reply_to`` is set."""
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@tend.test"
    if cc:
        msg["Cc"] = cc
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    if in_reply_to:
        msg["In-Reply-To"] = in_reply_to
        msg["References"] = in_reply_to
    for name, value in (headers or {}).items():
        msg[name] = value
    msg.set_content(body)
    return msg
