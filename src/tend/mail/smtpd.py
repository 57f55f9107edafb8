"""The built-in SMTP receiver (`tend smtpd`): mail for a configured mailbox goes in, the rest is refused.

aiosmtpd runs the protocol on an asyncio loop; everything that touches the database runs
in a worker thread, because Django's ORM is synchronous and must not block the loop that
serves every other connection. The receiver answers 250 only once the raw bytes are
committed, and 451 (try again later) when they could not be, so a sending MTA keeps the
message in its queue instead of Tend losing it.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.db import connections

from tend.mail.mailboxes import mailbox_addresses
from tend.mail.models import Via
from tend.mail.services import inbound_store

logger = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 2525
# Advertised with the SIZE extension; senders that honour it never start a bigger DATA.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024
# How long a list of mailbox addresses is trusted: a mailbox added in the UI starts
# receiving within this many seconds, and a burst of RCPTs costs one query.
RECIPIENTS_TTL_SECONDS = 5.0

TEMPORARY_FAILURE = "451 4.3.0 Temporary failure storing the message; please try again later"


class TendSMTP(SMTP):
    # RFC 5321 caps lines at 1,000 octets, but real mail (HTML from some senders,
    # relays that only split at 2,048) breaks it; aiosmtpd would answer a permanent 500
    # and the message would bounce. Accept long lines and keep the bytes as they came.
    line_length_limit = 1024 * 1024


def _store(raw: bytes, recipients: list[str]) -> int:
    # The envelope recipients name the mailbox (a Bcc'd support@ is nowhere else).
    return inbound_store(raw=raw, via=Via.SMTP, recipients=recipients).pk


def _closing_connections[T](func: Callable[..., T]) -> Callable[..., T]:
    """Run `func` and close the calling thread's database connections afterwards.

    The worker threads belong to the event loop's executor and outlive the call; a
    connection left open there would never be checked for age or health again (and on
    PostgreSQL it would keep the database busy after the receiver stops).
    """

    def run(*args: Any) -> T:
        try:
            return func(*args)
        finally:
            connections.close_all()

    return run


async def in_thread[T](func: Callable[..., T], *args: Any) -> T:
    """Run blocking database work off the event loop."""
    return await sync_to_async(_closing_connections(func), thread_sensitive=False)(*args)


class RecipientCache:
    """Active mailbox addresses, lower-cased, reloaded at most every `ttl` seconds."""

    def __init__(
        self,
        load: Callable[[], set[str]] = mailbox_addresses,
        *,
        ttl: float = RECIPIENTS_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.load = load
        self.ttl = ttl
        self.clock = clock
        self.addresses: set[str] | None = None
        self.loaded_at = 0.0
        self.lock = asyncio.Lock()

    def _fresh(self) -> bool:
        return self.addresses is not None and self.clock() - self.loaded_at < self.ttl

    async def contains(self, address: str) -> bool:
        if not self._fresh():
            # One reload for a burst of RCPTs on many connections, not one each.
            async with self.lock:
                if not self._fresh():
                    await self._reload()
        assert self.addresses is not None
        return address.lower() in self.addresses

    async def _reload(self) -> None:
        try:
            self.addresses = await in_thread(self.load)
        except Exception:
            if self.addresses is None:
                raise
            # The database hiccuped: yesterday's list beats refusing all mail.
            logger.exception("could not reload mailbox addresses; using the previous list")
        self.loaded_at = self.clock()


class InboundHandler:
    """aiosmtpd handler: accept mail for active mailboxes and store it raw."""

    def __init__(self, recipients: RecipientCache | None = None) -> None:
        self.recipients = recipients or RecipientCache()
        # Messages being written right now; a graceful stop waits for them.
        self.storing = 0

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            known = await self.recipients.contains(address)
        except Exception:
            logger.exception("could not check recipient %s", address)
            return TEMPORARY_FAILURE
        if not known:
            return f"550 5.1.1 <{address}>: Recipient address rejected: no such mailbox here"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content
        assert raw is not None  # aiosmtpd sets it before calling this hook
        self.storing += 1
        try:
            message_id = await in_thread(_store, raw, list(envelope.rcpt_tos))
        except Exception:
            # Nothing was committed (or it was, and the retry finds the same bytes):
            # either way a temporary answer makes the sender try again, losing nothing.
            logger.exception("could not store a message from %s", envelope.mail_from)
            return TEMPORARY_FAILURE
        finally:
            self.storing -= 1
        logger.info(
            "stored inbound message %s (%d bytes) from %s to %s",
            message_id,
            len(raw),
            envelope.mail_from,
            ", ".join(envelope.rcpt_tos),
        )
        return f"250 2.0.0 OK: queued as {message_id}"

    async def handle_exception(self, error: Exception) -> str:
        logger.error("SMTP session error", exc_info=error)
        return "451 4.3.0 Temporary server error; please try again later"


class ReceiverController(Controller):
    """aiosmtpd's threaded controller, serving `TendSMTP` sessions."""

    def factory(self) -> SMTP:
        return TendSMTP(self.handler, **self.SMTP_kwargs)


def make_controller(
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    max_bytes: int = MAX_MESSAGE_BYTES,
    handler: InboundHandler | None = None,
) -> ReceiverController:
    """A receiver ready to `start()`; it listens in a thread of its own."""
    return ReceiverController(
        handler or InboundHandler(),
        hostname=host,
        port=port,
        # Named here: aiosmtpd would otherwise ask DNS for this machine's FQDN.
        server_hostname=socket.gethostname(),
        data_size_limit=max_bytes,
        enable_SMTPUTF8=True,
        # Idle or stalled clients are dropped after this many seconds.
        timeout=120,
    )


def stop_gracefully(controller: ReceiverController, *, grace: float = 10.0) -> None:
    """Stop accepting connections, let messages being stored finish, then stop."""
    server = controller.server
    if server is not None:
        controller.loop.call_soon_threadsafe(server.close)
    handler = controller.handler
    deadline = time.monotonic() + grace
    while getattr(handler, "storing", 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    controller.stop()
