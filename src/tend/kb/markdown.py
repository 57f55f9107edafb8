"""Article Markdown → the HTML the help center shows.

Two locks, so that neither alone has to be perfect: markdown-it runs with raw HTML
disabled (``<script>`` typed into an article comes out as text, not as a tag) and
refuses ``javascript:``/``vbscript:``/``data:`` links itself; then nh3 keeps only an
allow-list of tags, attributes and URL schemes. Links may point to http(s), mailto or
a relative path; images only to our own media or https (an ``http:`` image would be
mixed content on the help center, a ``data:`` one an unchecked payload). Links that
leave the site get ``rel="noopener nofollow"``: authors link freely, and the help
center should not lend its ranking to whatever they link to.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import nh3
from django.conf import settings
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from tend.core.html import ALLOWED_TAGS

EXTERNAL_REL = "noopener nofollow"
LINK_SCHEMES = {"http", "https", "mailto"}

_TAGS = ALLOWED_TAGS | {"caption"}
_ATTRIBUTES = {
    "a": {"href", "title", "rel"},
    "img": {"src", "alt", "title"},
    "td": {"colspan", "rowspan", "style"},
    "th": {"colspan", "rowspan", "style"},
}


def _is_external(href: str) -> bool:
    parts = urlsplit(href)
    if parts.scheme not in ("http", "https"):
        return False
    own = urlsplit(settings.BASE_URL).netloc
    return parts.netloc.lower() != own.lower()


def _image_allowed(src: str) -> bool:
    parts = urlsplit(src)
    if parts.scheme == "https" and parts.netloc:
        return True
    # Our own media, by path ("/media/kb/…") or by our absolute URL.
    if not parts.scheme and not parts.netloc:
        return src.startswith(settings.MEDIA_URL)
    return f"{parts.scheme}://{parts.netloc}" == settings.BASE_URL and parts.path.startswith(
        settings.MEDIA_URL
    )


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _image_allowed(value) else None
    if tag == "a" and attribute == "rel":
        # Only our renderer writes rel (raw HTML is off); keep exactly its value.
        return EXTERNAL_REL if value == EXTERNAL_REL else None
    if attribute == "style":
        # Table cell alignment is the only style Markdown produces.
        return (
            value if value in ("text-align:left", "text-align:center", "text-align:right") else None
        )
    return value


def _render_link_open(
    renderer: RendererHTML,
    tokens: Sequence[Token],
    idx: int,
    options: OptionsDict,
    env: EnvType,
) -> str:
    token = tokens[idx]
    href = str(token.attrGet("href") or "")
    if _is_external(href):
        token.attrSet("rel", EXTERNAL_REL)
    return renderer.renderToken(tokens, idx, options, env)


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _render_link_open)
    return md


def render_markdown(text: str) -> str:
    """Sanitised HTML for article Markdown. Size limits belong to the services
    (``MAX_MARKDOWN_CHARS``); this function renders whatever it is given."""
    if not text:
        return ""
    html = _parser().render(text)
    return nh3.clean(
        html,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes=LINK_SCHEMES,
        link_rel=None,
        attribute_filter=_keep_attribute,
        strip_comments=True,
    )


def markdown_plain_text(text: str) -> str:
    """The words of Markdown without its markup, for summaries and descriptions."""
    out: list[str] = []
    _collect_text(_parser().parse(text or ""), out)
    return " ".join("".join(out).split())


def _collect_text(tokens: Sequence[Any], out: list[str]) -> None:
    for token in tokens:
        if token.type == "inline" and token.children:
            _collect_text(token.children, out)
        elif token.type in ("text", "code_inline", "code_block", "fence"):
            out.append(token.content)
        elif token.type in ("softbreak", "hardbreak") or (token.block and token.nesting == -1):
            out.append(" ")
