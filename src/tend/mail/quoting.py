"""Cut quoted history and signatures from a reply so the visible comment is what is new."""

from __future__ import annotations

import re
from html import escape as html_escape
from html.parser import HTMLParser

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


# --- HTML replies ---------------------------------------------------------------------

# Elements that never have children, so the tree builder never waits for their end tag.
_VOID = frozenset(
    [
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    ]
)
# Elements that start a new line of text (what the reader sees as a line break).
_BLOCK = frozenset(
    [
        "address",
        "article",
        "aside",
        "blockquote",
        "br",
        "dd",
        "div",
        "dl",
        "dt",
        "fieldset",
        "figure",
        "footer",
        "form",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "header",
        "hr",
        "li",
        "main",
        "nav",
        "ol",
        "p",
        "pre",
        "section",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "ul",
    ]
)
# Text the reader never sees.
_HIDDEN = frozenset(["head", "script", "style", "title", "template"])
# An open <p>/<li>/... is closed by a new one of the same kind (HTML's implied end tags).
_SELF_CLOSING_SIBLINGS = frozenset(["p", "li", "td", "th", "tr", "dt", "dd", "option"])
# Beyond this nesting depth new elements are kept flat: real mail is never this deep, and
# the recursion in serialisation stays bounded.
_MAX_HTML_DEPTH = 200
# HTMLParser costs ~20 µs a tag; past this many a (hostile) reply is shown untrimmed
# rather than holding up the worker for seconds.
_MAX_HTML_TAGS = 100_000
# Classes and ids mail clients put on the quoted part of a reply.
_QUOTE_CLASSES = frozenset(
    {
        "gmail_quote",  # Gmail: the quote, including the "On … wrote:" line
        "gmail_quote_container",
        "gmail_attr",  # Gmail: the "On … wrote:" line itself
        "gmail_signature",
        "moz-cite-prefix",  # Thunderbird: "On … wrote:" before blockquote type=cite
        "moz-signature",
        "yahoo_quoted",
        "protonmail_quote",
    }
)
_QUOTE_IDS = frozenset(
    {
        "appendonsend",  # Outlook (new/web): marks where the quoted message is appended
        "divrplyfwdmsg",  # Outlook: the From/Sent/To/Subject header block
        "stopspelling",  # old Outlook Web App: <hr id=stopSpelling> before the quote
        "isreplycontent",  # NetEase (163/126) mail: the quoted message
        "qm_quote",  # QQ mail
    }
)
_BORDER_TOP = re.compile(r"border-top\s*:\s*solid", re.IGNORECASE)


class _Node:
    __slots__ = ("attrs", "children", "end", "index", "parent", "start", "tag", "text")

    def __init__(self, tag: str, parent: _Node | None, start: str = "", text: str = "") -> None:
        self.tag = tag  # "" for text
        self.parent = parent
        self.start = start  # the start tag exactly as written
        self.text = text
        self.attrs: dict[str, str] = {}
        self.children: list[_Node] = []
        self.index = -1  # position in document order
        self.end = -1  # index of the last node inside this one


class _TreeBuilder(HTMLParser):
    """A forgiving HTML tree: unknown end tags are ignored, unclosed ones closed at the end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", None)
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        current = self.stack[-1]
        if tag in _SELF_CLOSING_SIBLINGS and current.tag == tag:
            self.stack.pop()
            current = self.stack[-1]
        node = _Node(tag, current, start=self.get_starttag_text() or f"<{tag}>")
        node.attrs = {k.lower(): (v or "") for k, v in attrs}
        current.children.append(node)
        if tag not in _VOID and len(self.stack) < _MAX_HTML_DEPTH:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, self.stack[-1], start=self.get_starttag_text() or f"<{tag}/>")
        node.attrs = {k.lower(): (v or "") for k, v in attrs}
        node.tag = tag if tag in _VOID else f"{tag}/"  # written as-is, no end tag
        self.stack[-1].children.append(node)

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(_Node("", self.stack[-1], text=data))


_LONE_LT = re.compile(r"<(?=[^<>]*(?:<|\Z))")


def _defuse(html: str) -> str:
    """Make the markup cheap for HTMLParser to read.

    HTMLParser rescans to the end of the input for every "<" whose construct never ends
    (a tag with no ">", a comment with no "-->", a "<![" section), which makes a hostile
    or broken 1 MB message take minutes. Comments are removed (the sanitiser would drop
    them anyway) and such "<" become text, both in linear time.
    """
    out: list[str] = []
    pos = 0
    while True:
        start = html.find("<!--", pos)
        if start < 0:
            out.append(html[pos:])
            break
        out.append(html[pos:start])
        end = html.find("-->", start + 4)
        if end < 0:
            out.append(html[start:].replace("<!--", "&lt;!--"))
            break
        pos = end + 3
    text = "".join(out).replace("<![", "&lt;![")
    return _LONE_LT.sub("&lt;", text)


def _document_order(root: _Node) -> list[_Node]:
    nodes: list[_Node] = []
    stack = list(reversed(root.children))
    while stack:
        node = stack.pop()
        node.index = len(nodes)
        nodes.append(node)
        stack.extend(reversed(node.children))
    for node in reversed(nodes):  # children come after parents: fill "end" bottom-up
        node.end = max([node.index, *(child.end for child in node.children)])
    return nodes


def _hidden(node: _Node) -> bool:
    parent: _Node | None = node
    while parent is not None:
        if parent.tag in _HIDDEN:
            return True
        parent = parent.parent
    return False


def _lines(nodes: list[_Node]) -> list[tuple[str, int]]:
    """The visible text as lines, each with the index of the node where the line starts
    (the outermost block element that opened it, so cutting there drops the whole block)."""
    lines: list[tuple[str, int]] = []
    current: list[str] = []
    line_start = -1
    pending = -1
    closing: list[int] = []  # end indexes of open block elements

    def newline() -> None:
        nonlocal current, line_start
        if current:
            lines.append(("".join(current), line_start))
        current, line_start = [], -1

    for node in nodes:
        while closing and closing[-1] < node.index:
            closing.pop()
            newline()
        if node.tag in _BLOCK:
            newline()
            if pending < 0:
                pending = node.index
            if node.tag not in _VOID:
                closing.append(node.end)
        elif not node.tag and node.text.strip() and not _hidden(node):
            if not current:
                line_start = pending if pending >= 0 else node.index
                pending = -1
            current.append(" ".join(node.text.split()) + " ")
        elif node.tag == "img" and not current and pending >= 0:
            pending = -1
    newline()
    return [(text.strip(), start) for text, start in lines]


def _structural_cut(nodes: list[_Node]) -> int | None:
    for node in nodes:
        if not node.tag:
            continue
        classes = set(node.attrs.get("class", "").lower().split())
        ident = node.attrs.get("id", "").lower().removeprefix("x_")
        if classes & _QUOTE_CLASSES or ident in _QUOTE_IDS:
            return node.index
        if node.tag == "blockquote" and node.attrs.get("type", "").lower() == "cite":
            return node.index
        if _BORDER_TOP.search(node.attrs.get("style", "")):
            # Outlook desktop: a bordered div whose first line is "From:"/"发件人:".
            first = nodes[node.index + 1 : min(node.end, node.index + 200) + 1]
            inner = [ln for ln, _ in _lines(first)[:1]]
            if inner and _HEADER_FROM.match(inner[0]):
                return node.index
    return None


def _text_cut(lines: list[tuple[str, int]]) -> int | None:
    texts = [text for text, _ in lines]
    for i, (text, start) in enumerate(lines):
        if _history_start(texts, i) or any(p.match(text) for p in _SIGNATURE):
            return start
    return None


def _ignorable(node: _Node) -> bool:
    if not node.tag:
        return not node.text.strip()
    return node.tag in ("br", "hr", "wbr")


def _trailing_blockquote_cut(nodes: list[_Node]) -> int | None:
    """A quote at the very end of the reply, with nothing but blank space after it."""
    cut: int | None = None
    follows = len(nodes)  # where the trailing, already-accepted quote starts
    quotes = [
        n
        for n in nodes
        if n.tag == "blockquote" and not any(p.tag == "blockquote" for p in _ancestors(n))
    ]
    for quote in reversed(quotes):
        between = nodes[quote.end + 1 : follows]
        if all(_ignorable(n) or n.tag not in ("", "img") for n in between):
            cut, follows = quote.index, quote.index
        else:
            break
    return cut


def _ancestors(node: _Node) -> list[_Node]:
    out: list[_Node] = []
    parent = node.parent
    while parent is not None and parent.tag != "#root":
        out.append(parent)
        parent = parent.parent
    return out


def _back_over_blank(nodes: list[_Node], cut: int) -> int:
    """Move the cut back over blank lines, rules and elements left empty by it, so the
    trimmed reply does not end in a stray <hr> or empty wrapper."""
    while cut > 0:
        prev = nodes[cut - 1]
        if _ignorable(prev) or (prev.tag and prev.tag != "img" and prev.end >= cut):
            cut -= 1
        else:
            break
    return cut


def _serialise(node: _Node, cut: int, out: list[str]) -> None:
    for child in node.children:
        if child.index >= cut:
            return
        if not child.tag:
            out.append(html_escape(child.text, quote=False))
            continue
        out.append(child.start)
        if child.tag in _VOID or child.tag.endswith("/"):
            continue
        _serialise(child, cut, out)
        out.append(f"</{child.tag}>")


def trim_reply_html(html: str) -> str:
    """The new part of an HTML reply: quoted history and signature removed.

    Recognises Gmail, Outlook (desktop, web, new), Apple Mail, Thunderbird and the Chinese
    clients (QQ/Foxmail, NetEase, Outlook in Chinese), then any trailing <blockquote>.
    The result is not sanitised: the caller passes it through sanitize_html as before.
    Like trim_reply, it never returns nothing: a reply that is only a quote comes back
    whole.
    """
    if not html or html.count("<") > _MAX_HTML_TAGS:
        return html
    builder = _TreeBuilder()
    try:
        builder.feed(_defuse(html))
        builder.close()
    except Exception:  # HTMLParser is lenient, but a bug there must not lose the reply
        return html
    nodes = _document_order(builder.root)
    if not nodes:
        return html
    lines = _lines(nodes)
    candidates = [
        cut
        for cut in (_structural_cut(nodes), _text_cut(lines), _trailing_blockquote_cut(nodes))
        if cut is not None
    ]
    if not candidates:
        return html
    cut = _back_over_blank(nodes, min(candidates))
    kept_text = [text for text, start in lines if start < cut and text]
    has_image = any(n.tag == "img" for n in nodes[:cut])
    if not kept_text and not has_image:
        return html
    out: list[str] = []
    _serialise(builder.root, cut, out)
    return "".join(out).strip()
