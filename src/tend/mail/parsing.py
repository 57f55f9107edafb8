"""Turn raw RFC 5322 bytes into a ParsedMessage, never raising on bad input."""

from __future__ import annotations

import codecs
import email
import email.policy
import html as html_mod
import mimetypes
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parseaddr

# Mail clients label content with a narrower charset than they actually use: "gb2312" mail
# is routinely GBK/GB18030, "big5" is often Big5-HKSCS, Korean clients say ks_c_5601-1987.
# Decoding with the superset is lossless for the subset, so always widen.
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "euc-kr": "cp949",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-1": "cp1252",  # Outlook's "Latin-1" is really windows-1252
    "us-ascii": "utf-8",
    "unknown-8bit": "utf-8",
    "x-unknown": "utf-8",
}

# What goes into ParsedMessage.text / .html for display and reply extraction. A 10 MB
# single-line body is kept whole in the raw message (one click away); showing or regex-
# scanning all of it would only make the ticket page and the worker slow.
DISPLAY_LIMIT = 1_000_000
# Header values longer than this are junk or an attack; real ones are a few hundred bytes.
HEADER_LIMIT = 64_000
# Nesting and part limits: a message is walked without recursion, but a pathological one
# (thousands of nested multiparts) is still cut off rather than walked forever.
MAX_DEPTH = 30
MAX_PARTS = 1000

_ID_RE = re.compile(r"<[^<>\s]+>")
_CHARSET_LABEL = re.compile(r"^[a-z0-9][a-z0-9._:+-]{0,39}$")
_SKIPPED_TYPES = ("multipart/", "message/delivery-status", "message/disposition-notification")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    # Content-ID without angle brackets, so HTML "cid:" references can be resolved.
    content_id: str = ""


@dataclass
class ParsedMessage:
    message_id: str = ""
    subject: str = ""
    from_email: str = ""
    from_name: str = ""
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    text: str = ""
    html: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)
    to: list[str] = field(default_factory=list)  # lower-cased addresses
    cc: list[str] = field(default_factory=list)
    # Headers that decide loop protection and bounce handling, by lower-cased name
    # (see LOOP_HEADERS); absent headers are absent keys.
    headers: dict[str, str] = field(default_factory=dict)
    # Top-level type, e.g. "multipart/report" (with report_type "delivery-status") for DSNs.
    content_type: str = ""
    report_type: str = ""
    # True when text or html was cut to DISPLAY_LIMIT (or parts were skipped because the
    # message is nested too deep): the raw message holds the rest.
    truncated: bool = False


LOOP_HEADERS = (
    "auto-submitted",
    "precedence",
    "x-autoreply",
    "x-autorespond",
    "x-auto-response-suppress",
    "list-id",
    "list-unsubscribe",
    "return-path",
    "delivered-to",
    "x-failed-recipients",
)


class UnreadableMessage(Exception):
    """The bytes do not look like a mail message at all."""


def charset_for(label: str | None) -> str:
    """A Python codec name for a MIME charset label; utf-8 when unknown."""
    name = (label or "").strip().strip('"').strip("'").lower()
    name = CHARSET_ALIASES.get(name, name)
    if not _CHARSET_LABEL.match(name):
        return "utf-8"
    try:
        info = codecs.lookup(name)
    except (LookupError, ValueError):
        return "utf-8"
    # Codecs that are not text encodings (base64, zlib, rot13...) are valid lookups but
    # would fail or do nonsense on bytes.decode().
    if not getattr(info, "_is_text_encoding", True):
        return "utf-8"
    return name


def clean_text(value: str) -> str:
    """Drop NUL characters: PostgreSQL cannot store them in text columns."""
    return value.replace("\x00", "") if "\x00" in value else value


def decode_bytes(data: bytes, label: str | None) -> str:
    try:
        return clean_text(data.decode(charset_for(label), errors="replace"))
    except Exception:  # a codec that misbehaves on odd input (stateful CJK codecs)
        return clean_text(data.decode("utf-8", errors="replace"))


def decode_header_value(value: object) -> str:
    """RFC 2047 decoding with charset widening; tolerant of broken encoded-words."""
    if value is None:
        return ""
    text = str(value)[:HEADER_LIMIT]
    try:
        parts = decode_header(text)
    except Exception:
        return clean_text(" ".join(text.split()))
    out: list[str] = []
    for chunk, cs in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, cs or "utf-8"))
        else:
            out.append(chunk)
    return clean_text(" ".join("".join(out).split()))


def message_ids(value: object) -> list[str]:
    return _ID_RE.findall(str(value or "")[:HEADER_LIMIT])[:100]


def _raw_header(msg: Message, name: str) -> str:
    # Read the header as it is on the wire (compat32 keeps it raw) so our own decoder,
    # with the charset aliases, does the RFC 2047 work.
    for key, val in msg.raw_items():
        if key.lower() == name.lower():
            return _unescape_8bit(str(val)[:HEADER_LIMIT])
    return ""


def _unescape_8bit(value: str) -> str:
    """Undo the parser's surrogateescape of raw 8-bit header bytes (unencoded UTF-8 or GBK
    subjects are common from some clients)."""
    try:
        value.encode("ascii")
    except UnicodeEncodeError:
        data = value.encode("ascii", "surrogateescape")
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data.decode("gb18030", errors="replace")
    return value


def _payload_bytes(part: Message) -> bytes | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # malformed base64/qp in ways the stdlib does not anticipate
        raw = part.get_payload()
        payload = raw.encode("ascii", "surrogateescape") if isinstance(raw, str) else None
    return payload if isinstance(payload, bytes) else None


def _part_charset(part: Message) -> str | None:
    try:
        return part.get_content_charset()
    except Exception:
        return None


def _part_text(part: Message) -> str:
    payload = _payload_bytes(part)
    if payload is None:
        raw = part.get_payload()
        return clean_text(raw) if isinstance(raw, str) else ""
    return decode_bytes(payload, _part_charset(part))


def _filename(part: Message) -> str:
    try:
        raw = part.get_param("filename", header="content-disposition") or part.get_param("name")
    except Exception:
        return ""
    if raw is None:
        return ""
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, value)
        cs, _lang, val = raw
        try:
            return decode_bytes(str(val).encode("latin-1", "replace"), cs or "utf-8")
        except Exception:
            return clean_text(str(val))
    return decode_header_value(raw)


def _safe_filename(name: str, default: str) -> str:
    # Path separators and control characters have no place in a stored file name.
    name = re.sub(r"[\x00-\x1f\x7f/\\]+", "_", name).strip(" .")
    return name[:200] or default


def header_addresses(msg: Message, name: str) -> list[str]:
    """The lower-cased addresses in every ``name`` header (Delivered-To may repeat)."""
    values = [
        decode_header_value(_unescape_8bit(str(value)))
        for key, value in msg.raw_items()
        if key.lower() == name.lower()
    ]
    return [addr.strip().lower() for _name, addr in getaddresses(values) if "@" in addr][:100]


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "text/plain"


def _walk(msg: Message, parsed: ParsedMessage) -> list[Message]:
    """The leaf parts of ``msg``, in order, without recursion.

    Only multipart/* is descended into. An attached message/rfc822 is a leaf: it is kept
    as an .eml attachment rather than having its body mixed into the reply (forwarded
    mail, DSN originals), which also makes "ten nested messages deep" a single part.
    """
    leaves: list[Message] = []
    stack: list[tuple[Message, int]] = [(msg, 0)]
    seen = 0
    while stack:
        part, depth = stack.pop()
        seen += 1
        if seen > MAX_PARTS:
            parsed.defects.append("TooManyParts")
            parsed.truncated = True
            break
        payload = part.get_payload()
        if _content_type(part).startswith("multipart/") and isinstance(payload, list):
            if depth >= MAX_DEPTH:
                parsed.defects.append("NestedTooDeep")
                parsed.truncated = True
                continue
            children = [p for p in payload if isinstance(p, Message)]
            stack.extend((child, depth + 1) for child in reversed(children))
            continue
        leaves.append(part)
    return leaves


def _message_bytes(part: Message) -> bytes | None:
    """The bytes of an attached message/rfc822 part, re-serialised from the parse tree."""
    payload = part.get_payload()
    if isinstance(payload, list):
        inner = payload[0] if payload and isinstance(payload[0], Message) else None
        if inner is None:
            return None
        try:
            return inner.as_bytes(policy=email.policy.compat32)
        except Exception:
            # Too deep to serialise, or headers the generator rejects: still show what
            # can be shown; the full bytes are in the raw message.
            head = "".join(f"{k}: {v}\r\n" for k, v in inner.raw_items())
            return head.encode("utf-8", "surrogateescape") + b"\r\n"
    return _payload_bytes(part)


def _attach(parsed: ParsedMessage, part: Message, ctype: str, filename: str) -> None:
    if ctype in ("message/rfc822", "message/global"):
        data = _message_bytes(part)
        inner = part.get_payload()
        if not filename and isinstance(inner, list) and inner and isinstance(inner[0], Message):
            filename = decode_header_value(_raw_header(inner[0], "Subject"))[:80]
        filename = _safe_filename(filename, "message")
        if not filename.lower().endswith(".eml"):
            filename += ".eml"
        ctype = "message/rfc822"
    else:
        data = _payload_bytes(part)
        if not filename:
            # Inline images usually have no name; give them the extension of their type
            # so the desk's type checks (by extension) can accept them.
            filename = "image" + (mimetypes.guess_extension(ctype) or "")
        filename = _safe_filename(filename, "attachment")
    if data is None:
        return
    content_id = _ID_RE.findall(str(part.get("Content-ID") or ""))
    cid = content_id[0][1:-1] if content_id else ""
    parsed.attachments.append(ParsedAttachment(filename, ctype, data, clean_text(cid)[:255]))


def _headers_only(raw: bytes) -> Message:
    """Fallback when the full parse blows up: headers, and the body as plain text."""
    return BytesHeaderParser(policy=email.policy.compat32).parsebytes(raw)


def read_message(raw: bytes) -> Message:
    """The MIME tree of raw bytes (only the headers when the full parse blows up)."""
    # compat32 never raises on malformed headers and hands back raw header text, which we
    # decode ourselves; the default policy is stricter than real-world mail allows.
    try:
        return email.message_from_bytes(raw, policy=email.policy.compat32)
    except (RecursionError, MemoryError):
        return _headers_only(raw)


def parse_message(raw: bytes, msg: Message | None = None) -> ParsedMessage:
    """Parse raw bytes (``msg`` is read_message(raw) when the caller has it already).
    Raises UnreadableMessage only when the bytes are not a message."""
    if msg is None:
        msg = read_message(raw)
    if not msg.keys() or not any(k.lower() in ("from", "subject", "message-id") for k in msg):
        raise UnreadableMessage("no mail headers found")
    parsed = ParsedMessage()
    parsed.defects = [type(d).__name__ for d in msg.defects][:50]
    parsed.message_id = clean_text((message_ids(_raw_header(msg, "Message-ID")) or [""])[0][:255])
    parsed.subject = decode_header_value(_raw_header(msg, "Subject"))[:1000]
    from_header = decode_header_value(_raw_header(msg, "From"))[:2000]
    try:
        name, addr = parseaddr(from_header)
        if not addr:
            found = getaddresses([from_header])
            addr = found[0][1] if found else ""
    except Exception:
        name, addr = "", ""
    parsed.from_email, parsed.from_name = addr.strip().lower()[:254], name.strip()[:200]
    parsed.in_reply_to = [clean_text(m) for m in message_ids(_raw_header(msg, "In-Reply-To"))]
    parsed.references = [clean_text(m) for m in message_ids(_raw_header(msg, "References"))]
    parsed.to = header_addresses(msg, "To")
    parsed.cc = header_addresses(msg, "Cc")
    for name in LOOP_HEADERS:
        value = _raw_header(msg, name)
        if value:
            parsed.headers[name] = decode_header_value(value)[:1000]
    parsed.content_type = _content_type(msg)
    try:
        report_type = msg.get_param("report-type")
    except Exception:
        report_type = None
    parsed.report_type = report_type.lower()[:100] if isinstance(report_type, str) else ""

    try:
        _body_parts(msg, parsed)
    except (RecursionError, MemoryError):
        # Headers are known; the body is in the raw message.
        parsed.defects.append("BodyUnreadable")
        parsed.truncated = True
    return parsed


def _body_parts(msg: Message, parsed: ParsedMessage) -> None:
    texts: list[str] = []
    htmls: list[str] = []
    for part in _walk(msg, parsed):
        ctype = _content_type(part)
        if ctype.startswith(_SKIPPED_TYPES):
            # DSN machine-readable blocks are read by tend.mail.bounces, not shown.
            continue
        disposition = (str(part.get("Content-Disposition") or "")).split(";")[0].strip().lower()
        filename = _filename(part)
        if (
            ctype.startswith("message/")
            or disposition == "attachment"
            or (filename and ctype not in ("text/plain", "text/html"))
        ):
            _attach(parsed, part, ctype, filename)
        elif ctype == "text/plain":
            texts.append(_part_text(part))
        elif ctype == "text/html":
            htmls.append(_part_text(part))
        else:
            # Anything else (images, PDFs, text/calendar...) is kept as a file; the desk
            # decides what it accepts and notes what it refuses.
            _attach(parsed, part, ctype, filename)
    html = "\n".join(htmls)
    if len(html) > DISPLAY_LIMIT:
        html, parsed.truncated = html[:DISPLAY_LIMIT], True
    text = "\n".join(texts) if texts else html_to_text(html)
    if len(text) > DISPLAY_LIMIT:
        text, parsed.truncated = text[:DISPLAY_LIMIT], True
    parsed.html, parsed.text = html, text


_HIDDEN_OPEN = re.compile(r"(?i)<(script|style|head)\b")


def _drop_hidden(html: str) -> str:
    """Remove <script>/<style>/<head> blocks in one pass. A lazy regex would rescan to the
    end for every opening tag that is never closed: quadratic on hostile input."""
    lower = html.lower()
    out: list[str] = []
    pos = 0
    while True:
        found = _HIDDEN_OPEN.search(html, pos)
        if found is None:
            break
        close = lower.find(f"</{found.group(1).lower()}", found.end())
        if close < 0:
            break
        out.append(html[pos : found.start()])
        end = lower.find(">", close)
        pos = len(html) if end < 0 else end + 1
    out.append(html[pos:])
    return "".join(out)


def html_to_text(html: str) -> str:
    """A rough text rendering of HTML-only mail, for reply extraction."""
    text = _drop_hidden(html[:DISPLAY_LIMIT])
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", text)
    text = re.sub(r"(?i)<blockquote\b", "\n> <blockquote", text)
    # "<[^<>]*>" not "<[^>]*>": an unclosed "<" must not rescan to the end (quadratic).
    text = re.sub(r"<[^<>]*>", "", text)
    return clean_text(html_mod.unescape(text).strip())
