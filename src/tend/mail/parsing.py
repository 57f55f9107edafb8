"""Turn raw RFC 5322 bytes into a ParsedMessage, never raising on bad input."""

from __future__ import annotations

import codecs
import email
import email.policy
import html as html_mod
import re
from dataclasses import dataclass, field
from email.header import decode_header
from email.message import Message
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

_ID_RE = re.compile(r"<[^<>\s]+>")


@dataclass
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes


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


class UnreadableMessage(Exception):
    """The bytes do not look like a mail message at all."""


def charset_for(label: str | None) -> str:
    """A Python codec name for a MIME charset label; utf-8 when unknown."""
    name = (label or "").strip().strip('"').lower()
    name = CHARSET_ALIASES.get(name, name)
    try:
        codecs.lookup(name)
    except LookupError:
        return "utf-8"
    return name


def decode_bytes(data: bytes, label: str | None) -> str:
    return data.decode(charset_for(label), errors="replace")


def decode_header_value(value: object) -> str:
    """RFC 2047 decoding with charset widening; tolerant of broken encoded-words."""
    if value is None:
        return ""
    text = str(value)
    try:
        parts = decode_header(text)
    except Exception:
        return " ".join(text.split())
    out: list[str] = []
    for chunk, cs in parts:
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, cs or "utf-8"))
        else:
            out.append(chunk)
    return " ".join("".join(out).split())


def message_ids(value: object) -> list[str]:
    return _ID_RE.findall(str(value or ""))


def _raw_header(msg: Message, name: str) -> str:
    # Read the header as it is on the wire (compat32 keeps it raw) so our own decoder,
    # with the charset aliases, does the RFC 2047 work.
    for key, val in msg.raw_items():
        if key.lower() == name.lower():
            return _unescape_8bit(str(val))
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


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raw = part.get_payload()
        return raw if isinstance(raw, str) else ""
    return decode_bytes(payload, part.get_content_charset())


def _filename(part: Message) -> str:
    raw = part.get_param("filename", header="content-disposition") or part.get_param("name")
    if raw is None:
        return ""
    if isinstance(raw, tuple):  # RFC 2231: (charset, language, value)
        cs, _lang, val = raw
        try:
            return decode_bytes(val.encode("latin-1", "replace"), cs or "utf-8")
        except Exception:
            return str(val)
    return decode_header_value(raw)


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse raw bytes. Raises UnreadableMessage only when the bytes are not a message."""
    # compat32 never raises on malformed headers and hands back raw header text, which we
    # decode ourselves; the default policy is stricter than real-world mail allows.
    msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    if not msg.keys() or not any(k.lower() in ("from", "subject", "message-id") for k in msg):
        raise UnreadableMessage("no mail headers found")
    parsed = ParsedMessage()
    parsed.defects = [type(d).__name__ for d in msg.defects]
    parsed.message_id = (message_ids(_raw_header(msg, "Message-ID")) or [""])[0][:255]
    parsed.subject = decode_header_value(_raw_header(msg, "Subject"))
    from_header = decode_header_value(_raw_header(msg, "From"))
    name, addr = parseaddr(from_header)
    if not addr:
        found = getaddresses([from_header])
        addr = found[0][1] if found else ""
    parsed.from_email, parsed.from_name = addr.strip().lower(), name.strip()
    parsed.in_reply_to = message_ids(_raw_header(msg, "In-Reply-To"))
    parsed.references = message_ids(_raw_header(msg, "References"))

    texts: list[str] = []
    htmls: list[str] = []
    for part in msg.walk():
        if part.is_multipart():
            continue
        ctype = part.get_content_type()
        disposition = (part.get("Content-Disposition") or "").split(";")[0].strip().lower()
        filename = _filename(part)
        if disposition == "attachment" or (filename and ctype not in ("text/plain", "text/html")):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                parsed.attachments.append(ParsedAttachment(filename or "attachment", ctype, data))
            continue
        if ctype == "text/plain":
            texts.append(_part_text(part))
        elif ctype == "text/html":
            htmls.append(_part_text(part))
        elif ctype.startswith("message/") or part.get_content_maintype() in (
            "image",
            "application",
            "audio",
            "video",
        ):
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                parsed.attachments.append(ParsedAttachment(filename or "attachment", ctype, data))
    parsed.html = "\n".join(htmls)
    parsed.text = "\n".join(texts) if texts else html_to_text(parsed.html)
    return parsed


def html_to_text(html: str) -> str:
    """A rough text rendering of HTML-only mail, for reply extraction."""
    text = re.sub(r"(?is)<(script|style|head)\b.*?</\1>", "", html)
    text = re.sub(r"(?i)<br\s*/?>|</p>|</div>|</li>|</tr>", "\n", text)
    text = re.sub(r"(?i)<blockquote\b", "\n> <blockquote", text)
    text = re.sub(r"<[^>]+>", "", text)
    return html_mod.unescape(text).strip()
