"""Acknowledgements: sent to people, never to robots, lists or Tend itself, at most 3 an hour."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.utils import timezone

from tend.desk import services as desk
from tend.desk.models import Channel, Ticket
from tend.mail.autoreply import acknowledge, customer_language, is_automatic, render_template
from tend.mail.models import Mailbox, OutboundKind, OutboundMessage
from tend.mail.outbound import outbound_send
from tend.mail.parsing import ParsedMessage, parse_message
from tend.mail.services import inbound_receive
from tend.mail.tests.factories import customer_email
from tend.mail.tests.smtpserver import SMTPServer, smtp_server, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings: Any) -> Iterator[SMTPServer]:
    with smtp_server() as server:
        settings.MAILERS = {"default": server.mailer}
        yield server


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox.objects.create(
        address="support@tend.test", name="Acme Support", auto_acknowledge=True
    )


def incoming(
    *,
    sender: str = "Ann <ann@example.com>",
    subject: str = "Printer",
    body: str = "My printer is on fire.",
    message_id: str = "<m1@example.com>",
    headers: dict[str, str] | None = None,
) -> ParsedMessage:
    return parse_message(
        customer_email(
            body, sender=sender, subject=subject, message_id=message_id, headers=headers
        ).as_bytes()
    )


def ticket_for(parsed: ParsedMessage) -> Ticket:
    """The ticket the message opened (as the inbound side makes it)."""
    return desk.ticket_create(
        actor=None,
        subject=parsed.subject,
        description=parsed.text,
        requester_email=parsed.from_email,
        requester_name=parsed.from_name,
        channel=Channel.EMAIL,
    )


def ack(mailbox: Mailbox | None, parsed: ParsedMessage) -> OutboundMessage | None:
    return acknowledge(ticket=ticket_for(parsed), mailbox=mailbox, parsed=parsed)


def test_a_persons_new_ticket_is_acknowledged_as_an_automatic_reply(
    smtp: SMTPServer, mailbox: Mailbox
) -> None:
    parsed = incoming()
    ticket = ticket_for(parsed)

    row = acknowledge(ticket=ticket, mailbox=mailbox, parsed=parsed)

    assert row is not None
    assert row.kind == OutboundKind.ACKNOWLEDGEMENT and row.automatic
    assert row.to_email == "ann@example.com" and row.cc == []
    outbound_send(outbound_id=row.pk)
    [sent] = smtp.messages
    assert sent["Auto-Submitted"] == "auto-replied"
    assert sent["From"] == "Acme Support <support@tend.test>"
    assert sent["In-Reply-To"] == "<m1@example.com>"
    assert sent["Subject"] == f"[#{ticket.number}] Re: Printer"
    body = text_of(sent)
    assert f"#{ticket.number}" in body and "Ann" in body


def test_no_acknowledgement_unless_the_mailbox_asks_for_it(mailbox: Mailbox) -> None:
    mailbox.auto_acknowledge = False
    mailbox.save()
    assert ack(mailbox, incoming()) is None
    assert ack(None, incoming(message_id="<m2@example.com>")) is None
    assert not OutboundMessage.objects.exists()


@pytest.mark.parametrize(
    "header, value",
    [
        ("Auto-Submitted", "auto-replied"),
        ("Auto-Submitted", "auto-generated"),
        ("Auto-Submitted", "auto-notified; owner-email=x@example.com"),
        ("Precedence", "bulk"),
        ("Precedence", "junk"),
        ("Precedence", "list"),
        ("X-Autoreply", "yes"),
        ("X-Autorespond", "Out of office"),
        ("X-Auto-Response-Suppress", "All"),
        ("X-Auto-Response-Suppress", "OOF, AutoReply"),
        ("List-Id", "Users <users.lists.example.com>"),
        ("List-Unsubscribe", "<mailto:leave@lists.example.com>"),
        ("Return-Path", "<>"),
        ("X-Failed-Recipients", "ann@example.com"),
    ],
)
def test_robots_and_bulk_mail_are_never_acknowledged(
    mailbox: Mailbox, header: str, value: str
) -> None:
    parsed = incoming(headers={header: value})
    assert is_automatic(parsed)
    assert ack(mailbox, parsed) is None


def test_auto_submitted_no_is_a_person(mailbox: Mailbox) -> None:
    parsed = incoming(headers={"Auto-Submitted": "no", "Precedence": "first-class"})
    assert not is_automatic(parsed)
    assert ack(mailbox, parsed) is not None


@pytest.mark.parametrize(
    "sender",
    [
        "MAILER-DAEMON@mx.example.com",
        "Mail Delivery System <mailer-daemon@example.com>",
        "postmaster@example.com",
        "noreply@example.com",
        "no-reply@example.com",
        "No_Reply@example.com",
        "do-not-reply@example.com",
        "donotreply@example.com",
        "noreply+bounce-123@example.com",
        "notifications-noreply@example.com",
        "bounces+abc=example.com@sendgrid.example",
    ],
)
def test_no_reply_addresses_are_never_acknowledged(mailbox: Mailbox, sender: str) -> None:
    parsed = incoming(sender=sender)
    assert is_automatic(parsed)
    assert ack(mailbox, parsed) is None


@pytest.mark.parametrize("sender", ["noreen@example.com", "daemon.fan@example.com"])
def test_people_with_similar_names_are_acknowledged(mailbox: Mailbox, sender: str) -> None:
    assert ack(mailbox, incoming(sender=sender)) is not None


def test_tends_own_addresses_are_never_acknowledged(mailbox: Mailbox) -> None:
    Mailbox.objects.create(address="Sales@Tend.test", name="Sales")
    assert is_automatic(incoming(sender="Acme Support <SUPPORT@tend.test>"))
    assert ack(mailbox, incoming(sender="sales@tend.test")) is None


def test_at_most_three_automatic_mails_per_sender_per_hour(mailbox: Mailbox) -> None:
    rows = [ack(mailbox, incoming(message_id=f"<m{n}@example.com>")) for n in range(5)]
    assert [row is not None for row in rows] == [True, True, True, False, False]
    # Someone else is not limited by Ann's mail.
    assert ack(mailbox, incoming(sender="bob@example.com")) is not None

    # An hour later Ann is acknowledged again.
    OutboundMessage.objects.filter(to_email="ann@example.com").update(
        created_at=timezone.now() - timedelta(minutes=61)
    )
    assert ack(mailbox, incoming(message_id="<m9@example.com>")) is not None


def test_custom_template_fills_placeholders_and_survives_bad_ones(mailbox: Mailbox) -> None:
    mailbox.auto_acknowledge_subject = "Got it: {subject} {oops"
    mailbox.auto_acknowledge_body = (
        "Hi {name}, ticket {number} ({subject}). {unknown} {0} {subject.__class__} }{"
    )
    mailbox.save()
    parsed = incoming()
    row = ack(mailbox, parsed)
    assert row is not None
    number = Ticket.objects.get().number
    assert row.subject == f"[#{number}] Got it: Printer {{oops"
    assert row.body == (
        f"Hi Ann, ticket {number} (Printer). {{unknown}} {{0}} {{subject.__class__}} }}{{"
    )


def test_placeholder_rendering() -> None:
    values = {"number": "7", "subject": "S", "name": "N"}
    assert render_template("{number}/{subject}/{name}", values) == "7/S/N"
    assert render_template("{{number}} {", values) == "{7} {"


def test_chinese_mail_is_acknowledged_in_chinese(mailbox: Mailbox) -> None:
    parsed = incoming(subject="打印机坏了", body="我的打印机不能用了。")
    assert customer_language(parsed) == "zh-hans"
    row = ack(mailbox, parsed)
    assert row is not None
    assert "我们已收到" in row.body
    # Japanese uses Han characters too, but also kana: the site language then.
    assert customer_language(incoming(subject="プリンター故障", body="印刷できません")) == "en"
    assert customer_language(incoming()) == "en"


def test_mail_opening_a_ticket_is_acknowledged_once_and_answers_are_not(
    smtp: SMTPServer, mailbox: Mailbox
) -> None:
    def raw(message_id: str, in_reply_to: str = "", **headers: str) -> bytes:
        msg = EmailMessage()
        msg["From"] = "Ann <ann@example.com>"
        msg["To"] = "support@tend.test"
        msg["Subject"] = "Printer"
        msg["Message-ID"] = message_id
        if in_reply_to:
            msg["In-Reply-To"] = in_reply_to
        for name, value in headers.items():
            msg[name.replace("_", "-")] = value
        msg.set_content("My printer is on fire.")
        return msg.as_bytes()

    first = inbound_receive(raw=raw("<m1@example.com>"), via="smtp")
    inbound_receive(raw=raw("<m1@example.com>"), via="imap")  # the same mail again
    inbound_receive(raw=raw("<m2@example.com>", in_reply_to="<m1@example.com>"), via="smtp")
    inbound_receive(raw=raw("<m3@example.com>", Auto_Submitted="auto-replied"), via="smtp")

    [row] = OutboundMessage.objects.all()
    assert row.kind == OutboundKind.ACKNOWLEDGEMENT and row.ticket == first.ticket
    assert outbound_send(outbound_id=row.pk).status == "sent"
    assert smtp.messages[0]["Auto-Submitted"] == "auto-replied"
    assert smtp.messages[0]["In-Reply-To"] == "<m1@example.com>"
