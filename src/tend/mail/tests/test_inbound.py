from email.message import EmailMessage

import pytest
from django.test import override_settings

from tend.desk.models import Comment, Status, Ticket
from tend.mail.models import InboundMessage, InboundStatus, MessageReference
from tend.mail.services import NEEDS_REVIEW_TAG, inbound_process, inbound_receive, inbound_store
from tend.mail.tests.factories import customer_email

pytestmark = pytest.mark.django_db


def _mail(
    body: str = "My printer is on fire.",
    *,
    subject: str = "Printer",
    sender: str = "Ann <ann@example.com>",
    message_id: str = "<m1@example.com>",
    in_reply_to: str = "",
) -> EmailMessage:
    return customer_email(
        body, subject=subject, sender=sender, message_id=message_id, in_reply_to=in_reply_to
    )


def test_new_message_opens_ticket_and_keeps_raw() -> None:
    raw = _mail().as_bytes()
    inbound = inbound_receive(raw=raw, via="imap")
    assert inbound.status == InboundStatus.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.subject == "Printer"
    assert ticket.channel == "email"
    assert ticket.requester.email == "ann@example.com"
    assert "My printer is on fire." in ticket.comments.get().body
    with inbound.raw.open("rb") as fh:
        assert fh.read() == raw
    assert MessageReference.objects.get().ticket == ticket


def test_same_raw_twice_by_any_path_gives_one_ticket() -> None:
    raw = _mail().as_bytes()
    first = inbound_receive(raw=raw, via="imap")
    second = inbound_receive(raw=raw, via="http")
    assert first.pk == second.pk
    assert InboundMessage.objects.count() == 1
    assert Ticket.objects.count() == 1


def test_processing_twice_adds_one_comment() -> None:
    inbound_receive(raw=_mail().as_bytes(), via="smtp")
    reply = inbound_store(
        raw=_mail(
            "Still on fire", message_id="<m2@example.com>", in_reply_to="<m1@example.com>"
        ).as_bytes(),
        via="imap",
    )
    inbound_process(message_id=reply.pk)
    inbound_process(message_id=reply.pk)
    assert Comment.objects.filter(body__contains="Still on fire").count() == 1


def test_crash_during_processing_leaves_message_received_and_retry_works(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    inbound = inbound_store(raw=_mail().as_bytes(), via="imap")

    def boom(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk full")

    # Simulate a crash after the ticket is written but before the message is marked done.
    monkeypatch.setattr("tend.mail.services.reference_add", boom)
    with pytest.raises(RuntimeError):
        inbound_process(message_id=inbound.pk)
    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.RECEIVED
    assert Ticket.objects.count() == 0
    monkeypatch.undo()
    inbound_process(message_id=inbound.pk)
    assert Ticket.objects.count() == 1


def test_reply_with_in_reply_to_joins_ticket_with_quote_trimmed() -> None:
    inbound_receive(raw=_mail().as_bytes(), via="imap")
    body = "Now it smokes.\n\nOn Mon, 2 Mar 2026, Support wrote:\n> Turn it off."
    inbound_receive(
        raw=_mail(
            body,
            subject="Re: Printer",
            message_id="<m2@example.com>",
            in_reply_to="<m1@example.com>",
        ).as_bytes(),
        via="imap",
    )
    ticket = Ticket.objects.get()
    last = ticket.comments.order_by("created_at", "pk").last()
    assert last is not None and last.body == "Now it smokes."


def test_subject_token_joins_ticket_of_same_requester_only() -> None:
    inbound_receive(raw=_mail().as_bytes(), via="imap")
    ticket = Ticket.objects.get()
    token = f"Re: [#{ticket.number}] Printer"
    inbound_receive(raw=_mail("more", subject=token, message_id="<m2@x>").as_bytes(), via="imap")
    assert Ticket.objects.count() == 1
    assert ticket.comments.count() == 2
    stranger = _mail("spam", subject=token, sender="eve@evil.test", message_id="<m3@x>")
    inbound_receive(raw=stranger.as_bytes(), via="imap")
    assert Ticket.objects.count() == 2


def test_unrelated_message_starts_new_ticket() -> None:
    inbound_receive(raw=_mail().as_bytes(), via="imap")
    inbound_receive(raw=_mail("other", subject="Other", message_id="<m9@x>").as_bytes(), via="imap")
    assert Ticket.objects.count() == 2


def test_same_message_id_different_content_is_kept_and_flagged() -> None:
    inbound_receive(raw=_mail().as_bytes(), via="imap")
    inbound_receive(raw=_mail("a different body").as_bytes(), via="imap")
    ticket = Ticket.objects.get()
    assert ticket.comments.count() == 2
    assert ticket.comments.filter(body__contains="a different body").exists()
    assert ticket.tags.filter(name=NEEDS_REVIEW_TAG).exists()


def test_attachment_saved_and_oversized_one_noted() -> None:
    msg = _mail("see files")
    msg.add_attachment(b"%PDF-1.4 tiny", maintype="application", subtype="pdf", filename="a.pdf")
    msg.add_attachment(b"x" * 2000, maintype="text", subtype="plain", filename="big.txt")
    with override_settings(MAX_ATTACHMENT_BYTES=1000):
        inbound_receive(raw=msg.as_bytes(), via="imap")
    ticket = Ticket.objects.get()
    assert list(ticket.attachments.values_list("filename", flat=True)) == ["a.pdf"]
    body = ticket.comments.get().body
    assert "see files" in body and "big.txt" in body


def test_gbk_labelled_gb2312_message_becomes_readable_ticket() -> None:
    raw = (
        b"From: =?gb2312?B?" + __import__("base64").b64encode("王镕".encode("gbk")) + b"?= "
        b"<wang@example.cn>\r\nSubject: =?gb2312?B?"
        + __import__("base64").b64encode("打印机坏了".encode("gbk"))
        + b"?=\r\nMessage-ID: <cn1@example.cn>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        + "镕的打印机坏了".encode("gbk")
    )
    inbound_receive(raw=raw, via="smtp")
    ticket = Ticket.objects.get()
    assert ticket.subject == "打印机坏了"
    assert ticket.requester.name == "王镕"
    assert "镕的打印机坏了" in ticket.comments.get().body


def test_garbage_bytes_become_flagged_ticket_with_raw_kept() -> None:
    raw = b"\x00\x01\xff\xfe not a mail \x80\x81"
    inbound = inbound_receive(raw=raw, via="http")
    assert inbound.status == InboundStatus.PROCESSED
    ticket = Ticket.objects.get()
    assert ticket.status == Status.NEW
    assert ticket.tags.filter(name=NEEDS_REVIEW_TAG).exists()
    assert inbound.ticket == ticket and inbound.error
    with inbound.raw.open("rb") as fh:
        assert fh.read() == raw


def test_reply_html_is_shown_without_its_quoted_history() -> None:
    inbound_receive(raw=_mail().as_bytes(), via="imap")
    quoted = _mail(
        "Fixed.\n\nOn Mon, Support wrote:\n> old",
        message_id="<m2@x>",
        in_reply_to="<m1@example.com>",
    )
    quoted.add_alternative("<p>Fixed.</p><blockquote>old</blockquote>", subtype="html")
    fresh = _mail("Thanks!", message_id="<m3@x>", in_reply_to="<m1@example.com>")
    fresh.add_alternative("<p>Thanks!<script>x()</script></p>", subtype="html")
    inbound_receive(raw=quoted.as_bytes(), via="imap")
    inbound_receive(raw=fresh.as_bytes(), via="imap")
    ticket = Ticket.objects.get()
    shown = ticket.comments.get(body="Fixed.").body_html
    assert "Fixed." in shown and "old" not in shown
    shown = ticket.comments.get(body="Thanks!").body_html
    assert "Thanks!" in shown and "<script" not in shown


def test_message_the_desk_refuses_becomes_flagged_ticket(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.core.exceptions import ValidationError

    def refuse(**kwargs: object) -> None:
        raise ValidationError("nope")

    inbound = inbound_store(raw=_mail().as_bytes(), via="imap")
    monkeypatch.setattr("tend.mail.services._process_parsed", lambda *a: refuse())
    inbound = inbound_process(message_id=inbound.pk)
    assert inbound.status == InboundStatus.PROCESSED and inbound.error == "nope"
    assert Ticket.objects.get().tags.filter(name=NEEDS_REVIEW_TAG).exists()


def test_mark_failed_keeps_message_for_admin() -> None:
    from tend.mail.services import inbound_mark_failed

    inbound = inbound_store(raw=_mail().as_bytes(), via="imap")
    inbound = inbound_mark_failed(message_id=inbound.pk, error="db down")
    assert inbound.status == InboundStatus.FAILED
    # A later successful retry still processes it.
    assert inbound_process(message_id=inbound.pk).status == InboundStatus.PROCESSED
