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
commit, ``store_prepared``). The hot path is plain SQL: one query to find replays of
identify/group calls, one multi-row INSERT … ON CONFLICT DO NOTHING RETURNING for the
events, one upsert per (day, account, contact, event) aggregated in Python first, one
UPDATE per contact and account for last-seen; ``usage.events.events_ingested`` is sent
once after commit.

NUL characters (``\\u0000`` in the JSON) are replaced by U+FFFD: PostgreSQL stores none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from tend.core.commit import after_commit
from tend.core.ratelimit import client_ip, rate_limit_hit
from tend.usage.auth import key_lookup
from tend.usage.events import events_ingested
from tend.usage.hot_cursor import HotCursor
from tend.usage.jsonfast import dumps_compact, loads
from tend.usage.models import DropReason
from tend.usage.services import events_keep_days
from tend.usage.sync import (
    ID_MAX,
    Touched,
    account_from_group,
    accounts_for_group_ids,
    contact_from_identify,
    contacts_for_user_ids,
)

MAX_MESSAGE_BYTES = 32 * 1024
MAX_REQUEST_BYTES = 500 * 1024
MAX_BATCH = 2500
MAX_TRAITS = 1000
FUTURE_TOLERANCE = timedelta(days=1)
EXCERPT_CHARS = 2000
INSERT_CHUNK = 500  # rows per multi-row INSERT (13 parameters each)

CALL_TYPES = ("track", "identify", "group", "page", "screen", "alias")
ACTIVITY_TYPES = {"track": None, "page": "page", "screen": "screen"}
SYNC_TYPES = ("identify", "group")

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
LAST_USED_EVERY_SECONDS = 60.0


# --- answers ------------------------------------------------------------------------


def _error(status: int, code: str, message: str, retry_after: int = 0) -> JsonResponse:
    response = JsonResponse({"code": code, "message": message}, status=status)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


_SUCCESS = b'{"success": true}'


def _success() -> HttpResponse:
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


class Dropped(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


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
    last_used: float = 0.0


_meters: dict[int, _KeyMeter] = {}


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
    per_window = _events_per_second() * RATE_WINDOW_SECONDS
    unit = int(
        getattr(settings, "TEND_INGEST_RATE_UNIT", 0)
        or min(RATE_UNIT_MAX, max(1, per_window // RATE_UNITS_PER_WINDOW))
    )
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


# --- one message --------------------------------------------------------------------


@dataclass(slots=True)
class Message:
    type: str
    message_id: str
    name: str
    user_id: str
    anonymous_id: str
    group_id: str
    timestamp: datetime
    properties: dict[str, Any]  # properties (track/page/screen) or traits
    context: dict[str, Any]
    previous_id: str = ""


def _ident(value: Any, field_name: str, limit: int = ID_MAX) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise Dropped(DropReason.MALFORMED, f"{field_name} must be a string")
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        raise Dropped(DropReason.MALFORMED, f"{field_name} is longer than {limit} characters")
    return text


def _object(value: Any, field_name: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Dropped(DropReason.MALFORMED, f"{field_name} must be an object")
    if len(value) > MAX_TRAITS:
        raise Dropped(
            DropReason.TOO_MANY_TRAITS, f"{field_name} has {len(value)} keys (at most {MAX_TRAITS})"
        )
    return value


_parsed_times: dict[str, datetime] = {}


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as an aware UTC datetime; None when absent or unreadable."""
    if not isinstance(value, str) or not value:
        return None
    cached = _parsed_times.get(value)
    if cached is not None:
        return cached
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if len(_parsed_times) > 10_000:
        _parsed_times.clear()
    _parsed_times[value] = moment
    return moment


def _content_id(raw: Mapping[str, Any]) -> str:
    # sentAt and writeKey describe the delivery, not the event: a replay sent again later
    # must hash the same.
    content = {k: v for k, v in raw.items() if k not in ("sentAt", "writeKey")}
    encoded = json.dumps(content, sort_keys=True, separators=(",", ":"), default=str)
    return "tend-" + hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass
class Window:
    """When the request arrived, the clock-skew correction and the accepted range."""

    received_at: datetime
    skew: timedelta
    oldest: datetime
    newest: datetime
    # timestamp text -> corrected time; a batch's events share a few timestamps.
    corrected: dict[str, datetime] = field(default_factory=dict)

    def correct(self, stamp: Any) -> datetime:
        if stamp is None or stamp == "":
            moment = self.received_at
        else:
            parsed = parse_time(stamp)
            if parsed is None:
                raise Dropped(DropReason.MALFORMED, "timestamp is not an ISO 8601 time")
            moment = parsed + self.skew
        if moment > self.newest:
            raise Dropped(DropReason.FUTURE, f"timestamp {moment.isoformat()} is in the future")
        if moment < self.oldest:
            raise Dropped(DropReason.TOO_OLD, f"timestamp {moment.isoformat()} is too old")
        if isinstance(stamp, str):
            self.corrected[stamp] = moment
        return moment


def _text_id(value: Any, field_name: str, limit: int) -> str:
    # The common case (a string within the limit) inline; everything else through _ident.
    if type(value) is str and len(value) <= limit:
        return value
    return _ident(value, field_name, limit)


def read_message(raw: Any, call_type: str | None, window: Window) -> Message:
    """Validate one message and correct its timestamp; raise Dropped with the reason."""
    if type(raw) is not dict:
        raise Dropped(DropReason.MALFORMED, "a message must be an object")
    get = raw.get
    kind = call_type or get("type")
    if kind not in CALL_TYPES:
        raise Dropped(DropReason.MALFORMED, f"unknown type {str(kind)[:40]!r}")
    user_id = get("userId")
    if type(user_id) is not str or len(user_id) > ID_MAX:
        user_id = _ident(user_id, "userId", ID_MAX)
    anonymous_id = get("anonymousId")
    if type(anonymous_id) is not str or len(anonymous_id) > 200:
        anonymous_id = _ident(anonymous_id, "anonymousId", 200)
    if not user_id and not anonymous_id:
        raise Dropped(DropReason.NO_IDENTITY, "neither userId nor anonymousId")
    context = get("context")
    if type(context) is not dict or len(context) > MAX_TRAITS:
        context = _object(context, "context")
    group_id = _text_id(
        get("groupId") if kind == "group" else context.get("groupId"), "groupId", ID_MAX
    )
    previous_id = ""
    if kind == "track":
        name = get("event")
        if type(name) is not str or not name or len(name) > 200 or name != name.strip():
            if not isinstance(name, str) or not name.strip():
                raise Dropped(DropReason.MALFORMED, "track needs an event name")
            name = name.strip()[:200]
        properties = get("properties")
        if type(properties) is not dict or len(properties) > MAX_TRAITS:
            properties = _object(properties, "properties")
    elif kind in ("page", "screen"):
        properties = _object(get("properties"), "properties")
        name = get("name") or properties.get("name") or ""
        name = name.strip()[:200] if isinstance(name, str) else ""
    elif kind in ("identify", "group"):
        properties = _object(get("traits"), "traits")
        if kind == "group" and not group_id:
            raise Dropped(DropReason.MALFORMED, "group needs a groupId")
        name = kind
    else:  # alias
        properties = {}
        previous_id = _ident(get("previousId"), "previousId")
        name = kind
    message_id = get("messageId")
    if type(message_id) is not str or not message_id or len(message_id) > 200:
        if message_id is None or message_id == "":
            message_id = _content_id(raw)
        elif isinstance(message_id, (str, int)) and not isinstance(message_id, bool):
            message_id = str(message_id)[:200]
        else:
            raise Dropped(DropReason.MALFORMED, "messageId must be a string")
    stamp = get("timestamp") or get("originalTimestamp")
    moment = window.corrected.get(stamp) if type(stamp) is str else None
    if moment is None:
        moment = window.correct(stamp)
    return Message(
        kind,
        message_id,
        name,
        user_id,
        anonymous_id,
        group_id,
        moment,
        properties,
        context,
        previous_id,
    )


def _excerpt(raw: Any) -> str:
    try:
        text = json.dumps(raw, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(raw)
    return text[:EXCERPT_CHARS]


def _message_size(raw: Any) -> int:
    return len(dumps_compact(raw))


# --- storing ------------------------------------------------------------------------


def _time_adapter() -> Callable[[datetime], Any]:
    if connection.vendor != "sqlite":
        return lambda moment: moment
    # What Django stores for a DateTimeField on SQLite: naive UTC, space separator.
    # Memoised per request: a batch's events mostly share a handful of timestamps.
    memo: dict[datetime, str] = {}

    def adapt(moment: datetime) -> str:
        text = memo.get(moment)
        if text is None:
            text = memo[moment] = str(moment.replace(tzinfo=None))
        return text

    return adapt


@dataclass
class Outcome:
    stored: int = 0
    replayed: int = 0
    drops: list[tuple[str, str, str, str]] = field(default_factory=list)  # reason, id, ...
    account_ids: list[int] = field(default_factory=list)


@dataclass
class Prepared:
    """One request's messages, read and checked, waiting to be stored."""

    write_key_id: int
    read: list[Message]
    received: datetime
    outcome: Outcome


def read_messages(
    *,
    write_key_id: int,
    messages: Sequence[Any],
    sent_at: Any = None,
    call_type: str | None = None,
    received_at: datetime | None = None,
    check_sizes: bool = True,
) -> Prepared:
    """Check and read a request's messages; what cannot be stored becomes a drop."""
    received = received_at or timezone.now()
    sent = parse_time(sent_at)
    window = Window(
        received_at=received,
        skew=(received - sent) if sent is not None else timedelta(0),
        oldest=received - timedelta(days=events_keep_days()),
        newest=received + FUTURE_TOLERANCE,
    )
    outcome = Outcome()
    read: list[Message] = []
    seen_ids: set[str] = set()
    for raw in messages:
        try:
            if check_sizes and _message_size(raw) > MAX_MESSAGE_BYTES:
                raise Dropped(DropReason.TOO_LARGE, "the message is larger than 32 KB")
            message = read_message(raw, call_type, window)
        except Dropped as drop:
            message_id = raw.get("messageId") if isinstance(raw, dict) else ""
            outcome.drops.append(
                (drop.reason, str(message_id or "")[:200], drop.detail[:500], _excerpt(raw))
            )
            continue
        if message.message_id in seen_ids:
            outcome.replayed += 1  # the same id twice in one request: the first wins
            continue
        seen_ids.add(message.message_id)
        read.append(message)
    return Prepared(write_key_id, read, received, outcome)


def ingest_messages(
    *,
    write_key_id: int,
    messages: Sequence[Any],
    sent_at: Any = None,
    call_type: str | None = None,
    received_at: datetime | None = None,
    check_sizes: bool = True,
) -> Outcome:
    """Store a request's messages (see the module docstring). Runs in its own
    transaction; the signal and search re-index follow the commit."""
    prepared = read_messages(
        write_key_id=write_key_id,
        messages=messages,
        sent_at=sent_at,
        call_type=call_type,
        received_at=received_at,
        check_sizes=check_sizes,
    )
    store_prepared([prepared])
    return prepared.outcome


def store_prepared(items: Sequence[Prepared]) -> None:
    """Store several requests' messages in one transaction (group commit).

    Concurrent requests queue behind SQLite's single writer anyway; storing what has
    queued up together pays the transaction, the identity lookups and the last-seen
    updates once per group instead of once per request. Each request's outcome is
    filled in as if it had been stored alone; a message id sent in two requests of the
    group is stored once and counted as a replay in the later one.
    """
    with transaction.atomic():
        _store(items)


def _existing_ids(cursor: Any, write_key_id: int, ids: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(ids), INSERT_CHUNK):
        chunk = ids[start : start + INSERT_CHUNK]
        marks = ",".join(["%s"] * len(chunk))
        cursor.execute(
            "SELECT message_id FROM usage_event WHERE write_key_id = %s "  # noqa: S608 (placeholders only)
            f"AND message_id IN ({marks})",
            [write_key_id, *chunk],
        )
        found.update(row[0] for row in cursor.fetchall())
    return found


def _store(items: Sequence[Prepared]) -> None:
    adapt = _time_adapter()
    postgres = connection.vendor == "postgresql"
    with HotCursor() as cursor:
        # Only identify/group calls change anything before their row is inserted, so
        # only their replays need finding first; the INSERT's RETURNING finds the rest.
        # Across the group, a (key, message id) already taken by an earlier request is
        # a replay too.
        taken: set[tuple[int, str]] = set()
        fresh_by_item: list[list[Message]] = []
        for item in items:
            existing = _existing_ids(
                cursor,
                item.write_key_id,
                [m.message_id for m in item.read if m.type in SYNC_TYPES],
            )
            key = item.write_key_id
            fresh: list[Message] = []
            for m in item.read:
                if m.message_id in existing or (key, m.message_id) in taken:
                    continue
                taken.add((key, m.message_id))
                fresh.append(m)
            item.outcome.replayed += len(item.read) - len(fresh)
            fresh_by_item.append(fresh)
        touched = Touched()
        # identify and group first, in order: the other calls of the same batch then
        # find the contact and account they make.
        for fresh in fresh_by_item:
            for message in fresh:
                if message.type == "identify" and (message.user_id or message.properties):
                    if message.user_id or message.properties.get("email"):
                        contact_from_identify(
                            user_id=message.user_id, traits=message.properties, touched=touched
                        )
                elif message.type == "group":
                    account_from_group(
                        group_id=message.group_id,
                        traits=message.properties,
                        user_id=message.user_id,
                        touched=touched,
                    )
        contacts_for_user_ids((m.user_id for f in fresh_by_item for m in f), touched)
        accounts_for_group_ids((m.group_id for f in fresh_by_item for m in f), touched)
        users, groups = touched.users, touched.groups
        rows: list[tuple[Any, ...]] = []
        # (key, message id) -> (account, contact)
        placed: dict[tuple[int, str], tuple[int | None, int | None]] = {}
        dumps = dumps_compact
        for item, fresh in zip(items, fresh_by_item, strict=True):
            key = item.write_key_id
            received_db = adapt(item.received)
            for m in fresh:
                contact_id, account_id = (
                    users.get(m.user_id, (None, None)) if m.user_id else (None, None)
                )
                if m.group_id:
                    account_id = groups.get(m.group_id, account_id)
                placed[(key, m.message_id)] = (account_id, contact_id)
                rows.append(
                    (
                        key,
                        m.message_id,
                        m.type,
                        m.name,
                        m.user_id,
                        m.anonymous_id,
                        m.group_id,
                        account_id,
                        contact_id,
                        adapt(m.timestamp),
                        received_db,
                        dumps(m.properties),
                        dumps(m.context),
                    )
                )
        inserted: set[tuple[int, str]] = set()
        json_mark = "%s::jsonb" if postgres else "%s"
        row_marks = f"(%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,{json_mark},{json_mark})"
        for start in range(0, len(rows), INSERT_CHUNK):
            chunk = rows[start : start + INSERT_CHUNK]
            cursor.execute(
                "INSERT INTO usage_event (write_key_id, message_id, type, name, user_id, "  # noqa: S608 (placeholders only)
                "anonymous_id, group_id, account_id, contact_id, timestamp, received_at, "
                "properties, context) VALUES "
                + ",".join([row_marks] * len(chunk))
                + " ON CONFLICT (write_key_id, message_id) DO NOTHING "
                "RETURNING write_key_id, message_id",
                [value for row in chunk for value in row],
            )
            inserted.update(cursor.fetchall())
        activity: list[tuple[Message, int | None, int | None, datetime]] = []
        all_accounts: set[int] = set()
        for item, fresh in zip(items, fresh_by_item, strict=True):
            key = item.write_key_id
            stored = [m for m in fresh if (key, m.message_id) in inserted]
            item.outcome.stored = len(stored)
            item.outcome.replayed += len(fresh) - len(stored)
            accounts: set[int] = set()
            for m in stored:
                account_id, contact_id = placed[(key, m.message_id)]
                if account_id is not None:
                    accounts.add(account_id)
                activity.append((m, account_id, contact_id, item.received))
            item.outcome.account_ids = sorted(accounts)
            all_accounts |= accounts
        _rollup(cursor, activity, adapt)
        drops = [
            (item.write_key_id, adapt(item.received), *drop)
            for item in items
            for drop in item.outcome.drops
        ]
        if drops:
            cursor.executemany(
                "INSERT INTO usage_ingestdrop (write_key_id, received_at, reason, message_id, "
                "detail, excerpt) VALUES (%s, %s, %s, %s, %s, %s)",
                drops,
            )
        now = time.monotonic()
        for key in sorted({item.write_key_id for item in items}):
            meter = _meters.setdefault(key, _KeyMeter())
            if now - meter.last_used > LAST_USED_EVERY_SECONDS:
                meter.last_used = now
                # Plain SQL: a model save would make every process's key cache forget.
                cursor.execute(
                    "UPDATE usage_writekey SET last_used_at = %s WHERE id = %s",
                    [adapt(max(i.received for i in items if i.write_key_id == key)), key],
                )
    touched.reindex_after_commit()
    if all_accounts:
        account_ids = sorted(all_accounts)
        after_commit(lambda: events_ingested.send(sender=Outcome, account_ids=account_ids))


def _rollup(
    cursor: Any,
    stored: Sequence[tuple[Message, int | None, int | None, datetime]],
    adapt: Callable[[datetime], Any],
) -> None:
    """Count the newly stored activity — (message, account, contact, received at) —
    into the daily rollups and last-seen."""
    totals: dict[tuple[Any, ...], list[Any]] = {}
    contact_seen: dict[int, datetime] = {}
    account_seen: dict[int, datetime] = {}
    for m, account_id, contact_id, received in stored:
        if m.type not in ACTIVITY_TYPES:
            continue
        event = ACTIVITY_TYPES[m.type] or m.name
        moment = m.timestamp
        key = (moment.date(), account_id, contact_id, event)
        total = totals.get(key)
        if total is None:
            totals[key] = [1, moment, moment]
        else:
            total[0] += 1
            if moment < total[1]:
                total[1] = moment
            if moment > total[2]:
                total[2] = moment
        # Last seen never moves past now: a clock a few hours ahead is tolerated above,
        # but "seen tomorrow" would read as a mistake.
        seen = moment if moment < received else received
        if contact_id is not None:
            previous = contact_seen.get(contact_id)
            if previous is None or seen > previous:
                contact_seen[contact_id] = seen
        if account_id is not None:
            previous = account_seen.get(account_id)
            if previous is None or seen > previous:
                account_seen[account_id] = seen
    if not totals:
        return
    postgres = connection.vendor == "postgresql"
    least, greatest = ("LEAST", "GREATEST") if postgres else ("MIN", "MAX")
    table = "usage_dailyrollup"
    cursor.executemany(
        f"INSERT INTO {table} (day, account_id, contact_id, event, count, first_at, last_at) "  # noqa: S608
        "VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (day, COALESCE(account_id, 0), COALESCE(contact_id, 0), event) "
        f"DO UPDATE SET count = {table}.count + excluded.count, "
        f"first_at = {least}({table}.first_at, excluded.first_at), "
        f"last_at = {greatest}({table}.last_at, excluded.last_at)",
        [
            (
                day if postgres else day.isoformat(),
                account_id,
                contact_id,
                event,
                count,
                adapt(first),
                adapt(last),
            )
            for (day, account_id, contact_id, event), (count, first, last) in totals.items()
        ],
    )
    for table_name, seen_map in (("crm_contact", contact_seen), ("crm_account", account_seen)):
        if seen_map:
            cursor.executemany(
                f"UPDATE {table_name} SET last_seen_at = %s "  # noqa: S608
                "WHERE id = %s AND (last_seen_at IS NULL OR last_seen_at < %s)",
                [(adapt(seen), pk, adapt(seen)) for pk, seen in seen_map.items()],
            )


_EARLIEST = datetime.min.replace(tzinfo=UTC) + timedelta(days=1)
_LATEST = datetime.max.replace(tzinfo=UTC) - timedelta(days=1)

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
            messages = body.get("batch")
            if not isinstance(messages, list):
                raise Refused(400, "invalid_batch", "batch must be a list of messages.")
            if len(messages) > MAX_BATCH:
                raise Refused(
                    413, "too_many_messages", f"A batch holds at most {MAX_BATCH} messages."
                )
            context = body.get("context")
            if isinstance(context, dict) and context:
                # A batch-level context applies to messages that carry none.
                for message in messages:
                    if isinstance(message, dict) and "context" not in message:
                        message["context"] = context
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
        return read_messages(
            write_key_id=key_id,
            messages=messages,
            sent_at=body.get("sentAt"),
            call_type=call_type,
            check_sizes=call_type is None and len(raw) > MAX_MESSAGE_BYTES,
        )
    except Refused as refused:
        return refused.response()


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


def success_response() -> HttpResponse:
    return _success()


def _ingest(request: HttpRequest, call_type: str | None) -> HttpResponse:
    prepared = ingest_prepare(request, call_type)
    if isinstance(prepared, HttpResponse):
        return prepared
    store_prepared([prepared])
    return _success()


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
