from email.header import Header
from email.message import EmailMessage

from tend.mail.parsing import charset_for, parse_message
from tend.mail.quoting import trim_reply


def _raw(body: bytes, charset: str, subject: str = "Hello", cte: str = "8bit") -> bytes:
    return (
        b"From: Ann <ann@example.com>\r\nSubject: " + subject.encode() + b"\r\n"
        b"Message-ID: <m1@example.com>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=" + charset.encode() + b"\r\n"
        b"Content-Transfer-Encoding: " + cte.encode() + b"\r\n\r\n" + body
    )


def test_plain_message_headers_and_body() -> None:
    parsed = parse_message(_raw(b"Printer is on fire.\r\n", "us-ascii"))
    assert parsed.from_email == "ann@example.com"
    assert parsed.from_name == "Ann"
    assert parsed.message_id == "<m1@example.com>"
    assert parsed.subject == "Hello"
    assert parsed.text.strip() == "Printer is on fire."


def test_gbk_body_labelled_gb2312_decodes_fully() -> None:
    # "镕" is in GBK but not in GB2312: a strict gb2312 decoder would garble it.
    text = "朱镕基的打印机坏了"
    parsed = parse_message(_raw(text.encode("gbk"), "gb2312"))
    assert parsed.text.strip() == text


def test_big5_and_hkscs() -> None:
    text = "印表機壞了"
    parsed = parse_message(_raw(text.encode("big5hkscs"), "big5"))
    assert parsed.text.strip() == text


def test_iso_2022_jp() -> None:
    text = "プリンターが壊れました"
    parsed = parse_message(_raw(text.encode("iso-2022-jp"), "iso-2022-jp", cte="7bit"))
    assert parsed.text.strip() == text


def test_windows_1252_and_undecodable_bytes_are_replaced() -> None:
    parsed = parse_message(_raw("Café “quoted”".encode("cp1252"), "windows-1252"))
    assert parsed.text.strip() == "Café “quoted”"
    broken = parse_message(_raw(b"ok \xff\xfe\x81 end", "utf-8"))
    assert broken.text.startswith("ok ") and broken.text.strip().endswith("end")
    assert charset_for("no-such-charset") == "utf-8"


def test_rfc2047_subject_with_gb2312_label() -> None:
    encoded = Header("退款申请 #42", "gbk").encode().replace("gbk", "gb2312")
    parsed = parse_message(_raw(b"x", "utf-8", subject=encoded))
    assert parsed.subject == "退款申请 #42"


def test_multipart_alternative_keeps_text_and_html() -> None:
    msg = EmailMessage()
    msg["From"] = "ann@example.com"
    msg["Subject"] = "Both"
    msg.set_content("plain part")
    msg.add_alternative("<p>html <b>part</b></p>", subtype="html")
    parsed = parse_message(msg.as_bytes())
    assert parsed.text.strip() == "plain part"
    assert "<b>part</b>" in parsed.html
    assert parsed.attachments == []


def test_attachment_is_extracted_with_encoded_filename() -> None:
    msg = EmailMessage()
    msg["From"] = "ann@example.com"
    msg["Subject"] = "Att"
    msg.set_content("see attached")
    msg.add_attachment(b"a,b\n1,2\n", maintype="text", subtype="csv", filename="报表.csv")
    parsed = parse_message(msg.as_bytes())
    assert [(a.filename, a.data) for a in parsed.attachments] == [("报表.csv", b"a,b\n1,2\n")]
    assert parsed.text.strip() == "see attached"


def test_trim_gmail() -> None:
    text = (
        "Thanks, that fixed it.\n\nOn Tue, 3 Mar 2026 at 10:00, Support <s@tend.test>\n"
        "wrote:\n> Try turning it off.\n"
    )
    assert trim_reply(text) == "Thanks, that fixed it."


def test_trim_outlook_original_message_and_header_block() -> None:
    a = "Still broken.\n\n-----Original Message-----\nFrom: Support\nSent: Monday\n\nold"
    assert trim_reply(a) == "Still broken."
    b = "Still broken.\n\nFrom: Support <s@tend.test>\nSent: Monday, 2 March 2026\nTo: Ann\n\nold"
    assert trim_reply(b) == "Still broken."


def test_trim_apple_mail_and_quote_lines() -> None:
    text = "Works now.\n\n> On 3 Mar 2026, at 10:00, Support wrote:\n>\n> Try again.\n"
    assert trim_reply(text) == "Works now."


def test_trim_signature_and_mobile_footer() -> None:
    assert trim_reply("Yes please.\n-- \nAnn Smith\nACME") == "Yes please."
    assert trim_reply("Yes please.\n\nSent from my iPhone") == "Yes please."


def test_trim_chinese_clients() -> None:
    assert trim_reply("好的，谢谢。\n\n-----原始邮件-----\n发件人: 客服\n内容") == "好的，谢谢。"
    qq = "已解决。\n\n发件人: 客服 <s@tend.test>\n发送时间: 2026年3月3日 10:00\n收件人: 我\n旧内容"
    assert trim_reply(qq) == "已解决。"
    netease = '收到。\n\n在 2026-03-03 10:00:00，"客服" <s@tend.test> 写道：\n> 旧内容'
    assert trim_reply(netease) == "收到。"


def test_trim_never_returns_empty() -> None:
    assert trim_reply("> only a quote") == "> only a quote"


def test_raw_8bit_header_is_decoded() -> None:
    raw = "Subject: 打印机坏了\r\nFrom: a@example.cn\r\n\r\nx".encode("gbk")
    assert parse_message(raw).subject == "打印机坏了"
    raw = "Subject: Grüße\r\nFrom: a@example.de\r\n\r\nx".encode()
    assert parse_message(raw).subject == "Grüße"
