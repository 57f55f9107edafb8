"""Mail that is broken in the ways real mail is broken: parsed into something sensible,
never an exception; through the inbound service a ticket exists and the raw is kept."""

import base64
import time
from collections.abc import Callable

import pytest

from tend.desk.models import Ticket
from tend.mail.models import InboundMessage, InboundStatus
from tend.mail.parsing import DISPLAY_LIMIT, ParsedMessage, UnreadableMessage, parse_message
from tend.mail.services import NEEDS_REVIEW_TAG, inbound_receive

HEAD = b"From: Ann <ann@example.com>\r\nTo: support@tend.test\r\nSubject: Help\r\n"


def _truncated_mime() -> bytes:
    return (
        HEAD + b"Message-ID: <trunc@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n'
        b"--B\r\nContent-Type: text/plain\r\n\r\nThe part that arrived.\r\n"
        b"--B\r\nContent-Type: application/pdf; name=a.pdf\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK"  # cut mid-part, no --B--
    )


def _huge_single_line() -> bytes:
    return HEAD + b"Message-ID: <huge@x>\r\n\r\n" + b"A" * (10 * 1024 * 1024)


def _huge_html_line() -> bytes:
    return (
        HEAD
        + b"Message-ID: <hugehtml@x>\r\nContent-Type: text/html\r\n\r\n"
        + b"<p>"
        + b"<script" * (2 * 1024 * 1024)
    )


def _nested(depth: int) -> bytes:
    inner = b"From: deep@example.com\r\nSubject: level 0\r\n\r\nThe innermost body.\r\n"
    for level in range(1, depth + 1):
        inner = (
            b"From: fwd%d@example.com\r\nSubject: level %d\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="L%d"\r\n\r\n'
            b"--L%d\r\nContent-Type: text/plain\r\n\r\nForwarding level %d.\r\n"
            b"--L%d\r\nContent-Type: message/rfc822\r\n\r\n"
            % (level, level, level, level, level, level)
            + inner
            + b"\r\n--L%d--\r\n" % level
        )
    return inner


def _unknown_charset_headers() -> bytes:
    word = base64.b64encode("Grüße".encode()).decode()
    return (
        f"From: =?x-unknown-foo?B?{word}?= <ann@example.com>\r\n"
        f"Subject: =?x-unknown-foo?B?{word}?= =?utf-8?Q?ok?=\r\n"
        f"Message-ID: <charset@x>\r\nContent-Type: text/plain; charset=x-unknown-foo\r\n\r\nHi"
    ).encode()


def _bad_encodings() -> bytes:
    return (
        HEAD + b"Message-ID: <enc@x>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="E"\r\n\r\n'
        b"--E\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"SGVsbG8g!!!d29y*bGQ=\r\n"
        b"--E\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
        b"broken =ZZ soft=\r\nbreak =E4=\r\n"
        b"--E\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: x-made-up\r\n\r\n"
        b"bogus encoding body\r\n"
        b"--E\r\nContent-Type: image/png; name=x.png\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"@@@@====\r\n"
        b"--E--\r\n"
    )


def _nul_bytes() -> bytes:
    return (
        b"From: Ann\x00 <ann@example.com>\r\nSubject: NUL\x00here\r\nMessage-ID: <nul@x>\r\n"
        b'Content-Type: text/plain; charset="utf-8\x00"\r\n\r\nbody\x00with NUL\r\n'
    )


def _bare_newlines() -> bytes:
    return b"From: ann@example.com\nSubject: LF only\nMessage-ID: <lf@x>\n\nline one\nline two\n"


def _bare_cr() -> bytes:
    return b"From: ann@example.com\rSubject: CR only\rMessage-ID: <cr@x>\r\rline one\rline two\r"


def _only_from() -> bytes:
    return b"From: ann@example.com\r\n"


def _from_subject_no_blank_line() -> bytes:
    return b"From: ann@example.com\r\nSubject: No body separator"


CASES: dict[str, tuple[Callable[[], bytes], Callable[[ParsedMessage], bool]]] = {
    "truncated mime": (
        _truncated_mime,
        lambda p: "The part that arrived." in p.text and "CloseBoundaryNotFoundDefect" in p.defects,
    ),
    "10 MB single line": (
        _huge_single_line,
        lambda p: p.truncated and len(p.text) == DISPLAY_LIMIT and p.subject == "Help",
    ),
    "10 MB html of unclosed tags": (
        _huge_html_line,
        lambda p: p.truncated and len(p.html) == DISPLAY_LIMIT,
    ),
    "nested rfc822 ten deep": (
        _nested_10 := (lambda: _nested(10)),
        lambda p: (
            p.text.strip() == "Forwarding level 10."
            and [a.filename for a in p.attachments] == ["level 9.eml"]
        ),
    ),
    "nested rfc822 two hundred deep": (
        lambda: _nested(200),
        lambda p: p.subject == "level 200" and len(p.attachments) == 1,
    ),
    "unknown charset headers": (
        _unknown_charset_headers,
        lambda p: p.subject == "Grüßeok" and p.from_email == "ann@example.com" and p.text == "Hi",
    ),
    "malformed base64, qp and bogus encoding": (
        _bad_encodings,
        lambda p: "bogus encoding body" in p.text and "broken" in p.text,
    ),
    "NUL bytes": (
        _nul_bytes,
        lambda p: "\x00" not in p.subject + p.text + p.from_name and p.subject == "NULhere",
    ),
    "LF line endings": (_bare_newlines, lambda p: p.subject == "LF only" and "line two" in p.text),
    "CR line endings": (_bare_cr, lambda p: p.subject == "CR only" and "line two" in p.text),
    "only a From": (_only_from, lambda p: p.from_email == "ann@example.com" and p.text == ""),
    "no blank line": (_from_subject_no_blank_line, lambda p: p.subject == "No body separator"),
}


@pytest.mark.parametrize("name", list(CASES))
def test_parse_gives_something_sensible(name: str) -> None:
    make, check = CASES[name]
    started = time.monotonic()
    parsed = parse_message(make())
    assert check(parsed), parsed
    # A 10 MB message parses in well under the worker's patience.
    assert time.monotonic() - started < 10


def test_body_without_headers_is_not_mail() -> None:
    with pytest.raises(UnreadableMessage):
        parse_message(b"just some text\r\nwith no headers at all\r\n")
    with pytest.raises(UnreadableMessage):
        parse_message(b"")


def test_headers_are_capped() -> None:
    raw = b"From: ann@example.com\r\nSubject: " + b"S" * 5_000_000 + b"\r\n\r\nbody"
    parsed = parse_message(raw)
    assert 0 < len(parsed.subject) <= 1000 and parsed.text == "body"


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(CASES))
def test_inbound_keeps_raw_and_makes_a_ticket(name: str) -> None:
    raw = CASES[name][0]()
    inbound = inbound_receive(raw=raw, via="http")
    assert inbound.status == InboundStatus.PROCESSED
    assert inbound.ticket is not None
    assert Ticket.objects.filter(pk=inbound.ticket.pk).exists()
    with InboundMessage.objects.get(pk=inbound.pk).raw.open("rb") as fh:
        assert fh.read() == raw


@pytest.mark.django_db
def test_body_only_message_becomes_flagged_ticket() -> None:
    raw = b"just some text\r\nwith no headers at all\r\n"
    inbound = inbound_receive(raw=raw, via="http")
    assert inbound.ticket is not None
    assert inbound.ticket.tags.filter(name=NEEDS_REVIEW_TAG).exists()
    with inbound.raw.open("rb") as fh:
        assert fh.read() == raw


@pytest.mark.django_db
def test_sender_missing_is_flagged() -> None:
    raw = b"Subject: Who am I\r\nMessage-ID: <anon@x>\r\n\r\nNo From header."
    inbound = inbound_receive(raw=raw, via="http")
    assert inbound.ticket is not None
    assert inbound.ticket.subject == "Who am I"
    assert inbound.ticket.tags.filter(name=NEEDS_REVIEW_TAG).exists()


@pytest.mark.django_db
def test_huge_body_is_shown_cut_and_kept_whole() -> None:
    raw = _huge_single_line()
    inbound = inbound_receive(raw=raw, via="http")
    assert inbound.ticket is not None
    body = inbound.ticket.comments.get().body
    assert DISPLAY_LIMIT <= len(body) < DISPLAY_LIMIT + 1000
    assert inbound.size == len(raw)


@pytest.mark.django_db
def test_nested_message_is_attached_as_eml() -> None:
    inbound = inbound_receive(raw=_nested(10), via="http")
    assert inbound.ticket is not None
    assert list(inbound.ticket.attachments.values_list("filename", flat=True)) == ["level 9.eml"]


@pytest.mark.django_db
def test_same_message_id_different_content_parses_to_same_id() -> None:
    # The services flag the second one; the parse side must report the same Message-ID.
    first = HEAD + b"Message-ID: <dup@x>\r\n\r\nFirst."
    second = HEAD + b"Message-ID:   <dup@x>  \r\n\r\nSecond, different."
    assert parse_message(first).message_id == parse_message(second).message_id == "<dup@x>"
    inbound_receive(raw=first, via="http")
    inbound = inbound_receive(raw=second, via="http")
    assert inbound.ticket is not None
    assert inbound.ticket.tags.filter(name=NEEDS_REVIEW_TAG).exists()
    assert Ticket.objects.count() == 1
