"""Reading Segment messages: checks, clock-skew correction and the rows to store.

Two readers give the same rows. ``read_message`` checks one message already parsed into
Python objects; it handles everything, including what only a parsed value can tell (a
message id made from the content, a batch-level context, traits to apply). The batch
reader (``read_raw_messages``) is for the common case, an HTTP body of track/page/screen
calls: msgspec decodes each message into a small typed record in C, and properties and
context are stored as the JSON text the client sent, not parsed and re-serialised. Any
message the quick checks do not clear (another type, a wrong field type, a missing
messageId, a timestamp outside the window...) is parsed and read by ``read_message``, so
it is stored or dropped exactly as before. About a third of the server's time per event
went into parsing and re-serialising before (bench/usage_ingest.py).

A message's size is the size of its JSON as sent (Segment's 32 KB per call).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from django.db import connection

from tend.usage.jsonfast import dumps_compact, loads
from tend.usage.models import DropReason
from tend.usage.sync import ID_MAX

MAX_MESSAGE_BYTES = 32 * 1024
MAX_TRAITS = 1000
FUTURE_TOLERANCE = timedelta(days=1)
EXCERPT_CHARS = 2000
TOO_LARGE_DETAIL = "the message is larger than 32 KB"

CALL_TYPES = ("track", "identify", "group", "page", "screen", "alias")
SYNC_TYPES = ("identify", "group")
# An object with more than MAX_TRAITS distinct keys takes at least this many characters
# ('"":0' plus, for every other key, ',"k":0' at the least): shorter raw JSON needs no count.
TRAITS_COUNT_FROM_CHARS = 5 * MAX_TRAITS


class Dropped(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


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
    # timestamp text -> the corrected time as the database takes it (see time_adapter)
    stored: dict[str, Any] = field(default_factory=dict)

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


# --- the rows to store ----------------------------------------------------------------

# (message_id, type, name, user_id, anonymous_id, group_id, timestamp, properties JSON,
# context JSON): an event row short of what storing adds (key, account, contact, time
# received). The JSON is text: re-serialised, or as the client sent it (batch reader).
Row = tuple[str, str, str, str, str, str, Any, Any, Any]


def time_adapter() -> Callable[[datetime], Any]:
    """A datetime as the hot path's SQL takes it: what Django stores on SQLite."""
    if connection.vendor != "sqlite":
        return lambda moment: moment
    # Naive UTC with a space separator. Memoised: a batch's events share a few moments.
    memo: dict[datetime, str] = {}

    def adapt(moment: datetime) -> str:
        text = memo.get(moment)
        if text is None:
            text = memo[moment] = str(moment.replace(tzinfo=None))
        return text

    return adapt


@dataclass
class Prepared:
    """One request's messages, checked and read, waiting to be stored."""

    write_key_id: int
    received: datetime
    rows: list[Row] = field(default_factory=list)
    # identify and group calls (also in rows): applied to contacts and accounts first.
    syncs: list[Message] = field(default_factory=list)
    drops: list[tuple[str, str, str, str]] = field(default_factory=list)  # reason, id, ...
    replayed: int = 0  # the same messageId twice in the request: the first one wins
    # SQLite: the activity in rows, tallied while reading — (day, userId, groupId,
    # event) -> [count, first time, last time] — so storing needs no aggregate query.
    activity: dict[tuple[str, str, str, str], list[Any]] = field(default_factory=dict)
    # The request as read (decompressed) and its call, kept for the ingest journal.
    body: bytes = b""
    call_type: str | None = None

    def drop(self, reason: str, detail: str, raw: Any) -> None:
        """Record a message that is not stored, with the reason and an excerpt."""
        message_id = raw.get("messageId") if isinstance(raw, dict) else ""
        self.drops.append((reason, str(message_id or "")[:200], detail[:500], _excerpt(raw)))


def tally(activity: dict[tuple[str, str, str, str], list[Any]], row: Row) -> None:
    """Count one row's activity (track by name, page and screen views by type)."""
    kind = row[1]
    if kind == "track":
        event = row[2]
    elif kind == "page" or kind == "screen":
        event = kind
    else:
        return
    when = row[6]
    key = (when[:10], row[3], row[5], event)
    total = activity.get(key)
    if total is None:
        activity[key] = [1, when, when]
    else:
        total[0] += 1
        if when < total[1]:
            total[1] = when
        elif when > total[2]:
            total[2] = when


def _window(received: datetime, sent_at: Any, keep_days: int) -> Window:
    sent = parse_time(sent_at)
    return Window(
        received_at=received,
        skew=(received - sent) if sent is not None else timedelta(0),
        oldest=received - timedelta(days=keep_days),
        newest=received + FUTURE_TOLERANCE,
    )


def _add_read(
    prepared: Prepared, raw: Any, call_type: str | None, window: Window, adapt: Any, seen: set[str]
) -> None:
    """Read one parsed message with read_message; a row, a sync or a drop."""
    try:
        message = read_message(raw, call_type, window)
    except Dropped as drop:
        prepared.drop(drop.reason, drop.detail, raw)
        return
    if message.message_id in seen:
        prepared.replayed += 1
        return
    seen.add(message.message_id)
    prepared.rows.append(
        (
            message.message_id,
            message.type,
            message.name,
            message.user_id,
            message.anonymous_id,
            message.group_id,
            adapt(message.timestamp),
            dumps_compact(message.properties),
            dumps_compact(message.context),
        )
    )
    if message.type in SYNC_TYPES:
        prepared.syncs.append(message)
    elif type(prepared.rows[-1][6]) is str:
        tally(prepared.activity, prepared.rows[-1])


def read_messages(
    *,
    write_key_id: int,
    messages: Sequence[Any],
    sent_at: Any,
    call_type: str | None,
    received: datetime,
    keep_days: int,
    check_sizes: bool = True,
) -> Prepared:
    """Check and read messages parsed into Python objects."""
    window = _window(received, sent_at, keep_days)
    adapt = time_adapter()
    prepared = Prepared(write_key_id, received)
    seen: set[str] = set()
    for raw in messages:
        if check_sizes and _message_size(raw) > MAX_MESSAGE_BYTES:
            prepared.drop(DropReason.TOO_LARGE, TOO_LARGE_DETAIL, raw)
            continue
        _add_read(prepared, raw, call_type, window, adapt, seen)
    return prepared


_NO_RAW = msgspec.Raw(b"")


class _Quick(msgspec.Struct, gc=False):
    """The fields a track, page or screen call is stored from; the rest is skipped."""

    type: str | None = None
    event: str | None = None
    name: str | None = None
    userId: str | None = None  # Segment's field names
    anonymousId: str | None = None
    messageId: str | None = None
    timestamp: str | None = None
    originalTimestamp: str | None = None
    properties: msgspec.Raw = _NO_RAW
    context: msgspec.Raw = _NO_RAW


class _ContextIds(msgspec.Struct, gc=False):
    groupId: str | None = None


_quick = msgspec.json.Decoder(_Quick).decode
_context_ids = msgspec.json.Decoder(_ContextIds).decode
_QUICK_TYPES = frozenset(("track", "page", "screen"))
_EMPTY_OBJECT = "{}"


def _quick_row(raw: msgspec.Raw, window: Window, adapt: Any) -> Row | None:
    """The row for a common, valid track/page/screen call; None: read it the long way."""
    try:
        quick = _quick(raw)
    except msgspec.ValidationError:
        return None
    kind = quick.type
    if kind not in _QUICK_TYPES:
        return None
    name = quick.event if kind == "track" else quick.name
    if not name or len(name) > 200 or name != name.strip():
        return None  # missing, or trimmed and cut by read_message
    user_id = quick.userId or ""
    anonymous_id = quick.anonymousId or ""
    if len(user_id) > ID_MAX or len(anonymous_id) > 200 or not (user_id or anonymous_id):
        return None
    message_id = quick.messageId
    if not message_id or len(message_id) > 200:
        return None  # a message id made from the content needs the parsed message
    stamp = quick.timestamp or quick.originalTimestamp
    if stamp is None:
        return None
    when = window.stored.get(stamp)
    if when is None:
        try:
            when = window.stored[stamp] = adapt(window.correct(stamp))
        except Dropped:
            return None
    # Text here, while reading: as bytes bound for a CAST in the INSERT it cost the
    # writer (the one thread every event waits on) more than it costs the reader.
    properties = str(quick.properties, "utf-8") or _EMPTY_OBJECT
    if properties[:1] != "{" or len(properties) > TRAITS_COUNT_FROM_CHARS:
        return None
    context = str(quick.context, "utf-8")
    group_id = ""
    if context:
        if len(context) > TRAITS_COUNT_FROM_CHARS:
            return None
        try:
            group_id = _context_ids(context).groupId or ""
        except msgspec.ValidationError:
            return None  # not an object, or a groupId that is not text
        if len(group_id) > ID_MAX:
            return None
    else:
        context = _EMPTY_OBJECT
    return (message_id, kind, name, user_id, anonymous_id, group_id, when, properties, context)


def read_raw_messages(
    *,
    write_key_id: int,
    messages: Sequence[msgspec.Raw],
    sent_at: Any,
    received: datetime,
    keep_days: int,
) -> Prepared:
    """Check and read a batch's messages, each the JSON text it arrived as."""
    window = _window(received, sent_at, keep_days)
    adapt = time_adapter()
    prepared = Prepared(write_key_id, received)
    rows, activity = prepared.rows, prepared.activity
    sqlite = connection.vendor == "sqlite"
    seen: set[str] = set()
    for raw in messages:
        if len(raw) > MAX_MESSAGE_BYTES:
            try:
                parsed = loads(bytes(raw))
            except ValueError:
                parsed = bytes(raw)[: EXCERPT_CHARS * 4].decode("utf-8", "replace")
            prepared.drop(DropReason.TOO_LARGE, TOO_LARGE_DETAIL, parsed)
            continue
        row = _quick_row(raw, window, adapt)
        if row is None:
            try:
                parsed = loads(bytes(raw))
            except ValueError:  # valid for msgspec's splitting, not for orjson (huge ints)
                prepared.drop(DropReason.MALFORMED, "the message is not valid JSON", "")
                continue
            _add_read(prepared, parsed, None, window, adapt, seen)
            continue
        if row[0] in seen:
            prepared.replayed += 1
            continue
        seen.add(row[0])
        rows.append(row)
        if sqlite:
            tally(activity, row)
    return prepared
