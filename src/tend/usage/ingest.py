"""Segment-compatible HTTP tracking API: POST /ingest/v1/{batch,track,identify,group,
page,screen,alias}.

Segment's client libraries work unchanged with their host set to ``<base>/ingest``.

Authentication: the write key as HTTP Basic user name (empty password, what Segment's
libraries send), as ``Authorization: Bearer <key>``, or as ``writeKey`` in the body.
Bodies may be gzip-compressed (``Content-Encoding: gzip``).

Limits, answered with Segment-shaped errors ``{"code": ..., "message": ...}``:
500 KB per request after decompression (413 ``request_too_large``), 2,500 messages per
batch (413 ``too_many_messages``), 32 KB of JSON per message (413 for a single call; in a
batch that one message is dropped and recorded), malformed JSON or body (400), missing,
unknown or revoked key (401), over the key's event rate (429 with Retry-After).

Every message of a batch that passes those checks is answered 200 ``{"success": true}``
and is either stored or recorded as an ``IngestDrop`` with its reason — never silently
lost and never a 500:
- ``malformed``: not an object, a field of the wrong type, a track without an event name,
  an unreadable timestamp, an id longer than 100 characters;
- ``no_identity``: neither userId nor anonymousId;
- ``too_large``: over 32 KB;
- ``too_many_traits``: more than 1,000 traits or properties — dropped, not truncated: a
  truncated identify would silently lose traits the product believes it sent;
- ``future`` / ``too_old``: more than a day ahead after clock-skew correction, or older
  than the raw-event window (TEND_EVENTS_KEEP_DAYS, 90 days by default).

Idempotency: one stored event per (write key, messageId); a message without a messageId
gets one from a hash of its content, so an exact replay still deduplicates. Only rows
actually inserted are counted into the daily rollups, so a replayed batch counts nothing.
Replays are not drops (the event is stored, once) and write no drop rows.

Clock skew (as Segment does): when the client says when it sent the request
(``sentAt``), each timestamp is moved by (receivedAt − sentAt).

Rollups and last-seen count what people do: track events by name, page and screen views
as "page" and "screen". identify, group and alias calls are stored raw but are not
activity (they are often sent by back-end syncs) and are not rolled up.

``tend.usage.asgi.ingest_fast_path`` serves these same views without Django's request
cycle, and stores the requests that queued up meanwhile in one transaction (group
commit). Reading messages is ``tend.usage.ingest_read``; storing them, rollups and
last-seen is ``tend.usage.ingest_store``. ``usage.events.events_ingested`` is sent once
after commit with the accounts that had new events.

NUL characters (``\\u0000`` in the JSON) are replaced by U+FFFD: PostgreSQL stores none.
"""

from __future__ import annotations

import base64
import binascii
import os
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from tend.core.ratelimit import client_ip, rate_limit_hit
from tend.usage.auth import key_known, key_lookup
from tend.usage.ingest_read import (
    MAX_MESSAGE_BYTES,
    Dropped,
    Prepared,
    Window,
    read_message,
    read_messages,
    read_raw_messages,
)
from tend.usage.ingest_store import Outcome, store_prepared
from tend.usage.jsonfast import loads
from tend.usage.services import events_keep_days

__all__ = ["MAX_MESSAGE_BYTES", "Outcome", "Prepared", "ingest_messages", "store_prepared"]

MAX_REQUEST_BYTES = 500 * 1024
MAX_BATCH = 2500

# Failed authentications per client address per minute before 429: guessing keys
# should be slow. Successful requests never touch this counter.
AUTH_FAILURES_PER_MINUTE = 60
# The per-key event rate is counted in the shared cache in units of events: 1/200 of
# the window's limit, at most RATE_UNIT_MAX (5,000 at the default 100,000 events/s), so
# the cache (a database write on the embedded default) is charged every few dozen
# batches, and a process overshoots the limit by at most half a percent.
RATE_UNIT_MAX = 5000
RATE_UNITS_PER_WINDOW = 200
RATE_WINDOW_SECONDS = 10
DEFAULT_EVENTS_PER_SECOND = 100_000


# --- answers ------------------------------------------------------------------------


def _error(status: int, code: str, message: str, retry_after: int = 0) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


_SUCCESS = b'{"success": true}'


def success_response() -> HttpResponse:
    return HttpResponse(_SUCCESS, content_type="application/json")


class Refused(Exception):
    """The whole request is refused with a Segment-shaped error."""

    def __init__(self, status: int, code: str, message: str, retry_after: int = 0) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = (
            status,
            code,
            message,
            retry_after,
        )

    def response(self) -> JsonResponse:
        return _error(self.status, self.code, self.message, self.retry_after)


# --- reading the request ------------------------------------------------------------


def _body(request: HttpRequest) -> bytes:
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > MAX_REQUEST_BYTES:
        raise Refused(413, "request_too_large", "The request is larger than 500 KB.")
    raw = request.read(MAX_REQUEST_BYTES + 1)
    if len(raw) > MAX_REQUEST_BYTES:
        raise Refused(413, "request_too_large", "The request is larger than 500 KB.")
    if "gzip" in request.headers.get("Content-Encoding", "").lower():
        # Decompress at most the limit plus one byte: a small "gzip bomb" that would
        # inflate to gigabytes is refused after 500 KB of work.
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            raw = inflater.decompress(raw, MAX_REQUEST_BYTES + 1)
        except zlib.error:
            raise Refused(400, "invalid_gzip", "The body is not valid gzip data.") from None
        if len(raw) > MAX_REQUEST_BYTES or inflater.unconsumed_tail:
            raise Refused(
                413, "request_too_large", "The request is larger than 500 KB uncompressed."
            )
    return raw


def _header_key(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.strip().partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return value.strip()
    if scheme == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Refused(401, "invalid_auth", "The Authorization header is malformed.") from None
        return decoded.partition(":")[0]
    return ""


def _events_per_second() -> int:
    value = getattr(settings, "TEND_INGEST_EVENTS_PER_SECOND", None) or os.environ.get(
        "TEND_INGEST_EVENTS_PER_SECOND", ""
    )
    try:
        return int(value) if value else DEFAULT_EVENTS_PER_SECOND
    except ValueError:
        return DEFAULT_EVENTS_PER_SECOND


@dataclass
class _KeyMeter:
    """Events not yet counted in the shared limiter, and a refusal remembered locally."""

    pending: int = 0
    blocked_until: float = 0.0


_meters: dict[int, _KeyMeter] = {}


def _rate_unit() -> tuple[int, int]:
    """Events per window, and per unit charged to the shared limiter."""
    per_window = _events_per_second() * RATE_WINDOW_SECONDS
    unit = int(
        getattr(settings, "TEND_INGEST_RATE_UNIT", 0)
        or min(RATE_UNIT_MAX, max(1, per_window // RATE_UNITS_PER_WINDOW))
    )
    return per_window, unit


def _rate_fits_locally(key_id: int, events: int) -> bool:
    """Count the events if that needs no charge to the shared limiter (see _rate_check);
    False, counting nothing, when it does or the key is refused for now."""
    meter = _meters.get(key_id)
    if meter is None or meter.blocked_until > time.time():
        return False
    if meter.pending + max(1, events) >= _rate_unit()[1]:
        return False
    meter.pending += max(1, events)
    return True


def _rate_check(key_id: int, events: int) -> None:
    """Refuse (429) when the key is over its event rate across all processes.

    Each process counts events locally and charges the shared fixed-window limiter one
    unit per so many events (see RATE_UNIT_MAX), so the cost is one cache round trip per
    thousands of events instead of per request; a process may overshoot by less than one
    unit.
    """
    meter = _meters.setdefault(key_id, _KeyMeter())
    now = time.time()
    if meter.blocked_until > now:
        raise Refused(
            429,
            "rate_limited",
            "Too many events for this write key; retry later.",
            max(1, int(meter.blocked_until - now + 0.999)),
        )
    per_window, unit = _rate_unit()
    limit_units = max(1, per_window // unit)
    meter.pending += max(1, events)
    while meter.pending >= unit:
        meter.pending -= unit
        result = rate_limit_hit(f"usage.ingest:{key_id}", limit_units, RATE_WINDOW_SECONDS)
        if not result.allowed:
            meter.pending = 0
            meter.blocked_until = now + result.retry_after
            raise Refused(
                429,
                "rate_limited",
                "Too many events for this write key; retry later.",
                result.retry_after,
            )


def _authenticate(request: HttpRequest, body: Mapping[str, Any], header_key: str) -> int:
    key = header_key or body.get("writeKey")
    if not isinstance(key, str) or not key:
        raise Refused(401, "missing_write_key", "A write key is required.")
    state = key_lookup(key)
    if state is None or state.revoked:
        limited = rate_limit_hit(
            f"usage.ingest.auth:{client_ip(request)}", AUTH_FAILURES_PER_MINUTE, 60
        )
        if not limited.allowed:
            raise Refused(
                429,
                "rate_limited",
                "Too many failed attempts; retry later.",
                limited.retry_after,
            )
        if state is None:
            raise Refused(401, "invalid_write_key", "The write key is not valid.")
        raise Refused(401, "revoked_write_key", "The write key has been revoked.")
    return state.id


_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)
_NO_RAW = msgspec.Raw(b"")


class _Envelope(msgspec.Struct, gc=False):
    """A batch request, its messages left as the JSON text they arrived as."""

    batch: list[msgspec.Raw] | None = None
    writeKey: Any = None  # Segment's field names
    sentAt: Any = None
    context: msgspec.Raw = _NO_RAW


_envelope = msgspec.json.Decoder(_Envelope).decode

# --- views --------------------------------------------------------------------------


def ingest_prepare(request: HttpRequest, call_type: str | None) -> Prepared | HttpResponse:
    """Everything about a request short of storing it: method, body, JSON, key, limits,
    rate and each message's checks. An answer means the request ends there."""
    if request.method != "POST":
        response = _error(405, "method_not_allowed", "Use POST.")
        response["Allow"] = "POST"
        return response
    try:
        header_key = _header_key(request)
        raw = _body(request)
        if call_type is None:
            quick = _prepare_raw_batch(request, raw, header_key)
            if quick is not None:
                quick.body = raw
                return quick
        try:
            body = loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise Refused(400, "invalid_json", "The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise Refused(400, "invalid_body", "The body must be a JSON object.")
        if b"\\u0000" in raw:
            body = _without_nul(body)
        key_id = _authenticate(request, body, header_key)
        if call_type is None:
            if not isinstance(body.get("batch"), list):
                raise Refused(400, "invalid_batch", "batch must be a list of messages.")
            _check_batch_size(len(body["batch"]))
            messages = _batch_messages(body)
        else:
            if len(raw) > MAX_MESSAGE_BYTES:
                raise Refused(413, "message_too_large", "A message is at most 32 KB.")
            messages = [body]
            # A single call must be valid; only time-window drops are accepted and recorded.
            window = Window(timezone.now(), timedelta(0), _EARLIEST, _LATEST)
            try:
                read_message(body, call_type, window)
            except Dropped as drop:
                raise Refused(400, drop.reason, drop.detail) from None
        _rate_check(key_id, len(messages))
        prepared = read_messages(
            write_key_id=key_id,
            messages=messages,
            sent_at=body.get("sentAt"),
            call_type=call_type,
            received=timezone.now(),
            keep_days=events_keep_days(),
            check_sizes=call_type is None and len(raw) > MAX_MESSAGE_BYTES,
        )
    except Refused as refused:
        return refused.response()
    prepared.body, prepared.call_type = raw, call_type
    return prepared


def ingest_prepare_quick(request: HttpRequest, call_type: str | None) -> Prepared | None:
    """What ``ingest_prepare`` gives for the common request, a batch from a key already
    known that needs no charge to the shared rate limiter, without any database query;
    None, having changed nothing, for anything else (ingest_prepare answers it).

    The ingest fast path calls this on its event loop, where Django allows no query:
    a request then goes from its arrival to its answer without a thread hop."""
    if call_type is not None or request.method != "POST":
        return None
    if "gzip" in request.headers.get("Content-Encoding", "").lower():
        return None
    raw = request.body
    if len(raw) > MAX_REQUEST_BYTES:
        return None
    try:
        header_key = _header_key(request)
    except Refused:
        return None
    envelope = _raw_batch_envelope(raw)
    if envelope is None or envelope.batch is None or len(envelope.batch) > MAX_BATCH:
        return None
    key = header_key or envelope.writeKey
    state = key_known(key) if isinstance(key, str) else None
    if state is None or state.revoked or not _rate_fits_locally(state.id, len(envelope.batch)):
        return None
    prepared = _read_batch(envelope, state.id, timezone.now())
    prepared.body = raw
    return prepared


def ingest_reread(
    *, body: bytes, call_type: str | None, write_key_id: int, received: datetime
) -> Prepared:
    """Read again a request that was answered 200 and not stored (the ingest journal
    after a crash, tend.usage.ingest_journal): the same rows, drops and times as when
    it arrived. Its key, limits and rate were checked then and are not checked again: a
    key revoked since must not lose events that were accepted."""
    if call_type is None:
        envelope = _raw_batch_envelope(body)
        if envelope is not None:
            return _read_batch(envelope, write_key_id, received)
    parsed = loads(body)
    if b"\\u0000" in body:
        parsed = _without_nul(parsed)
    return read_messages(
        write_key_id=write_key_id,
        messages=_batch_messages(parsed) if call_type is None else [parsed],
        sent_at=parsed.get("sentAt"),
        call_type=call_type,
        received=received,
        keep_days=events_keep_days(),
        check_sizes=call_type is None and len(body) > MAX_MESSAGE_BYTES,
    )


def _batch_messages(body: dict[str, Any]) -> list[Any]:
    """A batch's messages; a batch-level context applies to messages that carry none."""
    messages: list[Any] = body["batch"]
    context = body.get("context")
    if isinstance(context, dict) and context:
        for message in messages:
            if isinstance(message, dict) and "context" not in message:
                message["context"] = context
    return messages


def _raw_batch_envelope(raw: bytes) -> _Envelope | None:
    """The batch's envelope when read_raw_messages can read it; None when the body needs
    the general path: not a well-formed batch (which answers the exact error), a
    batch-level context, or escapes that only a parse can judge (NUL, UTF-16
    surrogates)."""
    # One byte first: finding it is a memchr (the three-byte searches cost ~60 µs for a
    # 30 KB body), and most bodies have no escape at all.
    if b"\\" in raw and (b"\\u0000" in raw or b"\\ud" in raw or b"\\uD" in raw):
        return None
    try:
        # msgspec leaves the JSON text of each message unchecked, and it is stored as
        # sent: invalid UTF-8 must be refused here, as the general path's parser does.
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
    try:
        envelope = _envelope(raw)
    except msgspec.MsgspecError:
        return None
    if envelope.batch is None or (len(envelope.context) and bytes(envelope.context) != b"{}"):
        return None
    return envelope


def _prepare_raw_batch(request: HttpRequest, raw: bytes, header_key: str) -> Prepared | None:
    """A batch read message by message from its JSON text (ingest_read.read_raw_messages);
    None when the body needs the general path (see _raw_batch_envelope)."""
    envelope = _raw_batch_envelope(raw)
    if envelope is None or envelope.batch is None:
        return None
    messages = envelope.batch
    key_id = _authenticate(request, {"writeKey": envelope.writeKey}, header_key)
    _check_batch_size(len(messages))
    _rate_check(key_id, len(messages))
    return _read_batch(envelope, key_id, timezone.now())


def _read_batch(envelope: _Envelope, key_id: int, received: datetime) -> Prepared:
    """Read a batch whose envelope _raw_batch_envelope accepted."""
    return read_raw_messages(
        write_key_id=key_id,
        messages=envelope.batch or [],
        sent_at=envelope.sentAt,
        received=received,
        keep_days=events_keep_days(),
    )


def _check_batch_size(count: int) -> None:
    if count > MAX_BATCH:
        raise Refused(413, "too_many_messages", f"A batch holds at most {MAX_BATCH} messages.")


def _without_nul(value: Any) -> Any:
    """The value with every NUL character in its strings and keys replaced by U+FFFD.

    JSON may carry "\\u0000", but PostgreSQL stores no NUL in text or jsonb: left in,
    one such character would fail the whole request. Only bodies that contain the escape
    come here, so the common case pays one bytes search.
    """
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_nul(v) for v in value]
    return value


def ingest_messages(
    *,
    write_key_id: int,
    messages: Sequence[Any],
    sent_at: Any = None,
    call_type: str | None = None,
    received_at: datetime | None = None,
    check_sizes: bool = True,
) -> Outcome:
    """Check and store messages already parsed into Python objects, in their own
    transaction (see the module docstring); for imports and tests."""
    prepared = read_messages(
        write_key_id=write_key_id,
        messages=messages,
        sent_at=sent_at,
        call_type=call_type,
        received=received_at or timezone.now(),
        keep_days=events_keep_days(),
        check_sizes=check_sizes,
    )
    return store_prepared([prepared])


def _ingest(request: HttpRequest, call_type: str | None) -> HttpResponse:
    prepared = ingest_prepare(request, call_type)
    if isinstance(prepared, HttpResponse):
        return prepared
    store_prepared([prepared])
    return success_response()


def _view(call_type: str | None) -> Callable[[HttpRequest], HttpResponse]:
    @csrf_exempt  # machine endpoint: authenticated by the write key, never by a session
    def view(request: HttpRequest) -> HttpResponse:
        return _ingest(request, call_type)

    view.__name__ = f"ingest_{call_type or 'batch'}"
    return view


ingest_batch = _view(None)
ingest_track = _view("track")
ingest_identify = _view("identify")
ingest_group = _view("group")
ingest_page = _view("page")
ingest_screen = _view("screen")
ingest_alias = _view("alias")
