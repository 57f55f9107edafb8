"""The IMAP poller against a real Dovecot (started by the ``dovecot`` fixture)."""

from __future__ import annotations

import base64
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import SMTP

import pytest

from tend.desk.models import Ticket
from tend.mail import imap
from tend.mail.imap import mailbox_poll, mailboxes_poll_enqueue
from tend.mail.models import InboundMessage, InboundMethod, InboundStatus, Mailbox, Security
from tend.mail.services import inbound_process
from tend.mail.tests.dovecot import Dovecot, DroppingProxy

pytestmark = pytest.mark.django_db

PASSWORD_VAR = "TEND_TEST_IMAP_PASSWORD"


@pytest.fixture
def imap_user(dovecot: Dovecot) -> str:
    # Every test logs in as a new user, so it starts with an empty Maildir of its own.
    return dovecot.new_user()


@pytest.fixture
def mailbox(dovecot: Dovecot, imap_user: str, monkeypatch: pytest.MonkeyPatch) -> Mailbox:
    monkeypatch.setenv(PASSWORD_VAR, dovecot.password)
    return Mailbox.objects.create(
        address="support@tend.test",
        inbound_method=InboundMethod.IMAP,
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_security=Security.NONE,
        imap_user=imap_user,
        imap_password_env=PASSWORD_VAR,
    )


def _mail(n: int, *, padding: int = 0) -> bytes:
    msg = EmailMessage()
    msg["From"] = f"Customer {n} <customer{n}@example.com>"
    msg["To"] = "support@tend.test"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<q{n}@example.com>"
    lines = [f"Please help with problem {n}."]
    lines += [f"detail line {i} of message {n}" for i in range(padding // 30)]
    msg.set_content("\n".join(lines))
    # CRLF, as IMAP servers store and return it, so the bytes round-trip unchanged.
    return msg.as_bytes(policy=SMTP)


def _process_stored() -> None:
    for pk in InboundMessage.objects.filter(status=InboundStatus.RECEIVED).values_list(
        "pk", flat=True
    ):
        inbound_process(message_id=pk)


def _seen(dovecot: Dovecot, user: str, folder: str = "INBOX") -> dict[int, bool]:
    return {uid: "\\Seen" in flags for uid, flags in dovecot.flags(user, folder).items()}


def test_each_message_is_fetched_once(dovecot: Dovecot, imap_user: str, mailbox: Mailbox) -> None:
    # Given three messages in the inbox
    for n in range(3):
        dovecot.deliver(imap_user, _mail(n))
    # When the mailbox is polled twice
    first = mailbox_poll(mailbox_id=mailbox.pk)
    second = mailbox_poll(mailbox_id=mailbox.pk)
    # Then each message was stored once and the poller remembers where it stands
    assert (first, second) == (3, 0)
    assert InboundMessage.objects.count() == 3
    assert set(InboundMessage.objects.values_list("received_via", flat=True)) == {"imap"}
    mailbox.refresh_from_db()
    assert mailbox.imap_last_uid == 3
    assert mailbox.imap_uidvalidity == dovecot.uidvalidity(imap_user)
    assert mailbox.imap_last_error == ""
    assert mailbox.imap_last_polled_at is not None
    _process_stored()
    assert sorted(Ticket.objects.values_list("subject", flat=True)) == [
        "Question 0",
        "Question 1",
        "Question 2",
    ]


def test_mail_arriving_after_a_poll_is_fetched_by_the_next(
    dovecot: Dovecot, imap_user: str, mailbox: Mailbox
) -> None:
    dovecot.deliver(imap_user, _mail(1))
    assert mailbox_poll(mailbox_id=mailbox.pk) == 1
    dovecot.deliver(imap_user, _mail(2))
    dovecot.deliver(imap_user, _mail(3))
    assert mailbox_poll(mailbox_id=mailbox.pk) == 2
    mailbox.refresh_from_db()
    assert mailbox.imap_last_uid == 3
    assert sorted(InboundMessage.objects.values_list("message_id", flat=True)) == [
        "<q1@example.com>",
        "<q2@example.com>",
        "<q3@example.com>",
    ]


def test_stored_mail_is_marked_seen_and_only_that(
    dovecot: Dovecot, imap_user: str, mailbox: Mailbox
) -> None:
    dovecot.deliver(imap_user, _mail(1))
    dovecot.deliver(imap_user, _mail(2))
    mailbox_poll(mailbox_id=mailbox.pk)
    dovecot.deliver(imap_user, _mail(3))
    # Polled mail is read; mail that arrived since is still unread for the people
    # who also look at the mailbox in their mail client.
    assert _seen(dovecot, imap_user) == {1: True, 2: True, 3: False}


def test_rebuilt_folder_is_fetched_again_without_duplicates(
    dovecot: Dovecot, imap_user: str, mailbox: Mailbox
) -> None:
    # Given a folder that was polled
    dovecot.create_folder(imap_user, "Support")
    mailbox.imap_folder = "Support"
    mailbox.save()
    dovecot.deliver(imap_user, _mail(1), "Support")
    dovecot.deliver(imap_user, _mail(2), "Support")
    assert mailbox_poll(mailbox_id=mailbox.pk) == 2
    old_validity = dovecot.uidvalidity(imap_user, "Support")
    # When the folder is rebuilt (new UIDVALIDITY) with the same mail plus a new message
    dovecot.delete_folder(imap_user, "Support")
    dovecot.create_folder(imap_user, "Support")
    for n in (1, 2, 3):
        dovecot.deliver(imap_user, _mail(n), "Support")
    new_validity = dovecot.uidvalidity(imap_user, "Support")
    assert new_validity != old_validity
    # Then everything is fetched again, but the known messages are not stored twice
    assert mailbox_poll(mailbox_id=mailbox.pk) == 3
    assert InboundMessage.objects.count() == 3
    mailbox.refresh_from_db()
    assert (mailbox.imap_uidvalidity, mailbox.imap_last_uid) == (new_validity, 3)
    _process_stored()
    assert Ticket.objects.count() == 3


@pytest.fixture
def proxy(dovecot: Dovecot) -> Iterator[DroppingProxy]:
    proxy = DroppingProxy(upstream=(dovecot.host, dovecot.port))
    yield proxy
    proxy.close()


def test_connection_dropped_mid_fetch_loses_and_doubles_nothing(
    dovecot: Dovecot,
    imap_user: str,
    mailbox: Mailbox,
    proxy: DroppingProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given six 30 KB messages, fetched two per batch, through a network that drops
    # the connection after 100 KB: during the second batch.
    monkeypatch.setattr(imap, "BATCH_MESSAGES", 2)
    for n in range(6):
        dovecot.deliver(imap_user, _mail(n, padding=30_000))
    mailbox.imap_port = proxy.port
    mailbox.save()
    proxy.cut_after = 100_000
    # When the mailbox is polled
    first = mailbox_poll(mailbox_id=mailbox.pk)
    # Then the poll stops with the error recorded, keeping what it had stored
    mailbox.refresh_from_db()
    assert mailbox.imap_last_error != ""
    assert first == 2
    assert mailbox.imap_last_uid == 2
    assert _seen(dovecot, imap_user) == {1: True, 2: True, 3: False, 4: False, 5: False, 6: False}
    # When the network recovers, the next poll fetches the rest
    proxy.cut_after = None
    assert mailbox_poll(mailbox_id=mailbox.pk) == 4
    mailbox.refresh_from_db()
    assert mailbox.imap_last_error == ""
    assert mailbox.imap_last_uid == 6
    # Exactly one ticket per message
    _process_stored()
    assert InboundMessage.objects.count() == 6
    assert Ticket.objects.count() == 6
    assert all(_seen(dovecot, imap_user).values())


def test_wrong_password_is_recorded_not_raised(
    dovecot: Dovecot, imap_user: str, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    dovecot.deliver(imap_user, _mail(1))
    monkeypatch.setenv(PASSWORD_VAR, "not the password")
    assert mailbox_poll(mailbox_id=mailbox.pk) == 0
    mailbox.refresh_from_db()
    assert imap_user in mailbox.imap_last_error
    assert mailbox.imap_last_polled_at is not None
    assert mailbox.imap_last_uid == 0
    # Once the password is fixed, the next poll works and clears the error
    monkeypatch.setenv(PASSWORD_VAR, dovecot.password)
    assert mailbox_poll(mailbox_id=mailbox.pk) == 1
    mailbox.refresh_from_db()
    assert mailbox.imap_last_error == ""


def test_unreachable_server_is_recorded_not_raised(mailbox: Mailbox) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        mailbox.imap_port = sock.getsockname()[1]  # bound, not listening: refused
        mailbox.save()
        assert mailbox_poll(mailbox_id=mailbox.pk) == 0
    mailbox.refresh_from_db()
    assert "127.0.0.1" in mailbox.imap_last_error


def test_chinese_gbk_mail_arrives_intact(
    dovecot: Dovecot, imap_user: str, mailbox: Mailbox
) -> None:
    # Labelled gb2312 but using GBK-only characters (镕, 珺), as Chinese clients do.
    subject = "朱镕基的发票问题"
    body = "您好，王珺：\r\n我们的发票还没有收到。\r\n"
    encoded_subject = base64.b64encode(subject.encode("gbk")).decode()
    raw = (
        b"From: =?gb2312?B?" + base64.b64encode("张三".encode("gbk")) + b"?= <zhang@example.cn>\r\n"
        b"To: support@tend.test\r\n"
        b"Subject: =?gb2312?B?" + encoded_subject.encode() + b"?=\r\n"
        b"Message-ID: <gbk1@example.cn>\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=gb2312\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
        b"\r\n" + body.encode("gbk")
    )
    dovecot.deliver(imap_user, raw)
    assert mailbox_poll(mailbox_id=mailbox.pk) == 1
    inbound = InboundMessage.objects.get()
    with inbound.raw.open("rb") as fh:
        assert fh.read() == raw
    _process_stored()
    ticket = Ticket.objects.get()
    assert ticket.subject == subject
    assert ticket.requester.email == "zhang@example.cn"
    assert "王珺" in ticket.comments.get().body


def test_a_mailbox_being_polled_is_not_polled_again_at_once(
    dovecot: Dovecot, imap_user: str, mailbox: Mailbox
) -> None:
    dovecot.deliver(imap_user, _mail(1))
    with imap._poll_lock(mailbox.pk) as acquired:
        assert acquired
        assert mailbox_poll(mailbox_id=mailbox.pk) == 0
    assert mailbox_poll(mailbox_id=mailbox.pk) == 1


def test_polls_are_queued_for_active_imap_mailboxes_only(db: None) -> None:
    def make(address: str, **fields: object) -> None:
        Mailbox.objects.create(address=address, imap_host="imap.example.com", **fields)

    make("a@tend.test", inbound_method=InboundMethod.IMAP)
    make("b@tend.test", inbound_method=InboundMethod.IMAP)
    make("c@tend.test", inbound_method=InboundMethod.IMAP, is_active=False)
    make("d@tend.test", inbound_method=InboundMethod.PUSH)
    assert mailboxes_poll_enqueue() == 2


@pytest.mark.parametrize("security", [Security.SSL, Security.STARTTLS])
def test_tls_connections_verify_the_server_and_fetch(
    dovecot: Dovecot,
    imap_user: str,
    mailbox: Mailbox,
    monkeypatch: pytest.MonkeyPatch,
    security: Security,
) -> None:
    # The server's certificate comes from a test CA that the system trusts for this test.
    monkeypatch.setenv("SSL_CERT_FILE", str(dovecot.ca_file))
    dovecot.deliver(imap_user, _mail(1))
    mailbox.imap_security = security
    mailbox.imap_port = dovecot.ssl_port if security == Security.SSL else dovecot.port
    mailbox.save()
    assert mailbox_poll(mailbox_id=mailbox.pk) == 1
    mailbox.refresh_from_db()
    assert mailbox.imap_last_error == ""


def test_untrusted_certificate_is_refused(
    dovecot: Dovecot, imap_user: str, mailbox: Mailbox
) -> None:
    dovecot.deliver(imap_user, _mail(1))
    mailbox.imap_security = Security.SSL
    mailbox.imap_port = dovecot.ssl_port
    mailbox.save()
    assert mailbox_poll(mailbox_id=mailbox.pk) == 0
    mailbox.refresh_from_db()
    assert "CERTIFICATE_VERIFY_FAILED" in mailbox.imap_last_error
    assert InboundMessage.objects.count() == 0
