"""Whatever bytes arrive, the parse path answers: a ParsedMessage or UnreadableMessage,
and the bounce reader and quote trimmers never raise."""

import sysconfig
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tend.mail.bounces import bounce_report
from tend.mail.parsing import ParsedMessage, UnreadableMessage, parse_message
from tend.mail.quoting import trim_reply, trim_reply_html
from tend.mail.tests.test_bounces import EXCHANGE, EXIM, GMAIL, POSTFIX
from tend.mail.tests.test_html_quotes import GMAIL as GMAIL_HTML
from tend.mail.tests.test_html_quotes import OUTLOOK_DESKTOP, QQ_MAIL

FUZZ = settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SAMPLES = [
    POSTFIX,
    EXIM,
    GMAIL,
    EXCHANGE,
    (
        b"From: =?gb2312?B?zfXO5A==?= <wang@example.cn>\r\nTo: support@tend.test\r\n"
        b"Subject: =?utf-8?Q?Re=3A_=5B=2342=5D?=\r\nMessage-ID: <s1@x>\r\n"
        b"In-Reply-To: <tend.42.7@tend.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/alternative; boundary="A"\r\n\r\n'
        b"--A\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nOK =E5=A5=BD\r\n"
        b"--A\r\nContent-Type: text/html; charset=utf-8\r\n\r\n" + GMAIL_HTML.encode() + b"\r\n"
        b"--A--\r\n"
    ),
]


def _check(raw: bytes) -> None:
    try:
        parsed = parse_message(raw)
    except UnreadableMessage:
        return
    assert isinstance(parsed, ParsedMessage)
    assert "\x00" not in parsed.subject + parsed.text + parsed.html + parsed.from_name
    report = bounce_report(raw, parsed)
    assert report is None or isinstance(report.recipients, list)
    assert isinstance(trim_reply(parsed.text), str)
    assert isinstance(trim_reply_html(parsed.html), str)


@FUZZ
@given(st.binary(max_size=4000))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


_NAMES = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Content-Disposition",
        "MIME-Version",
        "Return-Path",
        "X-Failed-Recipients",
        "Auto-Submitted",
    ]
)
_VALUES = st.one_of(
    st.text(max_size=80),
    st.sampled_from(
        [
            'multipart/mixed; boundary="B"',
            "multipart/report; report-type=delivery-status; boundary=B",
            "message/rfc822",
            "message/delivery-status",
            "text/html; charset=gb2312",
            "text/plain; charset*=utf-8''%E4%B8%AD",
            "base64",
            "quoted-printable",
            "x-uuencode",
            "attachment; filename*=x-bogus''%FF",
            "=?x-unknown?B?w6k=?=",
            "=?utf-8?Q?broken",
            "MAILER-DAEMON@x.test",
            "<>",
            "Undelivered Mail Returned to Sender",
        ]
    ),
)
_BODY_LINES = st.lists(
    st.one_of(
        st.text(max_size=60),
        st.sampled_from(
            [
                "--B",
                "--B--",
                "Content-Type: message/rfc822",
                "Content-Type: text/html",
                "Final-Recipient: rfc822; a@b.c",
                "Action: failed",
                "Status: 5.1.1",
                "<blockquote type=cite>",
                '<div class="gmail_quote">',
                "-----原始邮件-----",
                "On Mon, X wrote:",
                "",
            ]
        ),
    ),
    max_size=30,
)


@FUZZ
@given(
    headers=st.lists(st.tuples(_NAMES, _VALUES), max_size=12),
    body=_BODY_LINES,
    newline=st.sampled_from(["\r\n", "\n", "\r"]),
    charset=st.sampled_from(["utf-8", "gb18030", "latin-1", "utf-16"]),
)
def test_composed_messages(
    headers: list[tuple[str, str]], body: list[str], newline: str, charset: str
) -> None:
    text = newline.join(f"{name}: {value}" for name, value in headers)
    text += newline + newline + newline.join(body)
    _check(text.encode(charset, errors="replace"))


@FUZZ
@given(
    sample=st.sampled_from(SAMPLES),
    edits=st.lists(
        st.tuples(st.integers(min_value=0), st.integers(0, 40), st.binary(max_size=20)),
        min_size=1,
        max_size=8,
    ),
)
def test_mutated_real_messages(sample: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    raw = bytearray(sample)
    for position, length, insert in edits:
        at = position % (len(raw) + 1)
        raw[at : at + length] = insert
    _check(bytes(raw))


@FUZZ
@given(st.text(max_size=3000))
def test_trimmers_never_raise(text: str) -> None:
    assert isinstance(trim_reply(text), str)
    assert isinstance(trim_reply_html(text), str)


@FUZZ
@given(
    sample=st.sampled_from([GMAIL_HTML, OUTLOOK_DESKTOP, QQ_MAIL]),
    cut=st.integers(min_value=0),
    insert=st.text(alphabet="<>/\"'=!- abcdiv", max_size=30),
)
def test_mutated_html_never_raises(sample: str, cut: int, insert: str) -> None:
    at = cut % (len(sample) + 1)
    assert isinstance(trim_reply_html(sample[:at] + insert + sample[at:]), str)


def _email_corpus() -> list[Path]:
    """CPython's own email test messages: the running interpreter's first, then any
    other installed interpreter's (pyenv)."""
    roots = [Path(sysconfig.get_paths()["stdlib"]) / "test" / "test_email" / "data"]
    roots += sorted(Path("/root/.pyenv/versions").glob("*/lib/python3*/test/test_email/data"))
    for root in roots:
        files = sorted(p for p in root.glob("*") if p.suffix == ".txt" or p.name.startswith("msg_"))
        if files:
            return files
    return []


CORPUS = _email_corpus()


@pytest.mark.skipif(
    not CORPUS,
    reason="CPython's test suite (test/test_email/data) is not installed with this Python",
)
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_cpython_email_corpus(path: Path) -> None:
    _check(path.read_bytes())
