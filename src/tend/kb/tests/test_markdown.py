"""Article Markdown renders to safe HTML: nothing an author (or a stolen author
account) writes can run script on the public help center."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from tend.kb.markdown import markdown_plain_text, render_markdown, with_public_images


class _Tags(HTMLParser):
    """Every tag and attribute the browser would see."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))


def tags_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def test_markdown_renders_headings_lists_tables_and_code() -> None:
    html = render_markdown("# Refunds\n\n- one\n- two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n`x`")

    assert "<h1>Refunds</h1>" in html
    assert "<li>one</li>" in html
    assert "<table>" in html and "<td>1</td>" in html
    assert "<code>x</code>" in html


@pytest.mark.parametrize(
    "markdown",
    [
        "<script>alert(1)</script>",
        '<iframe src="https://evil.example"></iframe>',
        "<img src=x onerror=alert(1)>",
        '<a href="javascript:alert(1)">x</a>',
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](vbscript:msgbox(1))",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](javascript:alert(1))",
        "<svg onload=alert(1)>",
        '<div style="position:fixed">x</div>',
    ],
)
def test_dangerous_markdown_comes_out_inert(markdown: str) -> None:
    tags = tags_of(render_markdown(markdown))

    assert {tag for tag, _attrs in tags} <= {"p", "a", "img", "div"}
    for _tag, attrs in tags:
        assert not any(name.startswith("on") or name == "style" for name in attrs)
        for url in (attrs.get("href", ""), attrs.get("src", "")):
            assert not url.lower().startswith(("javascript:", "vbscript:", "data:"))


def test_raw_html_is_shown_as_text_not_markup() -> None:
    assert render_markdown("<b>bold</b>") == "<p>&lt;b&gt;bold&lt;/b&gt;</p>\n"


def test_external_links_get_noopener_nofollow_internal_do_not(settings) -> None:  # type: ignore[no-untyped-def]
    settings.BASE_URL = "https://help.acme.test"

    html = render_markdown(
        "[a](https://other.example/x) [b](/help/articles/x/) [c](https://help.acme.test/x) "
        "[d](mailto:help@acme.test)"
    )

    assert '<a href="https://other.example/x" rel="noopener nofollow">a</a>' in html
    assert '<a href="/help/articles/x/">b</a>' in html
    assert '<a href="https://help.acme.test/x">c</a>' in html
    assert '<a href="mailto:help@acme.test">d</a>' in html


def test_images_only_from_our_article_images_or_https() -> None:
    html = render_markdown(
        "![ours](/help/images/2026/11/a.png) ![remote](https://cdn.example/b.png) "
        "![plain](http://cdn.example/c.png) ![inline](data:image/png;base64,AAAA) "
        "![private](/media/attachments/2026/11/invoice.png) "
        "![sneaky](/help/images/2026/11/../../../media/x.png)"
    )

    assert 'src="/help/images/2026/11/a.png"' in html
    assert 'src="https://cdn.example/b.png"' in html
    assert "http://cdn.example" not in html
    assert "data:" not in html
    # Other media may be private (ticket attachments); a path trick is no image of ours.
    assert "attachments" not in html and ".." not in html


def test_images_written_with_their_old_media_address_get_the_public_one(settings) -> None:  # type: ignore[no-untyped-def]
    settings.BASE_URL = "https://help.acme.test"

    html = render_markdown(
        "![a](/media/kb/2026/11/a.png) ![b](https://help.acme.test/media/kb/2026/11/b.webp)"
    )

    assert 'src="/help/images/2026/11/a.png"' in html
    assert 'src="https://help.acme.test/help/images/2026/11/b.webp"' in html
    assert "/media/" not in html


def test_html_stored_with_old_image_addresses_is_shown_with_the_public_ones() -> None:
    stored = (
        '<p><img src="/media/kb/2026/11/a.png" alt="a"> <img src="https://x.example/b.png"></p>'
    )

    html = with_public_images(stored)

    assert html == (
        '<p><img src="/help/images/2026/11/a.png" alt="a"> <img src="https://x.example/b.png"></p>'
    )
    assert with_public_images("<p>no images</p>") == "<p>no images</p>"


def test_plain_text_drops_markup() -> None:
    assert markdown_plain_text("# Title\n\nSee [the guide](/x) and **bold**.") == (
        "Title See the guide and bold."
    )
