"""Sanitising HTML that arrives from outside (email bodies, API payloads)."""

from __future__ import annotations

import nh3

# Enough for formatted email and pasted documents; no scripts, styles, forms or frames.
ALLOWED_TAGS = {
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "code",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "kbd",
    "li",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# cid: lets inline email images be rewritten to attachment URLs later.
URL_SCHEMES = {"http", "https", "mailto", "cid"}


def _keep_attribute(tag: str, attribute: str, value: str) -> str | None:
    # A remote image in a customer's email would load the moment an agent opens the
    # ticket, telling the sender who read it, when, and from which address. Only
    # inline (cid:) images survive; they are served from Tend itself.
    if tag == "img" and attribute == "src" and not value.lower().startswith("cid:"):
        return None
    return value


def sanitize_html(html: str) -> str:
    """Return ``html`` with everything that could run, restyle the page or call home
    removed."""
    if not html:
        return ""
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        attribute_filter=_keep_attribute,
    )
