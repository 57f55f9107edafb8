"""The IMAP poller: fetch each new message of a mailbox once, and never lose one.

Where the poller stands is kept on the Mailbox: the folder's UIDVALIDITY and the highest
UID already stored. Messages are fetched in small batches; each message is stored (raw
bytes, deduplicated by hash) and the batch flagged \\Seen before the UID moves past it,
so a connection dropped mid-fetch costs at most a re-fetch of one batch, and the hash
makes a re-fetch harmless.
"""

from __future__ import annotations

import imaplib
import logging
import re
import ssl
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext as _
from imap_tools import BaseMailBox, MailBox, MailBoxStartTls, MailBoxUnencrypted
from imap_tools.errors import ImapToolsError, MailboxLoginError
from imap_tools.utils import check_command_status

from tend.mail.mailboxes import mailbox_password
from tend.mail.models import InboundMethod, Mailbox, Security, Via
from tend.mail.secrets import SecretUnreadable
from tend.mail.services import inbound_store

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 30
# Messages per FETCH, and a cap on their summed size, so a folder full of large
# attachments never has to fit in memory at once.
BATCH_MESSAGES = 20
BATCH_BYTES = 20 * 1024 * 1024
# A poll stops starting new batches after this long and the next poll carries on;
# it must stay well inside the lock's lifetime so two polls never overlap.
POLL_SECONDS = 240
LOCK_SECONDS = 600

_UID = re.compile(rb"\bUID (\d+)")
_SIZE = re.compile(rb"\bRFC822\.SIZE (\d+)")


class FetchIncomplete(Exception):
    """The server left out a message that still exists; the poll must not move past it."""


# What a broken network or server looks like to imaplib / imap-tools.
CONNECTION_ERRORS = (OSError, EOFError, imaplib.IMAP4.error, ImapToolsError, FetchIncomplete)


def _connect(mailbox: Mailbox) -> BaseMailBox:
    host, port = mailbox.imap_host, mailbox.imap_port
    if mailbox.imap_security == Security.SSL:
        return MailBox(
            host, port, timeout=TIMEOUT_SECONDS, ssl_context=ssl.create_default_context()
        )
    if mailbox.imap_security == Security.STARTTLS:
        return MailBoxStartTls(
            host, port, timeout=TIMEOUT_SECONDS, ssl_context=ssl.create_default_context()
        )
    return MailBoxUnencrypted(host, port, timeout=TIMEOUT_SECONDS)


@contextmanager
def _poll_lock(mailbox_id: int) -> Iterator[bool]:
    """True if this process may poll the mailbox; a second poller gets False.

    A cache lock rather than a row lock: a poll talks to a remote server for minutes,
    far too long to hold a database transaction open (on SQLite, the whole database).
    """
    key = f"mail:imap-poll:{mailbox_id}"
    token = uuid.uuid4().hex
    acquired = cache.add(key, token, timeout=LOCK_SECONDS)
    try:
        yield acquired
    finally:
        # Only our own lock: if it had expired and another poller took it, leave theirs.
        if acquired and cache.get(key) == token:
            cache.delete(key)


def _record(mailbox_id: int, **fields: object) -> None:
    # update(), not save(): an admin may be editing the mailbox while it is polled.
    Mailbox.objects.filter(pk=mailbox_id).update(**fields)


def _uidvalidity(box: BaseMailBox, folder: str) -> int:
    # SELECT reports UIDVALIDITY as a response code; imaplib files it under that name.
    _typ, data = box.client.response("UIDVALIDITY")
    if data and data[0]:
        return int(data[0])
    return int(box.folder.status(folder, ["UIDVALIDITY"])["UIDVALIDITY"])


def _new_uids(box: BaseMailBox, last_uid: int) -> list[tuple[int, int]]:
    """(uid, size) of every message above ``last_uid``, oldest first."""
    # "n:*" always matches the highest UID, even when that is below n (RFC 3501), so
    # the result is filtered as well as ranged.
    found = [int(uid) for uid in box.uids(f"UID {last_uid + 1}:*") if int(uid) > last_uid]
    if not found:
        return []
    typ, data = box.client.uid("FETCH", f"{min(found)}:{max(found)}", "(UID RFC822.SIZE)")
    check_command_status((typ, data), ImapToolsError)
    sizes: dict[int, int] = {}
    for item in data:
        line = item[0] if isinstance(item, tuple) else item
        if not isinstance(line, bytes):
            continue
        uid, size = _UID.search(line), _SIZE.search(line)
        if uid and size:
            sizes[int(uid[1])] = int(size[1])
    # A UID without a size (expunged meanwhile) is still fetched: the fetch decides.
    return [(uid, sizes.get(uid, 0)) for uid in sorted(found)]


def _batches(messages: list[tuple[int, int]]) -> Iterator[list[int]]:
    batch: list[int] = []
    batch_bytes = 0
    for uid, size in messages:
        if batch and (len(batch) >= BATCH_MESSAGES or batch_bytes + size > BATCH_BYTES):
            yield batch
            batch, batch_bytes = [], 0
        batch.append(uid)
        batch_bytes += size
    if batch:
        yield batch


def _fetch(box: BaseMailBox, uids: list[int]) -> dict[int, bytes]:
    """Raw bytes by UID; PEEK so that fetching alone never marks mail as read."""
    typ, data = box.client.uid("FETCH", ",".join(map(str, uids)), "(UID BODY.PEEK[])")
    check_command_status((typ, data), ImapToolsError)
    bodies: dict[int, bytes] = {}
    pending: bytes | None = None
    for item in data:
        if isinstance(item, tuple):
            head, body = item
            uid = _UID.search(head)
            if uid:
                bodies[int(uid[1])] = body
                pending = None
            else:
                pending = body  # some servers send UID after the literal
        elif isinstance(item, bytes) and pending is not None:
            uid = _UID.search(item)
            if uid:
                bodies[int(uid[1])] = pending
            pending = None
    return bodies


def _mark_seen(box: BaseMailBox, uids: list[int]) -> None:
    # A plain STORE: imap-tools' flag() also EXPUNGEs, which would delete mail that
    # someone else had marked deleted in a shared mailbox.
    result = box.client.uid("STORE", ",".join(map(str, uids)), "+FLAGS.SILENT", r"(\Seen)")
    check_command_status(result, ImapToolsError)


@dataclass
class _Progress:
    # Kept outside _poll so the count survives a connection error halfway through.
    stored: int = 0


def _poll(mailbox: Mailbox, box: BaseMailBox, deadline: float, progress: _Progress) -> None:
    box.login(mailbox.imap_user, mailbox_password(mailbox, "imap"), initial_folder=None)
    folder = mailbox.imap_folder or "INBOX"
    box.folder.set(folder)  # read-write: processed mail gets flagged \Seen
    uidvalidity = _uidvalidity(box, folder)
    last_uid = mailbox.imap_last_uid
    if uidvalidity != mailbox.imap_uidvalidity:
        # The folder was rebuilt: its UIDs mean nothing now. Fetch everything again;
        # messages already stored are recognised by their hash.
        last_uid = 0
        _record(mailbox.pk, imap_uidvalidity=uidvalidity, imap_last_uid=0)
    for batch in _batches(_new_uids(box, last_uid)):
        bodies = _fetch(box, batch)
        for _uid, raw in sorted(bodies.items()):
            # Committed on return (inbound_store is atomic): the message is safe from here.
            inbound_store(raw=raw, via=Via.IMAP, mailbox=mailbox)
            progress.stored += 1
        missing = [uid for uid in batch if uid not in bodies]
        if missing and (kept := box.uids("UID " + ",".join(map(str, missing)))):
            # Expunged mail is simply gone, but skipping a message that is still there
            # would lose it for good once the UID moved on.
            raise FetchIncomplete(
                _("The server did not return message UID %(uid)s.") % {"uid": kept[0]}
            )
        # Seen only after the batch is safely stored; the UID moves on only after that,
        # so a drop between the two re-fetches the batch (a no-op) and flags it then.
        _mark_seen(box, batch)
        _record(mailbox.pk, imap_last_uid=batch[-1])
        if time.monotonic() > deadline:
            break


def mailbox_poll(*, mailbox_id: int) -> int:
    """Store the new messages of one IMAP mailbox; returns how many it took from the server
    (a message re-fetched after a drop counts again but is stored once).

    Network and server errors are recorded on the mailbox (shown to admins) rather than
    raised: a mail server being down is an expected state, not a crash.
    """
    mailbox = Mailbox.objects.filter(
        pk=mailbox_id, is_active=True, inbound_method=InboundMethod.IMAP
    ).first()
    if mailbox is None or not mailbox.imap_host:
        return 0
    with _poll_lock(mailbox_id) as acquired:
        if not acquired:
            logger.info("mailbox %s is already being polled", mailbox_id)
            return 0
        return _poll_locked(mailbox)


def _poll_locked(mailbox: Mailbox) -> int:
    progress = _Progress()
    error = ""
    try:
        box = _connect(mailbox)
    except CONNECTION_ERRORS as exc:
        error = _("Could not connect to %(host)s:%(port)s: %(error)s") % {
            "host": mailbox.imap_host,
            "port": mailbox.imap_port,
            "error": exc,
        }
    else:
        try:
            _poll(mailbox, box, time.monotonic() + POLL_SECONDS, progress)
        except SecretUnreadable:
            error = _("The stored IMAP password cannot be decrypted; enter it again.")
        except MailboxLoginError as exc:
            error = _("Could not log in as %(user)s: %(error)s") % {
                "user": mailbox.imap_user,
                "error": exc,
            }
        except CONNECTION_ERRORS as exc:
            error = _("IMAP error: %(error)s") % {"error": str(exc) or type(exc).__name__}
        except Exception as exc:
            # A bug or a database failure: keep it visible on the mailbox, and let the
            # task runner log the traceback.
            _record(mailbox.pk, imap_last_polled_at=timezone.now(), imap_last_error=repr(exc))
            raise
        finally:
            # If the connection is already gone there is nothing left to close politely.
            with suppress(*CONNECTION_ERRORS):
                box.client.logout()
    if error:
        logger.warning("polling mailbox %s failed: %s", mailbox.pk, error)
    _record(mailbox.pk, imap_last_polled_at=timezone.now(), imap_last_error=error)
    return progress.stored


def mailboxes_poll_enqueue() -> int:
    """Queue one poll per active IMAP mailbox; returns how many were queued."""
    from tend.mail.tasks import poll_mailbox

    ids = list(
        Mailbox.objects.filter(is_active=True, inbound_method=InboundMethod.IMAP)
        .exclude(imap_host="")
        .values_list("pk", flat=True)
    )
    for mailbox_id in ids:
        poll_mailbox.enqueue(mailbox_id)
    return len(ids)
