"""Quoted history in HTML replies, in the shapes the common mail clients write it.

Samples are written for these tests after the structure each client produces.
"""

import re

import pytest

from tend.core.html import sanitize_html
from tend.mail.quoting import trim_reply_html


def _visible(html: str) -> str:
    # What the agent sees: the sanitiser drops <style>/<head>, then tags are not text.
    return " ".join(re.sub(r"<[^>]+>", " ", sanitize_html(html)).split())


GMAIL = """<div dir="ltr">Thanks, that fixed it.<div><br></div><div>Ann</div></div><br>
<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Tue, 3 Mar
2026 at 10:00, Support &lt;<a href="mailto:s@tend.test">s@tend.test</a>&gt; wrote:<br></div>
<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid
rgb(204,204,204);padding-left:1ex">Try turning it off and on.</blockquote></div>"""

OUTLOOK_DESKTOP = """<html><head><style>p.MsoNormal{margin:0cm}</style></head>
<body lang="EN-GB"><div class="WordSection1"><p class="MsoNormal">Still broken after the
update.<o:p></o:p></p><p class="MsoNormal"><o:p>&nbsp;</o:p></p>
<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">
<p class="MsoNormal"><b>From:</b> Support &lt;s@tend.test&gt;<br><b>Sent:</b> Monday, 2 March
2026 10:00<br><b>To:</b> Ann &lt;ann@example.com&gt;<br><b>Subject:</b> [#42] Printer</p></div>
<p class="MsoNormal">Please try the new driver.</p></div></body></html>"""

OUTLOOK_WEB = """<div dir="ltr"><div style="font-family:Aptos">Yes, this morning.</div>
<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> Support<br>
<b>Sent:</b> Monday<br></font></div><div>When did it start?</div></div>"""

APPLE_MAIL = """<html><body style="overflow-wrap: break-word;">Works now, thank you!<div><br>
<blockquote type="cite"><div>On 3 Mar 2026, at 10:00, Support &lt;s@tend.test&gt; wrote:</div>
<br class="Apple-interchange-newline"><div><div>Try again.</div></div></blockquote></div>
<br></body></html>"""

THUNDERBIRD = """<html><body><p>Confirmed, closing on our side.</p>
<div class="moz-cite-prefix">On 03/03/2026 10:00, Support wrote:<br></div>
<blockquote type="cite" cite="mid:tend.42.7@tend.test">Can we close this?</blockquote>
<div class="moz-signature">-- <br>Ann Smith, ACME</div></body></html>"""

QQ_MAIL = """<div>好的，问题已经解决了，谢谢！</div><div><br></div>
<div><div style="font-size: 12px;font-family: Arial Narrow;padding:2px 0 2px 0;">
------------------&nbsp;原始邮件&nbsp;------------------</div>
<div style="font-size: 12px;background:#efefef;padding:8px;"><div><b>发件人:</b>
"客服"&lt;s@tend.test&gt;;</div><div><b>发送时间:</b>&nbsp;2026年3月3日(星期二) 上午10:00</div>
<div><b>收件人:</b>&nbsp;"我"&lt;wang@qq.example&gt;;</div></div><div><br></div>
请重启打印机。</div>"""

NETEASE = """<div style="line-height:1.7;color:#000000;font-size:14px">收到，明天再试。<br>
<br><div style="position:relative;zoom:1"></div><div id="divNeteaseMailCard"></div><br>
<p>在 2026-03-03 10:00:00，"客服"&nbsp;&lt;s@tend.test&gt; 写道：</p>
<blockquote id="isReplyContent" style="PADDING-LEFT: 1ex; MARGIN: 0px 0px 0px 0.8ex">
请提供序列号。</blockquote></div>"""

OUTLOOK_ZH = """<div dir="ltr"><div>已经更新了驱动。</div><div id="appendonsend"></div>
<hr style="display:inline-block;width:98%"><div id="divRplyFwdMsg"><b>发件人:</b> 客服<br>
<b>发送时间:</b> 2026年3月3日 10:00<br><b>收件人:</b> 王五<br><b>主题:</b> 打印机</div>
<div>请更新驱动。</div></div>"""

FOXMAIL = """<div>附件已发送。</div><div>&nbsp;</div><div>-----原始邮件-----</div>
<div>发件人：客服 &lt;s@tend.test&gt;</div><div>发送时间：2026-03-03 10:00</div>
<div>请发送附件。</div>"""

GENERIC = """<p>See my answers inline below, and the summary: all fine.</p>
<blockquote><p>Did it work?</p></blockquote><br>"""

INTERLEAVED = """<p>My answers:</p><blockquote>Q1?</blockquote><p>A1.</p>
<blockquote>Q2?</blockquote><p>A2.</p>"""

CASES = [
    ("gmail", GMAIL, "Thanks, that fixed it. Ann", ["Try turning", "wrote:", "gmail_quote"]),
    ("outlook", OUTLOOK_DESKTOP, "Still broken after the update.", ["From:", "new driver"]),
    ("outlook web", OUTLOOK_WEB, "Yes, this morning.", ["From:", "When did", "<hr"]),
    ("apple mail", APPLE_MAIL, "Works now, thank you!", ["Try again", "wrote:"]),
    ("thunderbird", THUNDERBIRD, "Confirmed, closing on our side.", ["close this", "Ann Smith"]),
    ("qq mail", QQ_MAIL, "好的，问题已经解决了，谢谢！", ["原始邮件", "发件人", "重启"]),
    ("netease", NETEASE, "收到，明天再试。", ["写道", "序列号"]),
    ("outlook zh", OUTLOOK_ZH, "已经更新了驱动。", ["发件人", "请更新驱动", "<hr"]),
    ("foxmail", FOXMAIL, "附件已发送。", ["原始邮件", "请发送附件"]),
    ("trailing blockquote", GENERIC, "See my answers inline below", ["Did it work"]),
]


@pytest.mark.parametrize(
    ("html", "kept", "gone"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_quoted_history_is_trimmed(html: str, kept: str, gone: list[str]) -> None:
    trimmed = trim_reply_html(html)
    assert _visible(trimmed).startswith(kept)
    for text in gone:
        assert text not in trimmed
    # Still shown through the sanitiser as before; what is left renders as the reply.
    assert kept.split()[0] in sanitize_html(trimmed)


def test_inline_answers_between_quotes_are_kept() -> None:
    # Only a quote at the very end is history; answers written between quotes are the reply.
    trimmed = trim_reply_html(INTERLEAVED)
    assert "A1." in trimmed and "A2." in trimmed and "Q1?" in trimmed


def test_reply_without_quote_is_unchanged() -> None:
    html = '<div dir="ltr">Thanks!<br><img src="cid:logo@x" alt="logo"></div>'
    assert trim_reply_html(html) == html


def test_only_a_quote_comes_back_whole() -> None:
    html = '<div class="gmail_quote">On Mon, Support wrote:<blockquote>old</blockquote></div>'
    assert trim_reply_html(html) == html


def test_inline_image_alone_counts_as_reply() -> None:
    html = '<div><img src="cid:shot@x"></div><blockquote type="cite">old</blockquote>'
    trimmed = trim_reply_html(html)
    assert "cid:shot@x" in trimmed and "old" not in trimmed


def test_broken_html_does_not_fail() -> None:
    assert "Hi" in trim_reply_html("<div>Hi<p><b>there</div></i><blockquote>old")
    assert trim_reply_html("") == ""
    assert trim_reply_html("<" * 1000).startswith("<")
    deep = "<div>" * 5000 + "Deep" + "</div>" * 5000 + "<blockquote>old</blockquote>"
    assert "Deep" in trim_reply_html(deep)
