"""A deterministic Maildir of customer email for the ingest benchmark.

``build(path, count, seed)`` writes ``count`` messages into a Maildir (``cur/``,
``new/``, ``tmp/``) the way a mail delivery agent leaves it: most unread in ``new/``,
some already seen in ``cur/`` with ``:2,S``. The same seed gives byte-identical files.

The mix is what a support inbox gets: plain text, multipart/alternative with HTML,
attachments (PNG, JPEG, GIF, PDF, ZIP, CSV — real leading bytes so attachment checks
accept them — up to 150 KB, plus a few types a help desk refuses), about 30% Chinese
(subjects RFC 2047-encoded in UTF-8; bodies in UTF-8, in GBK/GB18030 labelled
``gb2312`` as many Chinese clients do, and in Big5) and about 30% replies that thread
to an earlier message by In-Reply-To/References and quote its history, the way
Gmail, Outlook, Apple Mail, Foxmail and NetEase clients do. No subject tokens: replies
must thread by headers. All text is made up here from small phrase lists.

    python bench/mail_corpus.py bench/data/maildir-10000 --count 10000
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import quopri
import random
import shutil
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

VERSION = 2  # bump when the output changes, so cached corpora are rebuilt
SUPPORT = "support@tend.example"
SUPPORT_NAME = "Acme Support"
HOST = "mx1.tend.example"
START = datetime(2026, 9, 1, 8, 0, tzinfo=UTC)
CHINESE_SHARE = 0.30
REPLY_SHARE = 0.30
MAX_ATTACHMENT = 150 * 1024

# --- made-up text -------------------------------------------------------------------

FIRST = ["Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas",
         "Kofi", "Lena", "Marco", "Nadia", "Oskar", "Priya", "Quinn", "Rosa", "Samir", "Tara",
         "Umar", "Vera", "Wes", "Xenia", "Yusuf", "Zoe"]  # fmt: skip
LAST = ["Adler", "Brooks", "Costa", "Dietrich", "Evans", "Fischer", "Garcia", "Hansen",
        "Ivanova", "Jensen", "Kowalski", "Larsen", "Moreau", "Novak", "Okafor", "Petrov",
        "Quint", "Rossi", "Silva", "Tanaka", "Urban", "Varga", "Weber", "Young"]  # fmt: skip
SURNAMES_ZH = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN_ZH = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红鹏飞雪琳晨欣怡"
COMPANIES = ["northwind", "bluepeak", "larkspur", "copperline", "fjordtech", "meadowsoft",
             "quillworks", "brightforge", "stonebridge", "tidewater"]  # fmt: skip
COMPANIES_ZH = ["hengda-tech", "jinhua-soft", "xinyuan", "tianyi-data", "huaxing", "beichen"]
FREEMAIL = ["gmail.example", "outlook.example", "yahoo.example", "proton.example"]
FREEMAIL_ZH = ["qq.example", "163.example", "126.example", "sina.example", "foxmail.example"]

TOPICS_EN = [
    ("cannot log in", "I can't log in since this morning. The page just reloads after I "
     "enter my password"),
    ("invoice question", "Our latest invoice shows twelve seats but we only have nine users"),
    ("export is empty", "When I export last month's report to CSV the file only has the "
     "header row"),
    ("sync stopped", "The calendar sync stopped working after we changed our domain"),
    ("refund request", "We were charged twice for the annual plan and would like a refund "
     "for the second charge"),
    ("API rate limit", "Our integration keeps getting 429 responses although we send far "
     "fewer requests than the documented limit"),
    ("add a new admin", "Could you make my colleague an administrator of our workspace"),
    ("slow dashboard", "The dashboard takes almost a minute to load for our team"),
    ("password reset email", "The password reset email never arrives, not even in spam"),
    ("change billing address", "We moved offices and need the billing address updated"),
    ("webhook failures", "Webhooks to our endpoint fail with a timeout since Tuesday"),
    ("mobile app crash", "The mobile app closes right after the splash screen on my phone"),
]  # fmt: skip
SENTENCES_EN = [
    "We have tried clearing the cache and using another browser.",
    "This is blocking our month-end close, so a quick answer would help a lot.",
    "I attached a screenshot of what we see.",
    "It worked fine until the update last week.",
    "Two other people on my team see the same thing.",
    "Is there a workaround we can use in the meantime?",
    "Our account number is on the attached invoice.",
    "Please let me know if you need any logs from our side.",
    "We are on the business plan, in case that matters.",
    "I could not find anything about this in the help center.",
    "The error message says something went wrong, nothing more specific.",
    "We would prefer not to lose the data we entered today.",
]
REPLIES_EN = [
    "Thanks for the quick answer. Unfortunately it still happens.",
    "That worked, thank you! One more question though.",
    "I tried the steps you suggested and now I get a different error.",
    "Any update on this? It is still a problem for us.",
    "Here is the log file you asked for.",
    "Following up on my earlier message below.",
    "Great, please go ahead with the change.",
    "Sorry for the late reply, I was out of the office.",
]
SIGN_OFFS_EN = ["Best regards", "Thanks", "Kind regards", "Cheers", "Many thanks"]

TOPICS_ZH = [
    ("无法登录", "从今天早上开始我就无法登录，输入密码后页面又回到登录界面"),
    ("发票有误", "我们最新的发票显示十二个席位，但实际上只有九个用户"),
    ("导出文件为空", "导出上个月的报表为表格时，文件里只有标题行"),
    ("同步停止", "我们更换域名之后，日历同步就不再工作了"),
    ("申请退款", "年度套餐被重复扣款了两次，希望退还第二笔费用"),
    ("接口限流", "我们的集成一直收到请求过多的错误，但请求量远低于文档中的限制"),
    ("添加管理员", "请把我的同事设置为我们工作区的管理员"),
    ("仪表盘很慢", "我们团队打开仪表盘需要将近一分钟"),
    ("收不到重置密码邮件", "重置密码的邮件一直收不到，垃圾邮件里也没有"),
    ("修改账单地址", "我们搬了办公室，需要更新账单地址"),
    ("回调失败", "从周二开始，发往我们服务器的回调全部超时"),
    ("手机应用闪退", "手机应用在启动画面之后马上就闪退了"),
]
SENTENCES_ZH = [
    "我们已经清除了缓存，也换了浏览器试过。",
    "这个问题影响了我们的月底结算，希望尽快回复。",
    "附件是我们看到的截图。",
    "上周更新之前一切正常。",
    "我们团队还有两位同事遇到同样的情况。",
    "在问题解决之前有没有临时的办法？",
    "我们的账号在附件的发票上。",
    "如果需要我们这边的日志，请告诉我。",
    "我们使用的是企业版套餐。",
    "帮助中心里没有找到相关的说明。",
    "错误提示只写了出错了，没有更具体的信息。",
    "麻烦尽快处理，谢谢配合。",
    "客户那边一直在催，能否今天给个答复？",
]
REPLIES_ZH = [
    "谢谢您的快速回复，不过问题仍然存在。",
    "按照您说的方法已经解决了，非常感谢！还有一个问题想请教。",
    "按照您建议的步骤操作后，现在出现了另一个错误。",
    "请问有进展吗？我们这边还是有这个问题。",
    "这是您要的日志文件。",
    "跟进一下我之前的邮件。",
    "好的，请帮我们修改吧。",
    "抱歉回复晚了，前几天在出差。",
]
REPLIES_BIG5 = [
    "謝謝您的快速回覆，不過問題仍然存在。",
    "請問有進展嗎？我們這邊還是有這個問題。",
    "這是您要的記錄檔。",
    "好的，請幫我們修改。",
]
SIGN_OFFS_ZH = ["谢谢", "此致\n敬礼", "祝好", "多谢", "顺祝商祺"]
# Characters outside GB2312 but inside GBK/GB18030, the reason "gb2312" labels lie.
SURNAMES_BIG5 = "王李張劉陳楊黃趙吳周徐孫林郭何高羅鄭謝宋"
GIVEN_BIG5 = "偉芳娜敏靜麗強磊軍洋勇傑娟濤明超秀霞平剛"
GBK_ONLY = "镕喆赟珺堃翀"
# Traditional text for Big5 messages.
TOPICS_BIG5 = [
    ("無法登入", "從今天早上開始我就無法登入，輸入密碼後頁面又回到登入畫面"),
    ("發票問題", "我們最新的發票顯示十二個席位，但實際上只有九個使用者"),
    ("匯出檔案是空的", "匯出上個月的報表時，檔案裡只有標題列"),
    ("申請退款", "年度方案被重複扣款兩次，希望退還第二筆費用"),
]
SENTENCES_BIG5 = [
    "我們已經清除快取，也換了瀏覽器試過。",
    "這個問題影響到我們的月底結算，麻煩盡快回覆。",
    "附件是我們看到的畫面截圖。",
    "上週更新之前一切正常。",
]

MAILERS_EN = [
    "Microsoft Outlook 16.0",
    "Apple Mail (2.3774.300.61.1.2)",
    "Mozilla Thunderbird 128.4.0",
    None,  # webmail: no X-Mailer
]
MAILERS_ZH = ["Foxmail 7.2.25.375[cn]", "NetEase Mail Master 5.1", "Coremail Webmail 3.0", None]


# --- the generator --------------------------------------------------------------------


@dataclass
class Person:
    name: str
    email: str
    lang: str  # "en" | "zh" | "big5"


@dataclass
class Sent:
    """What a later reply needs to know about an earlier message."""

    message_id: str
    references: list[str]
    subject: str
    person: Person
    date: datetime
    lang: str
    body_text: str
    replies: int = 0


@dataclass
class Stats:
    messages: int = 0
    chinese: int = 0
    replies: int = 0
    html: int = 0
    with_attachments: int = 0
    attachments: int = 0
    refused_attachments: int = 0
    charsets: dict[str, int] = field(default_factory=dict)
    bytes: int = 0


def _b(text: str) -> str:
    """RFC 2047 encoded-word(s) in UTF-8, split so no encoded word gets too long."""
    data = text.encode("utf-8")
    words, chunk = [], b""
    for ch in text:
        enc = ch.encode("utf-8")
        if len(chunk) + len(enc) > 42:
            words.append(chunk)
            chunk = b""
        chunk += enc
    if chunk or not words:
        words.append(chunk)
    del data
    return "\r\n ".join(f"=?UTF-8?B?{base64.b64encode(w).decode()}?=" for w in words)


def _b64_lines(data: bytes) -> str:
    encoded = base64.b64encode(data).decode()
    return "\r\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))


def _qp(data: bytes) -> str:
    return quopri.encodestring(data).decode("ascii").replace("\n", "\r\n")


def _address(person: Person) -> str:
    if person.name.isascii():
        return f'"{person.name}" <{person.email}>'
    return f"{_b(person.name)} <{person.email}>"


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.people = self._people()
        self.sent: list[Sent] = []
        self.open_threads: list[Sent] = []
        self.stats = Stats()
        self.clock = START

    # people ---------------------------------------------------------------------

    def _people(self) -> dict[str, list[Person]]:
        rng = self.rng
        people: dict[str, list[Person]] = {"en": [], "zh": [], "big5": []}
        seen: set[str] = set()
        while len(people["en"]) < 900:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            domain = rng.choice(COMPANIES + FREEMAIL) + (".example" if rng.random() < 0.7 else "")
            domain = domain if domain.endswith(".example") else domain + ".example"
            email = f"{first.lower()}.{last.lower()}{rng.randint(1, 99)}@{domain}"
            if email not in seen:
                seen.add(email)
                people["en"].append(Person(f"{first} {last}", email, "en"))
        while len(people["zh"]) + len(people["big5"]) < 500:
            lang = "big5" if rng.random() < 0.15 else "zh"
            surnames, given = (
                (SURNAMES_BIG5, GIVEN_BIG5) if lang == "big5" else (SURNAMES_ZH, GIVEN_ZH)
            )
            name = rng.choice(surnames) + "".join(
                rng.choice(given) for _ in range(rng.randint(1, 2))
            )
            domain = rng.choice(COMPANIES_ZH + FREEMAIL_ZH)
            domain = domain if domain.endswith(".example") else domain + ".example"
            local = (
                f"user{rng.randint(10000, 99999999)}"
                if "qq" in domain
                else f"cs{rng.randint(1, 9999)}"
            )
            email = f"{local}@{domain}"
            if email not in seen:
                seen.add(email)
                people[lang].append(Person(name, email, lang))
        return people

    # text -----------------------------------------------------------------------

    def _new_text(self, lang: str, person: Person) -> tuple[str, str]:
        rng = self.rng
        if lang == "en":
            topic, opener = rng.choice(TOPICS_EN)
            subject = topic[0].upper() + topic[1:]
            if rng.random() < 0.3:
                subject += f" ({rng.choice(['urgent', 'account ' + str(rng.randint(1000, 99999)), 'again'])})"
            paras = ["Hello,", opener + "."]
            paras.append(" ".join(rng.sample(SENTENCES_EN, rng.randint(2, 5))))
            if rng.random() < 0.4:
                paras.append(" ".join(rng.sample(SENTENCES_EN, rng.randint(2, 4))))
            paras.append(f"{rng.choice(SIGN_OFFS_EN)},\n{person.name.split()[0]}")
            return subject, "\n\n".join(paras)
        topics, sentences = (
            (TOPICS_BIG5, SENTENCES_BIG5) if lang == "big5" else (TOPICS_ZH, SENTENCES_ZH)
        )
        topic, opener = rng.choice(topics)
        subject = topic
        if lang == "zh" and rng.random() < 0.3:
            subject += f"（订单号 {rng.randint(100000, 999999)}）"
        paras = ["您好：", opener + "。"]
        paras.append("".join(rng.sample(sentences, min(len(sentences), rng.randint(2, 4)))))
        name = person.name
        if lang == "zh" and rng.random() < 0.25:
            name = name[0] + rng.choice(GBK_ONLY)  # a name GB2312 cannot spell
        paras.append(f"{rng.choice(SIGN_OFFS_ZH if lang == 'zh' else ['謝謝', '祝好'])}\n{name}")
        return subject, "\n\n".join(paras)

    def _reply_text(self, lang: str, person: Person, parent: Sent) -> str:
        rng = self.rng
        if lang == "en":
            lead = (
                rng.choice(REPLIES_EN) + " " + " ".join(rng.sample(SENTENCES_EN, rng.randint(1, 3)))
            )
            lead += f"\n\n{rng.choice(SIGN_OFFS_EN)},\n{person.name.split()[0]}"
        else:
            big5 = lang == "big5"
            pool = SENTENCES_BIG5 if big5 else SENTENCES_ZH
            lead = rng.choice(REPLIES_BIG5 if big5 else REPLIES_ZH)
            lead += "".join(rng.sample(pool, rng.randint(1, 2)))
            lead += f"\n\n{rng.choice(['謝謝', '祝好'] if big5 else SIGN_OFFS_ZH)}\n{person.name}"
        quoted = "\n".join(("> " + line) if line else ">" for line in parent.body_text.splitlines())
        when = parent.date
        who = parent.person
        style = rng.random()
        if lang == "en":
            if style < 0.45:  # Gmail
                header = f"On {when:%a, %b %d, %Y at %H:%M}, {who.name} <{who.email}> wrote:"
                return f"{lead}\n\n{header}\n\n{quoted}\n"
            if style < 0.8:  # Outlook
                block = (
                    "________________________________\n"
                    f"From: {who.name} <{who.email}>\n"
                    f"Sent: {when:%A, %B %d, %Y %I:%M %p}\n"
                    f"To: {SUPPORT_NAME} <{SUPPORT}>\n"
                    f"Subject: {parent.subject}\n\n"
                )
                return f"{lead}\n\n{block}{parent.body_text}\n"
            header = f"> On {when:%d %b %Y}, at {when:%H:%M}, {who.name} <{who.email}> wrote:"
            return f"{lead}\n\n{header}\n>\n{quoted}\n"  # Apple Mail
        if lang == "big5":  # Outlook, Traditional Chinese
            block = (
                "-----原始郵件-----\n"
                f"寄件者: {who.name} <{who.email}>\n"
                f"寄件日期: {when.year}年{when.month}月{when.day}日 {when:%H:%M}\n"
                f"收件者: {SUPPORT_NAME} <{SUPPORT}>\n"
                f"主旨: {parent.subject}\n\n"
            )
            return f"{lead}\n\n{block}{parent.body_text}\n"
        if style < 0.5:  # Foxmail / QQ
            block = (
                "------------------ 原始邮件 ------------------\n"
                f'发件人: "{who.name}"<{who.email}>;\n'
                f"发送时间: {when.year}年{when.month}月{when.day}日(星期{'一二三四五六日'[when.weekday()]}) "
                f"{when:%H:%M}\n"
                f'收件人: "{SUPPORT_NAME}"<{SUPPORT}>;\n'
                f"主题: {parent.subject}\n\n"
            )
            return f"{lead}\n\n{block}{parent.body_text}\n"
        if style < 0.8:  # NetEase
            header = f'在 {when:%Y-%m-%d %H:%M:%S}，"{who.name}" <{who.email}> 写道：'
            return f"{lead}\n\n{header}\n{quoted}\n"
        block = f"-----原始邮件-----\n发件人: {who.name} <{who.email}>\n主题: {parent.subject}\n\n"
        return f"{lead}\n\n{block}{parent.body_text}\n"

    # MIME -----------------------------------------------------------------------

    def _text_part(self, text: str, lang: str, subtype: str = "plain") -> str:
        rng = self.rng
        wire = text.replace("\n", "\r\n")
        if lang == "en":
            label, data = "utf-8", wire.encode("utf-8")
            cte = rng.choice(["7bit", "quoted-printable", "7bit"])
        elif lang == "big5":
            label, data = "big5", wire.encode("big5")
            cte = rng.choice(["base64", "quoted-printable"])
        else:
            r = rng.random()
            if r < 0.45:
                label, data = "gb2312", wire.encode("gb18030")  # GBK content, narrow label
            elif r < 0.55:
                label, data = "gb18030", wire.encode("gb18030")
            else:
                label, data = "utf-8", wire.encode("utf-8")
            cte = "base64" if label != "utf-8" or rng.random() < 0.6 else "quoted-printable"
        self.stats.charsets[label] = self.stats.charsets.get(label, 0) + 1
        if cte == "7bit" and not data.isascii():
            cte = "quoted-printable"
        if cte == "base64":
            payload = _b64_lines(data)
        elif cte == "quoted-printable":
            payload = _qp(data)
        else:
            payload = wire
        return (
            f'Content-Type: text/{subtype}; charset="{label}"\r\n'
            f"Content-Transfer-Encoding: {cte}\r\n\r\n{payload}\r\n"
        )

    def _html(self, text: str) -> str:
        paras = "".join(
            f"<p>{p.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;').replace(chr(10), '<br>')}</p>"
            for p in text.split("\n\n")
        )
        return (
            '<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
            "<style>p{margin:0 0 1em}</style></head>"
            f'<body><div dir="ltr" style="font-family:Arial,sans-serif;font-size:14px">{paras}'
            "</div></body></html>"
        )

    def _attachment(self, lang: str) -> tuple[str, str, bytes, bool]:
        """(filename, content type, bytes, refused?)."""
        rng = self.rng
        size = min(MAX_ATTACHMENT, int(rng.paretovariate(1.2) * 6_000))
        kind = rng.random()
        body = rng.randbytes(max(0, size - 64))
        refused = False
        if kind < 0.30:
            name, ctype = f"screenshot-{rng.randint(1, 999)}.png", "image/png"
            head = (
                b"\x89PNG\r\n\x1a\n"
                + b"\x00\x00\x00\rIHDR"
                + b"\x00\x00\x04\x00\x00\x00\x03\x00\x08\x02\x00\x00\x00"
            )
            data = head + b"IDAT" + zlib.compress(body, 0) + b"IEND\xaeB`\x82"
        elif kind < 0.50:
            name, ctype = f"IMG_{rng.randint(1000, 9999)}.jpg", "image/jpeg"
            data = (
                b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
                + body
                + b"\xff\xd9"
            )
        elif kind < 0.55:
            name, ctype = "photo.gif", "image/gif"
            data = b"GIF89a" + body[:20_000] + b";"
        elif kind < 0.78:
            name = (
                f"invoice-{rng.randint(10000, 99999)}.pdf"
                if lang == "en"
                else f"发票-{rng.randint(10000, 99999)}.pdf"
            )
            ctype = "application/pdf"
            data = (
                b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\nstream\n"
                + body
                + b"\nendstream\n%%EOF\n"
            )
        elif kind < 0.86:
            name, ctype = "logs.zip", "application/zip"
            data = b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + body + b"PK\x05\x06" + b"\x00" * 18
        elif kind < 0.96:
            name, ctype = "export.csv", "text/csv"
            rows = ["date,user,event,amount"] + [
                f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},u{rng.randint(1, 999)},"
                f"{rng.choice(['login', 'export', 'charge', 'refund'])},{rng.randint(1, 99999) / 100}"
                for _ in range(max(1, size // 40))
            ]
            data = "\r\n".join(rows).encode()
        else:  # what a help desk refuses: executables, HTML, and a liar
            refused = True
            choice = rng.random()
            if choice < 0.4:
                name, ctype = "setup.exe", "application/x-msdownload"
                data = b"MZ\x90\x00" + body[:30_000]
            elif choice < 0.7:
                name, ctype = "statement.html", "text/html"
                data = b"<html><body><script>alert(1)</script>statement</body></html>"
            else:
                name, ctype = "chart.png", "image/png"  # says PNG, is not
                data = b"NOTPNG" + body[:10_000]
        return name, ctype, data, refused

    def _attachment_part(self, name: str, ctype: str, data: bytes) -> str:
        if name.isascii():
            params = f'; name="{name}"', f'; filename="{name}"'
        else:
            word = _b(name)
            params = f'; name="{word}"', f'; filename="{word}"'
        return (
            f"Content-Type: {ctype}{params[0]}\r\n"
            f"Content-Disposition: attachment{params[1]}\r\n"
            f"Content-Transfer-Encoding: base64\r\n\r\n{_b64_lines(data)}\r\n"
        )

    def _boundary(self) -> str:
        return f"----=_Part_{self.rng.randint(10**8, 10**9)}_{binascii.hexlify(self.rng.randbytes(6)).decode()}"

    def _multipart(self, subtype: str, parts: list[str]) -> str:
        boundary = self._boundary()
        body = "".join(f"--{boundary}\r\n{p}" for p in parts) + f"--{boundary}--\r\n"
        return f'Content-Type: multipart/{subtype};\r\n boundary="{boundary}"\r\n\r\nThis is a multi-part message in MIME format.\r\n\r\n{body}'

    # one message ----------------------------------------------------------------

    def message(self, n: int) -> bytes:
        rng = self.rng
        self.clock += timedelta(seconds=rng.randint(20, 900))
        date = self.clock
        reply = self.open_threads and rng.random() < REPLY_SHARE
        parent: Sent | None = None
        if reply:
            # Recent threads get most replies; a reply may follow a reply.
            parent = self.open_threads[
                -1 - min(len(self.open_threads) - 1, int(rng.expovariate(1 / 40)))
            ]
            lang = parent.lang
            person = parent.person if rng.random() < 0.85 else rng.choice(self.people[lang])
            subject = (
                parent.subject
                if parent.subject.lower().startswith(("re:", "回复"))
                else (("Re: " if lang != "zh" or rng.random() < 0.6 else "回复：") + parent.subject)
            )
            text = self._reply_text(lang, person, parent)
        else:
            r = rng.random()
            lang = "en" if r >= CHINESE_SHARE else ("big5" if r < CHINESE_SHARE * 0.15 else "zh")
            person = rng.choice(self.people[lang])
            subject, text = self._new_text(lang, person)
        domain = person.email.split("@", 1)[1]
        message_id = f"<{rng.getrandbits(64):016x}.{n}@{domain}>"

        # body structure
        kind = rng.random()
        attachments: list[tuple[str, str, bytes, bool]] = []
        if rng.random() < (0.08 if reply else 0.18):
            attachments = [self._attachment(lang) for _ in range(1 if rng.random() < 0.8 else 2)]
        if kind < 0.5:
            body_part = self._text_part(text, lang)
        else:
            body_part = self._multipart(
                "alternative",
                [self._text_part(text, lang), self._text_part(self._html(text), lang, "html")],
            )
            self.stats.html += 1
        if attachments:
            parts = [body_part] + [self._attachment_part(a[0], a[1], a[2]) for a in attachments]
            body_part = self._multipart("mixed", parts)
            self.stats.with_attachments += 1
            self.stats.attachments += len(attachments)
            self.stats.refused_attachments += sum(1 for a in attachments if a[3])

        received = date - timedelta(seconds=rng.randint(1, 5))
        mailer = rng.choice(MAILERS_EN if lang == "en" else MAILERS_ZH)
        headers = [
            f"Return-Path: <{person.email}>",
            f"Delivered-To: {SUPPORT}",
            f"Received: from mail.{domain} (mail.{domain} [192.0.2.{rng.randint(1, 254)}])\r\n"
            f"\tby {HOST} with ESMTPS id {rng.getrandbits(40):010X}\r\n"
            f"\tfor <{SUPPORT}>; {format_datetime(received)}",
            f"Received: from [10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}]"
            f" by mail.{domain} with ESMTPSA; {format_datetime(received - timedelta(seconds=1))}",
            f"From: {_address(person)}",
            f'To: "{SUPPORT_NAME}" <{SUPPORT}>',
        ]
        if rng.random() < 0.1:
            colleague = rng.choice(self.people[lang])
            headers.append(f"Cc: {_address(colleague)}")
        headers += [
            f"Subject: {subject if subject.isascii() else _b(subject)}",
            f"Date: {format_datetime(date.astimezone(UTC) + timedelta(hours=0))}",
            f"Message-ID: {message_id}",
        ]
        references: list[str] = []
        if parent is not None:
            references = [*parent.references, parent.message_id][-10:]
            headers.append(f"In-Reply-To: {parent.message_id}")
            headers.append("References: " + "\r\n ".join(references))
        if mailer:
            headers.append(f"X-Mailer: {mailer}")
        headers.append("MIME-Version: 1.0")
        raw = ("\r\n".join(headers) + "\r\n" + body_part).encode("ascii")

        sent = Sent(message_id, references, subject, person, date, lang, text)
        self.open_threads.append(sent)
        if len(self.open_threads) > 400:
            del self.open_threads[0]
        self.stats.messages += 1
        self.stats.chinese += lang != "en"
        self.stats.replies += parent is not None
        self.stats.bytes += len(raw)
        return raw


def build(path: Path, count: int = 10_000, seed: int = 20261124) -> dict[str, object]:
    """Write the Maildir at ``path`` (replacing it) and return its statistics."""
    if path.exists():
        shutil.rmtree(path)
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True)
    corpus = Corpus(seed)
    rng = random.Random(seed + 1)
    order: list[str] = []
    for n in range(count):
        raw = corpus.message(n)
        stamp = int(corpus.clock.timestamp())
        # Maildir names: time.M<usec>P<pid>Q<delivery>.host,S=<size>; seen mail in cur/.
        base = (
            f"{stamp}.M{rng.randint(0, 999999)}P{rng.randint(1000, 65000)}Q{n}.{HOST},S={len(raw)}"
        )
        rel = f"cur/{base}:2,S" if rng.random() < 0.1 else f"new/{base}"
        (path / rel).write_bytes(raw)
        order.append(rel)
    stats = corpus.stats
    facts: dict[str, object] = {
        "version": VERSION,
        "seed": seed,
        "messages": stats.messages,
        "chinese": stats.chinese,
        "replies": stats.replies,
        "html": stats.html,
        "with_attachments": stats.with_attachments,
        "attachments": stats.attachments,
        "refused_attachments": stats.refused_attachments,
        "charsets": stats.charsets,
        "bytes": stats.bytes,
    }
    # Delivery order: Maildir itself has none, but threads only make sense in order.
    (path / "order.txt").write_text("\n".join(order) + "\n")
    (path / "corpus.json").write_text(json.dumps(facts, indent=2))
    return facts


def ensure(path: Path, count: int, seed: int = 20261124) -> dict[str, object]:
    """Build the corpus unless ``path`` already holds this exact one."""
    marker = path / "corpus.json"
    if marker.exists():
        facts = json.loads(marker.read_text())
        if (
            facts.get("version") == VERSION
            and facts.get("seed") == seed
            and facts.get("messages") == count
        ):
            return facts
    return build(path, count, seed)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("path", type=Path)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()
    print(json.dumps(build(args.path, args.count, args.seed), indent=2))


if __name__ == "__main__":
    main()
