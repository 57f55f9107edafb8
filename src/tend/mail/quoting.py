"""Cut quoted history and signatures from a reply so the visible comment is what is new."""

from __future__ import annotations

import re

# A line that starts the quoted history; everything from it on is dropped.
_HISTORY_STARTS = [
    # Gmail / Apple Mail / Thunderbird: "On Tue, 3 Mar 2026 at 10:00, Ann <a@x> wrote:"
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.{0,100}:\s*$", re.IGNORECASE | re.DOTALL),
    # Outlook
    re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*_{10,}\s*$"),
    # Apple Mail forwards/replies quoted in Chinese clients (QQ, Foxmail, NetEase, Outlook zh)
    re.compile(r"^\s*-{2,}\s*原始邮件\s*-{2,}\s*$"),
    re.compile(r"^\s*-{2,}\s*原始郵件\s*-{2,}\s*$"),
    re.compile(r"^\s*-{2,}\s*Begin forwarded message:?\s*-{0,}\s*$", re.IGNORECASE),
    re.compile(r"^\s*在.{0,300}写道\s*[:：]\s*$", re.DOTALL),
    re.compile(r"^\s*於.{0,300}寫道\s*[:：]\s*$", re.DOTALL),
    re.compile(r"^\s*在.{0,300}寫道\s*[:：]\s*$", re.DOTALL),
]
# Outlook/Chinese-client header blocks: "From: …" followed shortly by "Sent:"/"Date:".
_HEADER_FROM = re.compile(r"^\s*\*?(From|发件人|寄件者|發件人)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_NEXT = re.compile(
    r"^\s*\*?(Sent|Date|To|Subject|发送时间|时间|日期|收件人|主题|寄件日期|傳送時間|收件者|主旨)\s*\*?\s*[:：]",
    re.IGNORECASE,
)
_SIGNATURE = [
    re.compile(r"^-- ?$"),  # RFC 3676 "-- " delimiter (the space is often stripped)
    re.compile(r"^\s*Sent from my (iPhone|iPad|Android|mobile).*$", re.IGNORECASE),
    re.compile(r"^\s*Get Outlook for (iOS|Android).*$", re.IGNORECASE),
    re.compile(r"^\s*发自我的(iPhone|iPad|手机).*$"),
    re.compile(r"^\s*从我的(iPhone|iPad|手机)发送.*$"),
]


def _joined(lines: list[str], i: int, n: int = 3) -> str:
    # "On … wrote:" is often wrapped over two or three lines by the sending client.
    return " ".join(line.strip() for line in lines[i : i + n])


def _history_start(lines: list[str], i: int) -> bool:
    line = lines[i]
    for pattern in _HISTORY_STARTS:
        if pattern.match(line):
            return True
    stripped = line.strip()
    if stripped.startswith(("On ", "在", "於")) and not stripped.endswith((":", "：")):
        for n in (2, 3):
            joined = _joined(lines, i, n)
            if any(p.match(joined) for p in _HISTORY_STARTS[:3] + _HISTORY_STARTS[-3:]):
                return True
    if _HEADER_FROM.match(line):
        following = [ln for ln in lines[i + 1 : i + 5] if ln.strip()]
        return any(_HEADER_NEXT.match(ln) for ln in following[:3])
    return False


def trim_reply(text: str) -> str:
    """The new part of a reply: no quoted history, "> " lines or signature."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _history_start(lines, i):
            break
        if any(p.match(line) for p in _SIGNATURE):
            break
        # "> " lines quote earlier mail, which the ticket already shows.
        if not line.lstrip().startswith(">"):
            kept.append(line)
    result = "\n".join(kept).strip()
    # Never return nothing: a reply that is only a quote is still shown, untrimmed.
    return result or text.strip()
