"""Article Markdown → the HTML the help center shows.

Two locks, so that neither alone has to be perfect: markdown-it runs with raw HTML
disabled (``<script>`` typed into an article comes out as text, not as a tag) and
refuses ``javascript:``/``vbscript:``/``data:`` links itself; then nh3 keeps only an
allow-list of tags, attributes and URL schemes. Links may point to http(s), mailto or
a relative path; images only to our own article images or https (an ``http:`` image
would be mixed content on the help center, a ``data:`` one an unchecked payload, any
other file under /media/ possibly private). Our images are written with their public
help-center address (kb.images), also when the Markdown still names ``/media/kb/…``,
the address the editor used to insert. Links that
leave the site get ``rel="noopener nofollow"``: authors link freely, and the help
center should not lend its ranking to whatever they link to.
"""

from __future__ import annotations

import re
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
from tend.kb.images import HELP_IMAGES_PATH, UPLOAD_DIR, help_image_path, is_image_name

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


def _own_image(path: str) -> str | None:
    """The public address of one of our article images named by ``path`` (its old
    media address or its help-center one); None for anything else."""
    if path.startswith(HELP_IMAGES_PATH):
        return path if is_image_name(path[len(HELP_IMAGES_PATH) :]) else None
    if path.startswith(settings.MEDIA_URL):
        return help_image_path(path[len(settings.MEDIA_URL) :])
    return None


def _image_src(src: str) -> str | None:
    """What an image's ``src`` becomes: https elsewhere as it is; on our own host
    (relative or absolute) only our article images, by their public address."""
    parts = urlsplit(src)
    ours = (not parts.scheme and not parts.netloc) or _is_own(parts.scheme, parts.netloc)
    if not ours:
        return src if parts.scheme == "https" and parts.netloc else None
    public = _own_image(parts.path)
    if public is None:
        return None
    return f"{settings.BASE_URL}{public}" if parts.netloc else public


def _is_own(scheme: str, netloc: str) -> bool:
    return f"{scheme}://{netloc}".lower() == settings.BASE_URL.lower()


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return _image_src(value)
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


def with_public_images(html: str) -> str:
    """Stored article HTML with images rendered before they had a public address
    (``/media/kb/…``) pointing at it; cheap when there are none (the usual case)."""
    old = f"{settings.MEDIA_URL}{UPLOAD_DIR}"
    if old not in html:
        return html
    return re.sub(f'src="(https?://[^"/]+)?{re.escape(old)}([^"]*)"', _public_src, html)


def _public_src(match: re.Match[str]) -> str:
    host = match.group(1) or ""
    if host and not _is_own(*host.split("://", 1)):
        return match.group(0)
    path = help_image_path(f"{UPLOAD_DIR}{match.group(2)}")
    return f'src="{host}{path}"' if path else 'src=""'


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
