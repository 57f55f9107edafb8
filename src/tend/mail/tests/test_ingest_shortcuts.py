"""The shortcuts that keep ingest fast must not change what it does: the in-memory
mailbox list follows every change made through the services, never serves a mailbox
from a rolled-back transaction, and the insert-first store still keeps one message."""

from email.message import EmailMessage

import pytest
from django.db import connection, transaction

from tend.desk.models import Ticket
from tend.mail.mailboxes import (
    mailbox_addresses,
    mailbox_create,
    mailbox_delete,
    mailbox_for_recipients,
    mailbox_update,
)
from tend.mail.models import InboundMessage
from tend.mail.services import inbound_receive, inbound_store

pytestmark = pytest.mark.django_db


def _raw(body: str = "Hello") -> bytes:
    msg = EmailMessage()
    msg["From"] = "Ann <ann@example.com>"
    msg["To"] = "help@acme.test"
    msg["Subject"] = "Printer"
    msg["Message-ID"] = "<s1@example.com>"
    msg.set_content(body)
    return msg.as_bytes()


def test_mailbox_changes_through_the_services_are_seen_at_once() -> None:
    # Given a mailbox the receivers have looked up (and so have in memory)
    mailbox = mailbox_create(actor=None, address="help@acme.test")
    assert mailbox_for_recipients(["HELP@acme.test"]) is not None
    # When it is deactivated, reactivated under a new address and finally deleted
    mailbox_update(actor=None, mailbox=mailbox, is_active=False)
    # Then every lookup right after each change sees it
    assert mailbox_for_recipients(["help@acme.test"]) is None
    assert mailbox_addresses() == set()
    mailbox_update(actor=None, mailbox=mailbox, is_active=True, address="desk@acme.test")
    assert mailbox_addresses() == {"desk@acme.test"}
    mailbox_delete(actor=None, mailbox=mailbox)
    assert mailbox_for_recipients(["desk@acme.test"]) is None


def test_a_mailbox_from_a_rolled_back_transaction_is_never_served() -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        mailbox_create(actor=None, address="gone@acme.test")
        assert mailbox_for_recipients(["gone@acme.test"]) is not None
        raise RuntimeError
    assert mailbox_for_recipients(["gone@acme.test"]) is None
    assert "gone@acme.test" not in mailbox_addresses()


def test_changing_a_found_mailbox_does_not_change_the_next_lookup() -> None:
    mailbox_create(actor=None, address="help@acme.test", name="Help")
    found = mailbox_for_recipients(["help@acme.test"])
    assert found is not None
    found.name = "Changed by a caller"
    again = mailbox_for_recipients(["help@acme.test"])
    assert again is not None and again.name == "Help"


def test_the_same_bytes_stored_again_keep_the_first_file_and_one_ticket() -> None:
    mailbox_create(actor=None, address="help@acme.test")
    raw = _raw()
    first = inbound_receive(raw=raw, via="smtp")
    # When the very same bytes arrive again, by another path
    again = inbound_store(raw=raw, via="imap")
    # Then it is the same row, its file still holds the message, and nothing is doubled
    assert again.pk == first.pk
    assert InboundMessage.objects.count() == 1
    with InboundMessage.objects.get().raw.open("rb") as fh:
        assert fh.read() == raw
    assert inbound_receive(raw=raw, via="http").pk == first.pk
    assert Ticket.objects.count() == 1
    assert first.comment is not None and first.comment.ticket_id == first.ticket_id


@pytest.mark.django_db(transaction=True)
def test_mail_for_a_mailbox_deleted_elsewhere_a_moment_ago_is_still_kept() -> None:
    # Given a mailbox this process remembers
    mailbox_create(actor=None, address="help@acme.test")
    assert mailbox_for_recipients(["help@acme.test"]) is not None
    # When another process deletes it (no signal reaches this one) and mail arrives
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM mail_mailbox")
    inbound = inbound_receive(raw=_raw("Still there?"), via="smtp")
    # Then the message is kept and processed, just without a mailbox
    stored = InboundMessage.objects.get()
    assert stored.pk == inbound.pk and stored.mailbox_id is None
    assert stored.status == "processed" and Ticket.objects.count() == 1
