"""The built-in SMTP receiver, spoken to with smtplib over loopback as a sending MTA would.

Most tests run the receiver in-process (aiosmtpd's controller thread, database work in
worker threads, hence `transaction=True`); two start the real `tend smtpd` and `tend run`
processes against a private data directory.
"""

from __future__ import annotations

import base64
import hashlib
import re
import smtplib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.test import override_settings

from tend.core.management.commands.run import group_children
from tend.core.tests.test_cli import Background, free_port, healthz_ok, tend, tend_env
from tend.mail.mailboxes import mailbox_addresses
from tend.mail.models import InboundMessage, Mailbox
from tend.mail.smtpd import (
    InboundHandler,
    ReceiverController,
    RecipientCache,
    make_controller,
    stop_gracefully,
)

# Small, so the oversize tests stay quick.
MAX_BYTES = 64 * 1024
SUPPORT = "support@tend.test"

transactional = pytest.mark.django_db(transaction=True)


def message(
    body: bytes = b"My printer is on fire.\r\n",
    *,
    message_id: str = "<m1@example.com>",
    charset: str = "utf-8",
    subject: bytes = b"Printer",
) -> bytes:
    """A message as an MTA sends it: CRLF lines, 8-bit body, bytes from end to end."""
    headers = (
        b"From: Ann <ann@example.com>\r\n"
        b"To: " + SUPPORT.encode() + b"\r\n"
        b"Subject: " + subject + b"\r\n"
        b"Message-ID: " + message_id.encode() + b"\r\n"
        b"MIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: 8bit\r\n"
    )
    return headers + b"\r\n" + body


def stored_raw(inbound: InboundMessage) -> bytes:
    with inbound.raw.open("rb") as fh:
        return fh.read()


@dataclass
class Receiver:
    controller: ReceiverController
    port: int

    def client(self) -> smtplib.SMTP:
        return smtplib.SMTP("127.0.0.1", self.port, timeout=30)

    def send(self, raw: bytes, to: list[str], sender: str = "ann@example.com") -> dict:  # type: ignore[type-arg]
        with self.client() as smtp:
            return smtp.sendmail(sender, to, raw)


def start_receiver(handler: InboundHandler | None = None) -> Receiver:
    port = free_port()
    controller = make_controller(host="127.0.0.1", port=port, max_bytes=MAX_BYTES, handler=handler)
    controller.start()
    return Receiver(controller, port)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = start_receiver()
    yield running
    stop_gracefully(running.controller)


@pytest.fixture
def support(transactional_db: None) -> Mailbox:
    return Mailbox.objects.create(address=SUPPORT, name="Support")


@transactional
def test_mail_to_a_configured_address_is_stored_with_its_exact_bytes(
    support: Mailbox, receiver: Receiver
) -> None:
    # A line starting with a dot is dot-stuffed on the wire and must come back unstuffed.
    raw = message(b"Hello.\r\n.profile is broken\r\n")

    refused = receiver.send(raw, [SUPPORT])

    assert refused == {}
    inbound = InboundMessage.objects.get()
    assert inbound.received_via == "smtp"
    assert inbound.message_id == "<m1@example.com>"
    assert stored_raw(inbound) == raw


@transactional
def test_lines_longer_than_rfc_5321_allows_are_kept_not_bounced(
    support: Mailbox, receiver: Receiver
) -> None:
    raw = message(b"<p>" + b"a" * 5000 + b"</p>\r\n")

    receiver.send(raw, [SUPPORT])

    assert stored_raw(InboundMessage.objects.get()) == raw


@transactional
def test_recipient_match_ignores_case(support: Mailbox, receiver: Receiver) -> None:
    receiver.send(message(), ["SUPPORT@Tend.TEST"])

    assert InboundMessage.objects.count() == 1


@transactional
def test_unknown_and_inactive_recipients_are_refused_and_nothing_is_stored(
    support: Mailbox, receiver: Receiver
) -> None:
    Mailbox.objects.create(address="old@tend.test", is_active=False)

    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        receiver.send(message(), ["nobody@tend.test", "old@tend.test"])

    for code, reply in refused.value.recipients.values():
        assert code == 550
        assert reply.startswith(b"5.1.1")
    assert not InboundMessage.objects.exists()


@transactional
def test_mixed_recipients_accept_only_the_configured_ones(
    support: Mailbox, receiver: Receiver
) -> None:
    refused = receiver.send(message(), ["nobody@tend.test", SUPPORT])

    assert set(refused) == {"nobody@tend.test"}
    assert refused["nobody@tend.test"][0] == 550
    assert InboundMessage.objects.get().mailbox == support


@transactional
def test_oversize_message_is_refused_when_declared_and_when_sent(
    support: Mailbox, receiver: Receiver
) -> None:
    big = message(b"x" * 76 + b"\r\n") + (b"y" * 76 + b"\r\n") * (MAX_BYTES // 78 + 10)

    # smtplib declares the size (SIZE extension): refused before any data is sent.
    with pytest.raises(smtplib.SMTPSenderRefused) as declared:
        receiver.send(big, [SUPPORT])
    assert declared.value.smtp_code == 552

    # A sender that does not declare it is refused at the end of DATA.
    with receiver.client() as smtp:
        smtp.ehlo()
        assert smtp.mail("ann@example.com")[0] == 250
        assert smtp.rcpt(SUPPORT)[0] == 250
        code, _ = smtp.data(big)
    assert code == 552
    assert not InboundMessage.objects.exists()


@transactional
def test_gb18030_message_arrives_byte_identical(support: Mailbox, receiver: Receiver) -> None:
    body = "你好，我的打印机着火了。请尽快回复！𠀀€\r\n".encode("gb18030")
    subject = b"=?gb18030?b?" + base64.b64encode("打印机".encode("gb18030")) + b"?="
    raw = message(body, charset="gb18030", subject=subject, message_id="<gb@example.cn>")

    receiver.send(raw, [SUPPORT])

    assert stored_raw(InboundMessage.objects.get()) == raw


@transactional
def test_the_same_message_twice_is_stored_once(support: Mailbox, receiver: Receiver) -> None:
    raw = message()

    with receiver.client() as smtp:
        first = smtp.sendmail("ann@example.com", [SUPPORT], raw)
        # A sender that lost our first 250 sends again: accepted, not doubled.
        second = smtp.sendmail("ann@example.com", [SUPPORT], raw)

    assert first == second == {}
    assert InboundMessage.objects.count() == 1


@transactional
def test_storage_failure_answers_451_so_the_sender_retries(
    support: Mailbox, receiver: Receiver, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    raw = message()

    with (
        override_settings(MEDIA_ROOT=blocker / "media"),
        pytest.raises(smtplib.SMTPDataError) as failed,
    ):
        receiver.send(raw, [SUPPORT])
    assert failed.value.smtp_code == 451
    assert failed.value.smtp_error.startswith(b"4.3.0")
    assert not InboundMessage.objects.exists()

    receiver.send(raw, [SUPPORT])  # the sender's retry, once storage is back

    assert stored_raw(InboundMessage.objects.get()) == raw


@transactional
def test_recipient_addresses_are_loaded_once_then_refreshed_after_the_ttl(
    support: Mailbox,
) -> None:
    loads: list[int] = []
    now = [0.0]

    def counting_load() -> set[str]:
        loads.append(1)
        return mailbox_addresses()

    cache = RecipientCache(counting_load, ttl=5.0, clock=lambda: now[0])
    running = start_receiver(InboundHandler(cache))
    try:
        for n in range(3):
            running.send(message(message_id=f"<burst{n}@example.com>"), [SUPPORT, SUPPORT.upper()])
        assert len(loads) == 1

        Mailbox.objects.create(address="sales@tend.test")
        with pytest.raises(smtplib.SMTPRecipientsRefused):
            running.send(message(message_id="<early@example.com>"), ["sales@tend.test"])

        now[0] += 5.0
        assert running.send(message(message_id="<late@example.com>"), ["sales@tend.test"]) == {}
        assert len(loads) == 2
    finally:
        stop_gracefully(running.controller)


# --- the real processes -------------------------------------------------------


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private, migrated installation with one mailbox (SQLite, like test_cli)."""
    data_dir = tmp_path_factory.mktemp("tend-smtpd")
    env = tend_env(data_dir)
    tend("migrate", "-v", "0", env=env)
    create = f"from tend.mail.models import Mailbox\nMailbox.objects.create(address={SUPPORT!r})\n"
    tend("shell", "-v", "0", "-c", create, env=env)
    return data_dir


def smtp_ready(port: int) -> bool:
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=2) as smtp:
            return smtp.noop()[0] == 250
    except OSError:
        return False


def stored_digests(env: dict[str, str]) -> dict[str, str]:
    """sha256 of each stored raw file -> its received_via, read by a separate process."""
    code = (
        "import hashlib\n"
        "from tend.mail.models import InboundMessage\n"
        "for m in InboundMessage.objects.all():\n"
        "    with m.raw.open('rb') as fh:\n"
        "        print(hashlib.sha256(fh.read()).hexdigest(), m.received_via)\n"
    )
    out = tend("shell", "-v", "0", "-c", code, env=env)
    return dict(line.split() for line in out.splitlines() if line.strip())


def test_tend_smtpd_command_receives_mail_and_stops_on_sigterm(data_dir: Path) -> None:
    env = tend_env(data_dir)
    port = free_port()
    raw = message(message_id="<cmd@example.com>")
    server = Background("smtpd", "--port", str(port), env=env, log=data_dir / "smtpd.log")
    try:
        server.wait_until(lambda: smtp_ready(port), "the SMTP receiver answering")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            refused = smtp.sendmail("ann@example.com", [SUPPORT, "nobody@tend.test"], raw)
    finally:
        exit_code = server.stop()

    assert set(refused) == {"nobody@tend.test"}
    assert exit_code == 0, server.output()
    assert f"listening on 127.0.0.1:{port}" in server.output()
    assert stored_digests(env)[hashlib.sha256(raw).hexdigest()] == "smtp"


def test_tend_run_includes_the_smtp_receiver(data_dir: Path) -> None:
    env = tend_env(data_dir)
    web_port, smtp_port = free_port(), free_port()
    raw = message(message_id="<run@example.com>")
    group = Background(
        "run",
        "--port",
        str(web_port),
        "--smtpd-port",
        str(smtp_port),
        env=env,
        log=data_dir / "run.log",
    )
    try:
        group.wait_until(lambda: healthz_ok(web_port), "/healthz answering")
        group.wait_until(lambda: smtp_ready(smtp_port), "the SMTP receiver answering")
        with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
            smtp.sendmail("ann@example.com", [SUPPORT], raw)
    finally:
        exit_code = group.stop()

    assert exit_code == 0, group.output()
    assert re.search(r"^smtpd\s+\| stopped", group.output(), re.MULTILINE), group.output()
    assert stored_digests(env)[hashlib.sha256(raw).hexdigest()] == "smtp"


def test_tend_run_leaves_the_smtp_receiver_out_with_port_0(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEND_SMTPD_PORT", "0")
    assert [child.name for child in group_children(host="127.0.0.1", port=8000)] == [
        "web",
        "worker",
        "scheduler",
    ]

    monkeypatch.setenv("TEND_SMTPD_PORT", "2600")
    smtpd = group_children(host="127.0.0.1", port=8000)[-1]
    assert smtpd.name == "smtpd"
    assert smtpd.argv[-5:] == ["smtpd", "--host", "127.0.0.1", "--port", "2600"]
