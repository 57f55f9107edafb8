"""Recognise delivery status notifications (bounces) and read what they say.

Two shapes exist in the wild:

* RFC 3464 reports: ``multipart/report; report-type=delivery-status`` with a
  machine-readable ``message/delivery-status`` part (Postfix, Exim with DSN, Gmail,
  Exchange, most large providers) and usually the original message or its headers.
* Free-text bounces from a mailer daemon (older Exim, qmail, several Chinese providers):
  recognised by sender and subject, or by Exim's ``X-Failed-Recipients`` header, and read
  with heuristics.

``bounce_report`` returns None for everything else. A report of a *delay* (Action:
delayed, status 4.x.x) is returned with ``permanent=False``: the mail may still arrive,
so callers should note it on the ticket but flag the contact's address only for
permanent failures. A success report (Action: delivered/relayed/expanded only) is not a
bounce and returns None.
"""

from __future__ import annotations

import base64
import email
import email.policy
import quopri
import re
from dataclasses import dataclass, field
from email.message import Message

from tend.mail.parsing import (
    HEADER_LIMIT,
    ParsedMessage,
    clean_text,
    decode_bytes,
    decode_header_value,
    message_ids,
)

# Local parts that only machines send from.
_DAEMON_SENDER = re.compile(
    r"^(mailer-daemon|mailer_daemon|maildaemon|mail-daemon|postmaster|"
    r"microsoftexchange[0-9a-f]*|mail-delivery-subsystem|mdaemon)(\+.*)?$",
    re.IGNORECASE,
)
# Subjects of bounces in the wild (English, German, French, Chinese).
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|undelivered|not\s+delivered|delivery\s+status\s+notification|"
    r"delivery\s+(has\s+)?failed|delivery\s+failure|mail\s+delivery\s+failed|"
    r"failure\s+notice|returned\s+mail|returned\s+to\s+sender|could\s+not\s+be\s+delivered|"
    r"delivery\s+(is\s+)?delayed|delayed\s+mail|message\s+.*\s+delayed|"
    r"unzustellbar|non\s+remis|non\s+distribu|"
    r"退信|退回|投递失败|投遞失敗|发送失败|未能送达|无法送达|无法投递|延迟投递|投递延迟|延迟发送",
    re.IGNORECASE,
)
_DELAY_SUBJECT = re.compile(r"delay|延迟|延遲|still\s+being\s+retried", re.IGNORECASE)
_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
_SMTP_CODE = re.compile(r"(?<![\d.])([45])\d\d(?:[ -]|$)", re.MULTILINE)
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_ID_HEADER_LINE = re.compile(r"(?im)^\s*(message-id|in-reply-to|references|x-[a-z-]*id)\s*:.*$")
_QUOTED_MESSAGE_ID = re.compile(r"(?im)^\s*Message-ID\s*:\s*(<[^<>\s]+>)")
# Where the original message starts inside a free-text bounce.
_ORIGINAL_STARTS = re.compile(
    r"(?im)^(-+\s*(original message|this is a copy of the message|"
    r"below this line is a copy of the message|undelivered message|原邮件|原始邮件)|"
    r"--- below this line)"
)
MAX_RECIPIENTS = 50


@dataclass
class BounceReport:
    # The addresses mail could not be delivered to, as Tend addressed them (Original-
    # Recipient when the report gives it, else Final-Recipient). May be empty when a
    # free-text bounce names nobody recognisably.
    recipients: list[str] = field(default_factory=list)
    status: str = ""  # RFC 3463 code such as "5.1.1"; "" when the report gives none
    diagnostic: str = ""  # the remote server's words, e.g. "550 5.1.1 User unknown"
    original_message_id: str = ""  # "<...>" of the undelivered mail, "" when not found
    permanent: bool = True  # False for delays (4.x.x / Action: delayed)


def _is_daemon(address: str) -> bool:
    local = address.rsplit("@", 1)[0] if "@" in address else address
    return bool(_DAEMON_SENDER.match(local.strip()))


def _looks_like_bounce(parsed: ParsedMessage) -> bool:
    """Cheap test on what parse_message already found; most mail stops here."""
    if parsed.content_type == "multipart/report" and parsed.report_type == "delivery-status":
        return True
    if parsed.headers.get("x-failed-recipients"):
        return True
    # DSNs are sent with an empty envelope sender (RFC 5321 4.5.5).
    null_sender = parsed.headers.get("return-path", "").strip() == "<>"
    daemon = _is_daemon(parsed.from_email) or null_sender
    return daemon and bool(_BOUNCE_SUBJECT.search(parsed.subject))


def bounce_report(raw: bytes, parsed: ParsedMessage) -> BounceReport | None:
    """A BounceReport if ``raw`` is a delivery failure or delay notice, else None.

    Never raises: a report that cannot be read in detail still counts as a bounce with
    whatever could be found.
    """
    try:
        if not _looks_like_bounce(parsed):
            return None
    except Exception:
        return None
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
    except Exception:
        msg = None
    report: BounceReport | None
    try:
        report = _from_dsn(msg, parsed) if msg is not None else None
    except Exception:
        report = None
    if report is None:
        if parsed.content_type == "multipart/report" and _only_success(msg):
            return None
        try:
            report = _from_text(msg, parsed)
        except Exception:
            report = BounceReport()
    if not report.original_message_id:
        try:
            report.original_message_id = _original_message_id(msg, parsed)
        except Exception:  # the report is still useful without it
            report.original_message_id = ""
    report.recipients = report.recipients[:MAX_RECIPIENTS]
    report.diagnostic = clean_text(" ".join(report.diagnostic.split()))[:1000]
    return report


# --- RFC 3464 -----------------------------------------------------------------------


def _parts(msg: Message) -> list[Message]:
    """All parts, iteratively and bounded (a report is small; a hostile one is not)."""
    out: list[Message] = []
    stack = [msg]
    while stack and len(out) < 200:
        part = stack.pop()
        out.append(part)
        payload = part.get_payload()
        if isinstance(payload, list) and len(out) < 200:
            stack.extend(reversed([p for p in payload if isinstance(p, Message)]))
    return out


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return ""


def _field_blocks(part: Message) -> list[dict[str, str]]:
    """The header-style blocks of a message/delivery-status part, by lower-cased name."""
    payload = part.get_payload()
    blocks: list[dict[str, str]] = []
    encoded = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if encoded in ("base64", "quoted-printable"):
        # The parser split the encoded text as if it were fields; decode and read it.
        raw = part.as_string() if isinstance(payload, list) else ""
        body = raw.split("\n\n", 1)[1] if "\n\n" in raw else str(payload or "")
        return _parse_blocks(_decode(body, encoded)[:HEADER_LIMIT])
    if isinstance(payload, list) and payload:
        # compat32 parses each blank-line-separated block into a Message of headers.
        for block in payload:
            if isinstance(block, Message):
                blocks.append({k.lower(): decode_header_value(v) for k, v in block.items()[:100]})
        if any(blocks):
            return blocks
    # Encoded (base64/qp) or otherwise unparsed: read the text ourselves.
    data = part.get_payload(decode=True)
    text = decode_bytes(data, "utf-8") if isinstance(data, bytes) else str(payload or "")
    return _parse_blocks(text[:HEADER_LIMIT])


def _decode(body: str, encoding: str) -> str:
    data = body.encode("ascii", "replace")
    try:
        if encoding == "base64":
            decoded = base64.b64decode(b"".join(data.split()), validate=False)
        else:
            decoded = quopri.decodestring(data)
    except Exception:
        return body
    return decode_bytes(decoded, "utf-8")


def _parse_blocks(text: str) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    current: dict[str, str] = {}
    last = ""
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line.strip():
            if current:
                blocks.append(current)
            current, last = {}, ""
        elif line[0] in " \t" and last:
            current[last] += " " + line.strip()
        elif ":" in line:
            name, value = line.split(":", 1)
            last = name.strip().lower()
            current[last] = value.strip()
    if current:
        blocks.append(current)
    return blocks


def _address(value: str) -> str:
    """ "rfc822; Ann@Example.com" -> "ann@example.com"."""
    value = value.split(";", 1)[1] if ";" in value else value
    value = value.strip().strip("<>").strip()
    return value.lower() if "@" in value and " " not in value else ""


def _diagnostic(value: str) -> str:
    # "smtp; 550 5.1.1 <x@y>: Recipient address rejected" -> drop the type label.
    if ";" in value and value.split(";", 1)[0].strip().lower() in ("smtp", "x-unix", "x-postfix"):
        value = value.split(";", 1)[1]
    return value.strip()


def _from_dsn(msg: Message, parsed: ParsedMessage) -> BounceReport | None:
    status_parts = [
        p
        for p in _parts(msg)
        if _content_type(p) in ("message/delivery-status", "message/global-delivery-status")
    ]
    if not status_parts:
        return None
    failed: list[dict[str, str]] = []
    delayed: list[dict[str, str]] = []
    for part in status_parts:
        for block in _field_blocks(part):
            if "final-recipient" not in block and "original-recipient" not in block:
                continue  # the per-message block (Reporting-MTA, Arrival-Date...)
            action = block.get("action", "").strip().lower()
            status = block.get("status", "").strip()
            if action == "failed" or (not action and status.startswith("5")):
                failed.append(block)
            elif action == "delayed" or (not action and status.startswith("4")):
                delayed.append(block)
    chosen, permanent = (failed, True) if failed else (delayed, False)
    if not chosen:
        return None
    recipients: list[str] = []
    for block in chosen:
        address = _address(block.get("original-recipient", "")) or _address(
            block.get("final-recipient", "")
        )
        if address and address not in recipients:
            recipients.append(address)
    first = chosen[0]
    found = _STATUS.search(first.get("status", ""))
    status = ".".join(found.groups()) if found else ""
    diagnostic = _diagnostic(first.get("diagnostic-code", ""))
    if not diagnostic:
        diagnostic = _human_reason(parsed.text)
    if not status:
        status = _status_from_text(diagnostic, permanent)
    return BounceReport(
        recipients=recipients, status=status, diagnostic=diagnostic, permanent=permanent
    )


def _only_success(msg: Message | None) -> bool:
    """A delivery-status report whose recipients were all delivered: not a bounce."""
    if msg is None:
        return False
    actions = []
    for part in _parts(msg):
        if _content_type(part) == "message/delivery-status":
            for block in _field_blocks(part):
                if "action" in block:
                    actions.append(block["action"].strip().lower())
    return bool(actions) and all(a in ("delivered", "relayed", "expanded") for a in actions)


# --- free-text bounces --------------------------------------------------------------


def _human_text(parsed: ParsedMessage) -> str:
    """The bounce's own words, without the copy of the original message."""
    text = parsed.text[:200_000]
    found = _ORIGINAL_STARTS.search(text)
    return text[: found.start()] if found else text


def _status_from_text(text: str, permanent: bool) -> str:
    found = _STATUS.search(text)
    if found:
        return ".".join(found.groups())
    code = _SMTP_CODE.search(text)
    if code:
        return f"{code.group(1)}.0.0"
    return ""


def _human_reason(text: str) -> str:
    """The line that best explains the failure: one with an SMTP code, else the first."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()][:200]
    for line in lines:
        if _STATUS.search(line) or _SMTP_CODE.search(line):
            return line[:500]
    return lines[0][:500] if lines else ""


def _from_text(msg: Message | None, parsed: ParsedMessage) -> BounceReport:
    human = _human_text(parsed)
    recipients: list[str] = []
    failed_header = parsed.headers.get("x-failed-recipients", "")
    for address in _ADDRESS.findall(failed_header):
        if address.lower() not in recipients:
            recipients.append(address.lower())
    if not recipients:
        # Addresses the bounce text names, minus the daemon itself, the mailbox the bounce
        # came to and anything that is really a Message-ID.
        ignore = {parsed.from_email, *parsed.to, *parsed.cc}
        scrubbed = _ID_HEADER_LINE.sub("", human)
        scrubbed = re.sub(r"<[^<>\s@]+@[^<>\s]+>(?=\s*$)", "", scrubbed, flags=re.MULTILINE)
        for address in _ADDRESS.findall(scrubbed):
            address = address.lower().rstrip(".")
            if address in ignore or _is_daemon(address) or address in recipients:
                continue
            recipients.append(address)
    reason = _human_reason(human)
    delayed = bool(_DELAY_SUBJECT.search(parsed.subject))
    status = _status_from_text(human, not delayed)
    if status.startswith("4"):
        delayed = True
    elif status.startswith("5"):
        delayed = False
    return BounceReport(
        recipients=recipients, status=status, diagnostic=reason, permanent=not delayed
    )


# --- the original message -----------------------------------------------------------


def _original_message_id(msg: Message | None, parsed: ParsedMessage) -> str:
    if msg is not None:
        for part in _parts(msg)[1:]:
            ctype = _content_type(part)
            headers: Message | None = None
            if ctype in ("message/rfc822", "message/global"):
                payload = part.get_payload()
                if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                    headers = payload[0]
            elif ctype in ("text/rfc822-headers", "message/rfc822-headers"):
                data = part.get_payload(decode=True)
                if isinstance(data, bytes):
                    headers = email.message_from_bytes(
                        data[:HEADER_LIMIT], policy=email.policy.compat32
                    )
            if headers is not None:
                ids = message_ids(headers.get("Message-ID", ""))
                if ids:
                    return clean_text(ids[0])[:255]
    # Free-text bounces paste the original headers into the body.
    found = _QUOTED_MESSAGE_ID.search(parsed.text[:500_000])
    if found:
        return clean_text(found.group(1))[:255]
    # Some servers (Exchange) thread the report to the original.
    return parsed.in_reply_to[0] if parsed.in_reply_to else ""
