"""Replies leave as real SMTP mail (aiosmtpd on loopback), threaded, retried, sent once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone

from tend.core.models import User
from tend.desk import services as desk
from tend.desk.models import Channel, Comment, Ticket
from tend.mail.models import (
    InboundMessage,
    Mailbox,
    MessageReference,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
    Security,
)
from tend.mail.outbound import (
    MAX_ATTEMPTS,
    outbound_queue,
    outbound_send,
    outbound_send_due,
    retry_delay,
    subject_with_token,
)
from tend.mail.selectors import outbound_for_comments
from tend.mail.services import inbound_receive
from tend.mail.tests.factories import customer_email
from tend.mail.tests.smtpserver import SMTPServer, free_port, smtp_server, text_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def smtp(settings: Any) -> Iterator[SMTPServer]:
    """A real SMTP server; the global mailer (TEND_EMAIL_URL) points at it."""
    with smtp_server() as server:
        settings.MAILERS = {"default": server.mailer}
        yield server


@pytest.fixture
def mailbox() -> Mailbox:
    return Mailbox.objects.create(address="support@tend.test", name="Acme Support")


def customer_mail(body: str = "My printer is on fire.", **fields: str) -> bytes:
    return customer_email(body, **fields).as_bytes()


def email_ticket(mailbox: Mailbox, raw: bytes | None = None) -> Ticket:
    """A ticket the customer opened by writing to ``mailbox``."""
    inbound = inbound_receive(raw=raw or customer_mail(), via="smtp")
    # Which mailbox received it (the inbound side records it; set it here either way).
    InboundMessage.objects.filter(pk=inbound.pk).update(mailbox=mailbox)
    assert inbound.ticket is not None
    return inbound.ticket


def agent_reply(
    actor: User, ticket: Ticket, body: str = "Try turning it off.", **kw: Any
) -> Comment:
    comment = desk.comment_add_agent(actor=actor, ticket=ticket, body=body, **kw)
    return comment


def queued(comment: Comment) -> OutboundMessage:
    return OutboundMessage.objects.get(comment=comment)


def make_due(row: OutboundMessage) -> None:
    OutboundMessage.objects.filter(pk=row.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


class TestReply:
    def test_reply_goes_out_from_the_mailbox_with_thread_headers_and_ccs(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(
            mailbox, customer_mail(cc="Bob <Bob@Example.com>, support@tend.test, ann@example.com")
        )
        comment = agent_reply(agent, ticket)
        row = queued(comment)
        assert row.status == OutboundStatus.QUEUED and smtp.handler.received == []

        row = outbound_send(outbound_id=row.pk)

        assert row.status == OutboundStatus.SENT and row.sent_at is not None
        assert row.attempts == 1
        [received] = smtp.handler.received
        assert sorted(received.rcpt_tos) == ["ann@example.com", "bob@example.com"]
        sent = received.message
        assert sent["From"] == "Acme Support <support@tend.test>"
        assert sent["To"] == "ann@example.com"
        assert sent["Cc"] == "bob@example.com"  # not Tend itself, not the requester twice
        assert sent["Subject"] == f"[#{ticket.number}] Printer"
        assert sent["Message-ID"] == row.message_id
        assert row.message_id.endswith("@tend.test>")
        assert sent["In-Reply-To"] == "<m1@example.com>"
        assert sent["References"].split()[0] == "<m1@example.com>"
        assert sent["Auto-Submitted"] is None  # a person wrote it
        assert "Try turning it off." in text_of(sent)

    def test_customer_answer_to_the_sent_mail_joins_the_ticket(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox)
        row = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)

        # The customer's client changed the subject and dropped the token.
        answer = customer_mail(
            "Done, it works.",
            subject="thanks!",
            message_id="<m2@example.com>",
            in_reply_to=row.message_id,
        )
        inbound = inbound_receive(raw=answer, via="imap")

        assert inbound.ticket == ticket
        assert Ticket.objects.count() == 1
        assert ticket.comments.last().body.startswith("Done, it works.")  # type: ignore[union-attr]
        assert MessageReference.objects.get(message_id=row.message_id).ticket == ticket

    def test_later_reply_threads_under_the_customers_latest_mail(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox)
        first = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)
        inbound_receive(
            raw=customer_mail(
                "Still broken", message_id="<m2@example.com>", in_reply_to=first.message_id
            ),
            via="smtp",
        )
        second = outbound_send(outbound_id=queued(agent_reply(agent, ticket, "Try again")).pk)

        sent = smtp.messages[-1]
        assert sent["In-Reply-To"] == "<m2@example.com>"
        refs = sent["References"].split()
        assert refs[0] == "<m1@example.com>" and refs[-1] == "<m2@example.com>"
        assert first.message_id in refs
        assert second.subject.count(f"[#{ticket.number}]") == 1

    def test_a_ccd_colleague_who_answers_stays_in_copy(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox, customer_mail(cc="bob@example.com"))
        first = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)
        answer = customer_mail(
            "Ann is out, I can help.",
            sender="Bob <bob@example.com>",
            cc="ann@example.com, noreply@example.com, carol@example.com",
            message_id="<b1@example.com>",
            in_reply_to=first.message_id,
        )
        assert inbound_receive(raw=answer, via="smtp").ticket == ticket

        row = outbound_send(outbound_id=queued(agent_reply(agent, ticket, "Thanks Bob")).pk)

        assert row.to_email == "ann@example.com"
        assert row.cc == ["bob@example.com", "carol@example.com"]
        assert smtp.messages[-1]["In-Reply-To"] == "<b1@example.com>"

    def test_internal_note_is_not_mailed(self, mailbox: Mailbox, agent: User) -> None:
        ticket = email_ticket(mailbox)
        agent_reply(agent, ticket, "Probably SSO", public=False)
        assert not OutboundMessage.objects.exists()

    def test_rolled_back_reply_leaves_no_mail(self, mailbox: Mailbox, agent: User) -> None:
        ticket = email_ticket(mailbox)
        with pytest.raises(RuntimeError), transaction.atomic():
            agent_reply(agent, ticket)
            raise RuntimeError("the request failed after the reply was written")
        assert not OutboundMessage.objects.exists()

    def test_attachments_of_the_reply_are_sent(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox)
        upload = SimpleUploadedFile("steps.txt", b"1. unplug\n2. wait", content_type="text/plain")
        comment = agent_reply(agent, ticket, attachments=[upload])

        outbound_send(outbound_id=queued(comment).pk)

        [part] = list(smtp.messages[0].iter_attachments())
        assert part.get_filename() == "steps.txt"
        assert part.get_content().split() == ["1.", "unplug", "2.", "wait"]

    def test_confirmation_request_is_marked_auto_generated(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox)
        desk.ticket_request_confirmation(actor=agent, ticket=ticket)
        row = OutboundMessage.objects.get(kind=OutboundKind.NOTIFICATION)

        outbound_send(outbound_id=row.pk)

        sent = smtp.messages[0]
        assert sent["Auto-Submitted"] == "auto-generated"
        assert sent["Subject"].count(f"[#{ticket.number}]") == 1
        assert "/support/confirm/" in text_of(sent)

    def test_ticket_opened_on_the_web_mails_from_the_default_mailbox(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = desk.ticket_create(
            actor=None, subject="Login", description="Cannot log in", requester_email="li@acme.cn"
        )
        row = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)

        assert row.status == OutboundStatus.SENT
        assert smtp.messages[0]["From"] == "Acme Support <support@tend.test>"

    def test_without_any_mailbox_mail_comes_from_the_default_address(
        self, smtp: SMTPServer, agent: User, settings: Any
    ) -> None:
        settings.DEFAULT_FROM_EMAIL = "Tend <help@tend.example>"
        ticket = desk.ticket_create(
            actor=None, subject="Login", description="Cannot log in", requester_email="li@acme.cn"
        )
        row = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)

        assert smtp.messages[0]["From"] == "Tend <help@tend.example>"
        assert row.message_id.endswith("@tend.example>")

    def test_a_bounced_address_still_gets_replies(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox)
        ticket.requester.email_bounced_at = timezone.now()
        ticket.requester.save(update_fields=["email_bounced_at"])

        row = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)

        assert row.status == OutboundStatus.SENT

    def test_requester_without_an_address_is_failed_not_sent(
        self, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox, customer_mail(sender="not an address"))
        row = queued(agent_reply(agent, ticket))
        assert row.status == OutboundStatus.FAILED and row.last_error

    def test_subject_token_appears_exactly_once(self) -> None:
        assert subject_with_token("Printer", 7) == "[#7] Printer"
        assert subject_with_token("[#7] Printer", 7) == "[#7] Printer"
        assert subject_with_token("Re: [#7] [#7] Printer", 7) == "[#7] Re: Printer"
        assert subject_with_token("Line\r\nBcc: x@y.z", 7) == "[#7] Line Bcc: x@y.z"


class TestRetry:
    def test_temporary_failure_is_retried_with_the_same_message_id(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox)
        row = queued(agent_reply(agent, ticket))
        smtp.handler.data_replies = ["451 4.3.0 Try again later"]

        row = outbound_send(outbound_id=row.pk)

        assert row.status == OutboundStatus.RETRYING and row.attempts == 1
        assert "451" in row.last_error
        assert row.next_attempt_at is not None and row.next_attempt_at > timezone.now()
        assert smtp.handler.received == []
        # Not due yet: a second call (the sweep, say) does nothing.
        assert outbound_send(outbound_id=row.pk).attempts == 1
        assert outbound_send_due() == 0

        make_due(row)
        assert outbound_send_due() == 1

        row.refresh_from_db()
        assert row.status == OutboundStatus.SENT and row.attempts == 2
        [sent] = smtp.messages
        assert sent["Message-ID"] == row.message_id

    def test_server_down_then_up_through_the_mailboxs_own_smtp(
        self, mailbox: Mailbox, agent: User, settings: Any
    ) -> None:
        settings.MAILERS = {}  # the global mailer must not be used for this mailbox
        mailbox.smtp_host = "127.0.0.1"
        mailbox.smtp_port = free_port()  # nobody listens there
        mailbox.smtp_security = Security.NONE
        mailbox.save()
        ticket = email_ticket(mailbox)
        row = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)
        assert row.status == OutboundStatus.RETRYING
        assert "Connection" in row.last_error or "refused" in row.last_error.lower()

        with smtp_server() as server:
            Mailbox.objects.filter(pk=mailbox.pk).update(smtp_port=server.port)
            make_due(row)
            row = outbound_send(outbound_id=row.pk)
            assert row.status == OutboundStatus.SENT
            assert server.messages[0]["Message-ID"] == row.message_id

    def test_backoff_doubles_to_an_hour_then_gives_up(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        assert [retry_delay(n) for n in range(1, 9)] == [
            timedelta(minutes=m) for m in (1, 2, 4, 8, 16, 32, 60, 60)
        ]
        ticket = email_ticket(mailbox)
        row = queued(agent_reply(agent, ticket))
        smtp.handler.data_replies = ["421 4.7.0 Busy"] * MAX_ATTEMPTS

        for attempt in range(1, MAX_ATTEMPTS):
            before = timezone.now()
            row = outbound_send(outbound_id=row.pk)
            assert row.status == OutboundStatus.RETRYING and row.attempts == attempt
            wait = row.next_attempt_at - before  # type: ignore[operator]
            assert retry_delay(attempt) <= wait <= retry_delay(attempt) * 1.1 + timedelta(seconds=5)
            make_due(row)

        row = outbound_send(outbound_id=row.pk)
        assert row.status == OutboundStatus.FAILED and row.attempts == MAX_ATTEMPTS
        assert row.next_attempt_at is None
        assert outbound_send_due() == 0
        assert smtp.handler.received == []

    @pytest.mark.parametrize(
        "where, reply",
        [("rcpt", "550 5.1.1 No such user"), ("data", "554 5.7.1 Rejected as spam")],
    )
    def test_permanent_refusal_fails_at_once(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User, where: str, reply: str
    ) -> None:
        if where == "rcpt":
            smtp.handler.refuse = {"ann@example.com": reply}
        else:
            smtp.handler.data_replies = [reply]
        ticket = email_ticket(mailbox)

        row = outbound_send(outbound_id=queued(agent_reply(agent, ticket)).pk)

        assert row.status == OutboundStatus.FAILED and row.attempts == 1
        assert reply.split()[0] in row.last_error
        assert outbound_send_due() == 0

    def test_a_row_left_sending_by_a_dead_worker_is_sent_after_the_lease(
        self, smtp: SMTPServer, mailbox: Mailbox, agent: User
    ) -> None:
        ticket = email_ticket(mailbox)
        row = queued(agent_reply(agent, ticket))
        # A worker claimed it and died before sending.
        OutboundMessage.objects.filter(pk=row.pk).update(
            status=OutboundStatus.SENDING,
            attempts=1,
            next_attempt_at=timezone.now() + timedelta(minutes=5),
        )
        assert outbound_send_due() == 0  # its lease still runs

        make_due(row)
        assert outbound_send_due() == 1
        row.refresh_from_db()
        assert row.attempts == 2 and len(smtp.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_send_the_same_row(mailbox: Mailbox, agent: User, settings: Any) -> None:
    with smtp_server() as server:
        settings.MAILERS = {"default": server.mailer}
        ticket = email_ticket(mailbox)
        row = queued(agent_reply(agent, ticket))
        server.handler.hold = threading.Event()
        results: list[str] = []

        def first_worker() -> None:
            try:
                results.append(outbound_send(outbound_id=row.pk).status)
            finally:
                connection.close()

        worker = threading.Thread(target=first_worker)
        worker.start()
        assert server.handler.arrived.wait(timeout=10)  # the first worker is mid-send

        second = outbound_send(outbound_id=row.pk)
        swept = outbound_send_due()

        server.handler.hold.set()
        worker.join(timeout=20)
        assert second.status == OutboundStatus.SENDING and swept == 0
        assert results == [OutboundStatus.SENT]
        assert len(server.handler.received) == 1
        row.refresh_from_db()
        assert row.status == OutboundStatus.SENT and row.attempts == 1


def test_delivery_status_per_comment_in_one_query(
    mailbox: Mailbox, agent: User, django_assert_num_queries: Any
) -> None:
    ticket = email_ticket(mailbox)
    first = agent_reply(agent, ticket, "one")
    second = agent_reply(agent, ticket, "two")
    note = agent_reply(agent, ticket, "note", public=False)
    # A comment mailed twice (resent): the latest row counts.
    again = outbound_queue(ticket=ticket, comment=first, kind="reply", subject="s", body="one")

    with django_assert_num_queries(1):
        found = outbound_for_comments([first.pk, second.pk, note.pk])

    assert found[first.pk].pk == again.pk
    assert found[second.pk].status == OutboundStatus.QUEUED
    assert note.pk not in found
    assert outbound_for_comments([]) == {}


def test_desk_reply_on_the_web_channel_queues_exactly_one_mail(
    mailbox: Mailbox, agent: User
) -> None:
    ticket = desk.ticket_create(
        actor=None,
        subject="Hi",
        description="x",
        requester_email="li@acme.cn",
        channel=Channel.WEB,
    )
    comment = agent_reply(agent, ticket)
    assert OutboundMessage.objects.filter(comment=comment).count() == 1


def test_the_task_and_the_sweep_send_queued_mail(
    smtp: SMTPServer, mailbox: Mailbox, agent: User
) -> None:
    from tend.mail.tasks import send_outbound, send_outbound_due

    ticket = email_ticket(mailbox)
    first = queued(agent_reply(agent, ticket, "one"))
    queued(agent_reply(agent, ticket, "two"))

    assert send_outbound.call(first.pk) == OutboundStatus.SENT
    assert send_outbound_due.call() == 1  # the other one, whose job was lost
    assert [text_of(m).strip() for m in smtp.messages] == ["one", "two"]


def test_chinese_names_and_subjects_go_out_encoded(smtp: SMTPServer, agent: User) -> None:
    mailbox = Mailbox.objects.create(address="kefu@tend.test", name="客服中心, 上海")
    ticket = email_ticket(
        mailbox,
        customer_mail("打印机着火了", subject="打印机坏了", sender="王芳 <wang@example.cn>"),
    )

    row = outbound_send(outbound_id=queued(agent_reply(agent, ticket, "请先关机。")).pk)

    assert row.status == OutboundStatus.SENT
    sent = smtp.messages[0]
    assert sent["From"].addresses[0].display_name == "客服中心, 上海"
    assert sent["From"].addresses[0].addr_spec == "kefu@tend.test"
    assert sent["Subject"] == f"[#{ticket.number}] 打印机坏了"
    assert text_of(sent).strip() == "请先关机。"
