"""The inbound pipeline around processing: which mailbox, which team, the job after
commit, counted attempts, recovery, automatic mail, acknowledgements and bounces."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Contact
from tend.desk.models import EventKind, Team, Ticket
from tend.desk.services import comment_add_agent
from tend.mail.models import (
    InboundMessage,
    InboundStatus,
    Mailbox,
    OutboundKind,
    OutboundMessage,
    OutboundStatus,
)
from tend.mail.services import (
    AUTOMATIC_TAG,
    MAX_ATTEMPTS,
    inbound_process,
    inbound_process_attempt,
    inbound_receive,
    inbound_recover,
    inbound_store,
)
from tend.mail.tests.fixtures import deliver_queued_mail
from tend.mail.tests.jobs import Jobs, recorded_jobs

pytestmark = pytest.mark.django_db

PROCESS = "tend.mail.tasks.process_inbound"


def mail(
    body: str = "The export button does nothing.",
    *,
    subject: str = "Export broken",
    sender: str = "Ann <ann@example.com>",
    to: str = "support@tend.test",
    message_id: str = "<m1@example.com>",
    extra: str = "",
) -> bytes:
    return (
        f"From: {sender}\r\nTo: {to}\r\nSubject: {subject}\r\nMessage-ID: {message_id}\r\n"
        f"{extra}Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def dsn(original_message_id: str, *, action: str = "failed", status: str = "5.1.1") -> bytes:
    """An RFC 3464 report as Postfix sends it, about the mail with that Message-ID."""
    return (
        "From: MAILER-DAEMON@mx.tend.test (Mail Delivery System)\r\n"
        "To: support@tend.test\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Auto-Submitted: auto-replied\r\n"
        f"Message-ID: <dsn-{action}-{original_message_id.strip('<>')}@mx.tend.test>\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\r\n'
        "\r\n--B\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--B\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.tend.test\r\n\r\n"
        "Final-Recipient: rfc822; ann@example.com\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Diagnostic-Code: smtp; 550 {status} User unknown\r\n"
        "--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        "From: support@tend.test\r\nTo: ann@example.com\r\n"
        f"Message-ID: {original_message_id}\r\nSubject: [#1] Export broken\r\n"
        "--B--\r\n"
    ).encode()


@pytest.fixture
def jobs() -> Iterator[Jobs]:
    with recorded_jobs() as recorded:
        yield recorded


@pytest.fixture
def support(team: Team) -> Mailbox:
    return Mailbox.objects.create(address="Support@Tend.test", name="Support", default_team=team)


@pytest.fixture
def sales(other_team: Team) -> Mailbox:
    return Mailbox.objects.create(address="sales@tend.test", default_team=other_team)


# --- which mailbox, which team ---------------------------------------------------------


def test_mailbox_comes_from_the_envelope_then_delivery_headers_then_to_and_cc(
    support: Mailbox, sales: Mailbox
) -> None:
    # Sent to support, Bcc'd to sales: only the envelope (SMTP) or Delivered-To knows.
    by_envelope = inbound_store(
        raw=mail(message_id="<a@x>"), via="smtp", recipients=["SALES@tend.test"]
    )
    delivered = mail(message_id="<b@x>", extra="Delivered-To: sales@tend.test\r\n")
    by_header = inbound_store(raw=delivered, via="imap")
    by_cc = inbound_store(
        raw=mail(message_id="<c@x>", to="someone@else.test", extra="Cc: support@tend.test\r\n"),
        via="http",
    )
    unknown = inbound_store(raw=mail(message_id="<d@x>", to="nobody@else.test"), via="http")

    assert by_envelope.mailbox == sales
    assert by_header.mailbox == sales
    assert by_cc.mailbox == support
    assert unknown.mailbox is None


def test_mailbox_given_by_the_caller_wins_and_inactive_mailboxes_are_ignored(
    support: Mailbox, sales: Mailbox
) -> None:
    polled = inbound_store(raw=mail(message_id="<a@x>"), via="imap", mailbox=sales)
    support.is_active = False
    support.save()
    retired = inbound_store(raw=mail(message_id="<b@x>"), via="http")

    assert polled.mailbox == sales
    assert retired.mailbox is None


def test_new_ticket_goes_to_the_mailboxs_team_and_replies_leave_the_team_alone(
    support: Mailbox, sales: Mailbox, team: Team
) -> None:
    first = inbound_receive(raw=mail(), via="smtp")
    # The customer answers, copying sales: the ticket stays where it is.
    reply = inbound_receive(
        raw=mail(
            "More detail",
            message_id="<m2@x>",
            to="sales@tend.test",
            extra="In-Reply-To: <m1@example.com>\r\n",
        ),
        via="smtp",
    )

    assert first.ticket is not None and first.ticket.team == team
    assert reply.outcome == "comment" and reply.ticket == first.ticket
    assert Ticket.objects.get().team == team


# --- the job after commit ---------------------------------------------------------------


def test_storing_enqueues_processing_after_commit_once_and_never_for_processed_mail(
    jobs: Jobs, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        stored = inbound_store(raw=mail(), via="imap")
        # Not yet: the job could run before the row is visible to the worker.
        assert jobs.names() == []
    assert jobs.args(PROCESS) == [(stored.pk,)]

    assert jobs.run() == [InboundStatus.PROCESSED]
    assert Ticket.objects.count() == 1

    with django_capture_on_commit_callbacks(execute=True):
        again = inbound_store(raw=mail(), via="http")
    assert again.pk == stored.pk and jobs.names() == []

    with django_capture_on_commit_callbacks(execute=True):
        inbound_receive(raw=mail("inline", message_id="<m9@x>"), via="imap")
    assert jobs.names() == []  # processed inline, nothing left for a worker


def test_the_same_message_stored_again_while_waiting_gets_another_job(
    jobs: Jobs, django_capture_on_commit_callbacks: Callable[..., Any]
) -> None:
    # An IMAP re-fetch after a crash, or an MTA retrying: the first job may be lost.
    with django_capture_on_commit_callbacks(execute=True):
        first = inbound_store(raw=mail(), via="imap")
        inbound_store(raw=mail(), via="imap")

    assert jobs.args(PROCESS) == [(first.pk,), (first.pk,)]
    assert jobs.run() == [InboundStatus.PROCESSED, InboundStatus.PROCESSED]
    assert Ticket.objects.count() == 1


# --- attempts, failure, recovery ----------------------------------------------------------


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Processing hits a bug on every try (the parser or the desk raising something
    other than a validation error)."""

    def boom(*args: object) -> None:
        raise RuntimeError("bug in processing")

    monkeypatch.setattr("tend.mail.services._process_parsed", boom)


def test_a_message_that_keeps_failing_is_retried_then_marked_failed_once(crashing: None) -> None:
    stored = inbound_store(raw=mail(), via="imap")

    for attempt in range(1, MAX_ATTEMPTS):
        with pytest.raises(RuntimeError):
            inbound_process_attempt(message_id=stored.pk)
        stored.refresh_from_db()
        assert stored.attempts == attempt and stored.status == InboundStatus.RECEIVED
        assert "bug in processing" in stored.error
    last = inbound_process_attempt(message_id=stored.pk)
    after = inbound_process_attempt(message_id=stored.pk)

    assert last.status == InboundStatus.FAILED and last.outcome == "failed"
    assert "bug in processing" in last.error
    assert after.status == InboundStatus.FAILED
    assert InboundMessage.objects.get().attempts == MAX_ATTEMPTS
    assert Ticket.objects.count() == 0  # kept raw for an admin, nothing half-made


def test_attempts_that_died_with_the_worker_count_too() -> None:
    stored = inbound_store(raw=mail(), via="imap")
    # Each earlier attempt was counted, then the worker was killed mid-processing.
    InboundMessage.objects.filter(pk=stored.pk).update(attempts=MAX_ATTEMPTS)

    given_up = inbound_process_attempt(message_id=stored.pk)

    assert given_up.status == InboundStatus.FAILED and given_up.error
    assert Ticket.objects.count() == 0
    # An admin's explicit retry still processes it.
    assert inbound_process(message_id=stored.pk).status == InboundStatus.PROCESSED
    assert Ticket.objects.count() == 1


def test_recovery_processes_old_waiting_messages_and_leaves_young_ones_to_their_jobs() -> None:
    lost = inbound_store(raw=mail(message_id="<lost@x>"), via="imap")
    young = inbound_store(raw=mail("new", subject="New", message_id="<young@x>"), via="imap")
    InboundMessage.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - timedelta(minutes=5)
    )

    assert inbound_recover() == 1

    lost.refresh_from_db()
    young.refresh_from_db()
    assert lost.status == InboundStatus.PROCESSED and lost.attempts == 1
    assert young.status == InboundStatus.RECEIVED
    assert inbound_recover() == 0  # nothing done twice


def test_recovery_goes_on_past_a_message_that_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = inbound_store(raw=mail(subject="bad", message_id="<bad@x>"), via="imap")
    good = inbound_store(raw=mail(subject="good", message_id="<good@x>"), via="imap")
    real = __import__("tend.mail.services", fromlist=["_process_parsed"])._process_parsed

    def fail_bad(inbound: InboundMessage, *args: Any) -> InboundMessage:
        if inbound.pk == bad.pk:
            raise RuntimeError("bug")
        return real(inbound, *args)

    monkeypatch.setattr("tend.mail.services._process_parsed", fail_bad)

    assert inbound_recover(older_than=timedelta(0)) == 1

    assert InboundMessage.objects.get(pk=good.pk).status == InboundStatus.PROCESSED
    bad.refresh_from_db()
    assert bad.status == InboundStatus.RECEIVED and bad.attempts == 1 and "bug" in bad.error


# --- automatic mail and acknowledgements ----------------------------------------------------


def test_new_ticket_from_a_person_is_acknowledged_from_its_mailbox(support: Mailbox) -> None:
    support.auto_acknowledge = True
    support.save()

    inbound = inbound_receive(raw=mail(), via="smtp")

    ack = OutboundMessage.objects.get()
    assert inbound.outcome == "ticket"
    assert ack.kind == OutboundKind.ACKNOWLEDGEMENT and ack.automatic
    assert ack.ticket == inbound.ticket and ack.mailbox == support
    assert ack.to_email == "ann@example.com" and ack.in_reply_to == "<m1@example.com>"


def test_auto_replies_open_a_tagged_ticket_that_is_never_acknowledged(support: Mailbox) -> None:
    support.auto_acknowledge = True
    support.save()
    vacation = mail(
        "I am away until Monday.",
        subject="Out of office",
        extra="Auto-Submitted: auto-replied\r\n",
    )
    newsletter = mail("Our news", subject="News", message_id="<n@x>", extra="Precedence: bulk\r\n")

    results = [inbound_receive(raw=raw, via="smtp") for raw in (vacation, newsletter)]

    assert [r.outcome for r in results] == ["automatic", "automatic"]
    for result in results:
        assert result.ticket is not None
        assert list(result.ticket.tags.values_list("name", flat=True)) == [AUTOMATIC_TAG]
    assert not OutboundMessage.objects.exists()


def test_replies_are_not_acknowledged(support: Mailbox) -> None:
    support.auto_acknowledge = True
    support.save()
    inbound_receive(raw=mail(), via="smtp")
    OutboundMessage.objects.all().delete()

    inbound_receive(
        raw=mail("thanks", message_id="<m2@x>", extra="In-Reply-To: <m1@example.com>\r\n"),
        via="smtp",
    )

    assert not OutboundMessage.objects.exists()


# --- bounces ------------------------------------------------------------------------------


@pytest.fixture
def answered(support: Mailbox, agent: User) -> tuple[Ticket, OutboundMessage]:
    """A ticket from ann@example.com with an agent's reply mailed to her."""
    ticket = inbound_receive(raw=mail(), via="smtp").ticket
    assert ticket is not None
    comment_add_agent(actor=agent, ticket=ticket, body="Try turning it off and on.")
    deliver_queued_mail()
    reply = OutboundMessage.objects.get(kind=OutboundKind.REPLY)
    assert reply.status == OutboundStatus.SENT
    return ticket, reply


def test_bounce_is_noted_on_the_ticket_and_flags_the_contact_not_a_new_ticket(
    answered: tuple[Ticket, OutboundMessage],
) -> None:
    ticket, reply = answered

    inbound = inbound_receive(raw=dsn(reply.message_id), via="smtp")

    assert inbound.status == InboundStatus.PROCESSED and inbound.outcome == "bounce"
    assert inbound.ticket == ticket and inbound.comment is None
    assert Ticket.objects.count() == 1
    event = ticket.events.get(kind=EventKind.BOUNCED)
    assert event.old_value == "ann@example.com" and "5.1.1" in event.new_value
    contact = Contact.objects.get(email="ann@example.com")
    assert contact.email_bounced_at is not None and "User unknown" in contact.email_bounce_reason
    reply.refresh_from_db()
    assert reply.status == OutboundStatus.FAILED and "5.1.1" in reply.last_error

    # She writes again from the same address: it works after all.
    inbound_receive(raw=mail("fixed my mailbox", subject="Hello", message_id="<m3@x>"), via="smtp")
    contact.refresh_from_db()
    assert contact.email_bounced_at is None


def test_a_delay_is_noted_but_flags_nothing(answered: tuple[Ticket, OutboundMessage]) -> None:
    ticket, reply = answered

    inbound = inbound_receive(
        raw=dsn(reply.message_id, action="delayed", status="4.4.1"), via="smtp"
    )

    assert inbound.outcome == "delayed" and inbound.ticket == ticket
    assert ticket.events.filter(kind=EventKind.BOUNCED).count() == 1
    assert Contact.objects.get(email="ann@example.com").email_bounced_at is None
    reply.refresh_from_db()
    assert reply.status == OutboundStatus.SENT


def test_a_bounce_about_mail_tend_did_not_send_is_kept_but_changes_nothing(
    support: Mailbox,
) -> None:
    inbound_receive(raw=mail(), via="smtp")

    inbound = inbound_receive(raw=dsn("<not-ours@elsewhere.test>"), via="smtp")

    assert inbound.status == InboundStatus.PROCESSED and inbound.outcome == "bounce-unmatched"
    assert inbound.ticket is None
    assert Ticket.objects.count() == 1
    assert Contact.objects.get(email="ann@example.com").email_bounced_at is None
