"""Delivery status notifications in the shapes real servers send them.

The samples are written for these tests, modelled on what Postfix, Exim, Gmail, Exchange
and Chinese providers produce; addresses and ids are made up.
"""

import base64

from tend.mail.bounces import BounceReport, bounce_report
from tend.mail.parsing import parse_message


def _report(raw: bytes) -> BounceReport | None:
    return bounce_report(raw, parse_message(raw))


ORIGINAL_HEADERS = (
    b"From: Support <support@tend.test>\r\n"
    b"To: ann@example.com\r\n"
    b"Subject: [#42] Your printer\r\n"
    b"Message-ID: <tend.42.7@tend.test>\r\n"
    b"Date: Tue, 3 Mar 2026 10:00:00 +0000\r\n"
)

POSTFIX = (
    b"Return-Path: <>\r\n"
    b"Received: by mx.tend.test (Postfix) id 4ZB3; Tue,  3 Mar 2026 10:00:05 +0000 (UTC)\r\n"
    b"Date: Tue,  3 Mar 2026 10:00:05 +0000 (UTC)\r\n"
    b"From: MAILER-DAEMON@mx.tend.test (Mail Delivery System)\r\n"
    b"Subject: Undelivered Mail Returned to Sender\r\n"
    b"To: support@tend.test\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
    b'\tboundary="4ZB3.1741000005/mx.tend.test"\r\n'
    b"Message-Id: <20260303100005.4ZB3@mx.tend.test>\r\n"
    b"\r\n"
    b"This is a MIME-encapsulated message.\r\n"
    b"\r\n"
    b"--4ZB3.1741000005/mx.tend.test\r\n"
    b"Content-Description: Notification\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"\r\n"
    b"This is the mail system at host mx.tend.test.\r\n"
    b"\r\n"
    b"I'm sorry to have to inform you that your message could not\r\n"
    b"be delivered to one or more recipients. It's attached below.\r\n"
    b"\r\n"
    b"                   The mail system\r\n"
    b"\r\n"
    b"<ann@example.com>: host mx.example.com[192.0.2.10] said: 550 5.1.1\r\n"
    b"    <ann@example.com>: Recipient address rejected: User unknown (in reply to\r\n"
    b"    RCPT TO command)\r\n"
    b"\r\n"
    b"--4ZB3.1741000005/mx.tend.test\r\n"
    b"Content-Description: Delivery report\r\n"
    b"Content-Type: message/delivery-status\r\n"
    b"\r\n"
    b"Reporting-MTA: dns; mx.tend.test\r\n"
    b"X-Postfix-Queue-ID: 4ZB3\r\n"
    b"X-Postfix-Sender: rfc822; support@tend.test\r\n"
    b"Arrival-Date: Tue,  3 Mar 2026 10:00:00 +0000 (UTC)\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; ann@example.com\r\n"
    b"Original-Recipient: rfc822;ann@example.com\r\n"
    b"Action: failed\r\n"
    b"Status: 5.1.1\r\n"
    b"Remote-MTA: dns; mx.example.com\r\n"
    b"Diagnostic-Code: smtp; 550 5.1.1 <ann@example.com>: Recipient address rejected:\r\n"
    b"    User unknown\r\n"
    b"\r\n"
    b"--4ZB3.1741000005/mx.tend.test\r\n"
    b"Content-Description: Undelivered Message Headers\r\n"
    b"Content-Type: text/rfc822-headers\r\n"
    b"\r\n" + ORIGINAL_HEADERS + b"\r\n"
    b"--4ZB3.1741000005/mx.tend.test--\r\n"
)


def test_postfix_dsn() -> None:
    report = _report(POSTFIX)
    assert report == BounceReport(
        recipients=["ann@example.com"],
        status="5.1.1",
        diagnostic="550 5.1.1 <ann@example.com>: Recipient address rejected: User unknown",
        original_message_id="<tend.42.7@tend.test>",
        permanent=True,
    )


EXIM = (
    b"Return-path: <>\r\n"
    b"Received: from Debian-exim by mail.tend.test with local (Exim 4.96)\r\n"
    b"\tid 1vABCD-000123-Xy for support@tend.test; Tue, 03 Mar 2026 10:00:06 +0000\r\n"
    b"X-Failed-Recipients: bob@example.org\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"From: Mail Delivery System <Mailer-Daemon@mail.tend.test>\r\n"
    b"To: support@tend.test\r\n"
    b"Content-Type: text/plain; charset=us-ascii\r\n"
    b"Subject: Mail delivery failed: returning message to sender\r\n"
    b"Message-Id: <E1vABCD-000123-Xy@mail.tend.test>\r\n"
    b"Date: Tue, 03 Mar 2026 10:00:06 +0000\r\n"
    b"\r\n"
    b"This message was created automatically by mail delivery software.\r\n"
    b"\r\n"
    b"A message that you sent could not be delivered to one or more of its\r\n"
    b"recipients. This is a permanent error. The following address(es) failed:\r\n"
    b"\r\n"
    b"  bob@example.org\r\n"
    b"    host mx.example.org [198.51.100.7]\r\n"
    b"    SMTP error from remote mail server after RCPT TO:<bob@example.org>:\r\n"
    b"    550 No such user here\r\n"
    b"\r\n"
    b"------ This is a copy of the message, including all the headers. ------\r\n"
    b"\r\n"
    b"Return-path: <support@tend.test>\r\n"
    b"From: Support <support@tend.test>\r\n"
    b"To: bob@example.org\r\n"
    b"Subject: [#43] Refund\r\n"
    b"Message-ID: <tend.43.1@tend.test>\r\n"
    b"\r\n"
    b"Your refund is on its way.\r\n"
)


def test_exim_plain_text_bounce() -> None:
    report = _report(EXIM)
    assert report is not None
    assert report.recipients == ["bob@example.org"]
    assert report.status == "5.0.0"
    assert "550 No such user here" in report.diagnostic
    assert report.original_message_id == "<tend.43.1@tend.test>"
    assert report.permanent


GMAIL = (
    b"Delivered-To: support@tend.test\r\n"
    b"Return-Path: <>\r\n"
    b"From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\r\n"
    b"To: support@tend.test\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"Subject: Delivery Status Notification (Failure)\r\n"
    b"References: <tend.44.2@tend.test>\r\n"
    b"In-Reply-To: <tend.44.2@tend.test>\r\n"
    b"X-Failed-Recipients: carol.nobody@gmail.com\r\n"
    b"Message-ID: <65e4a1b2.abc.gmr-mx@mx.google.com>\r\n"
    b"Date: Tue, 03 Mar 2026 02:00:07 -0800 (PST)\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; boundary="000000000000abcd"; '
    b"report-type=delivery-status\r\n"
    b"\r\n"
    b"--000000000000abcd\r\n"
    b'Content-Type: multipart/related; boundary="000000000000ef01"\r\n'
    b"\r\n"
    b"--000000000000ef01\r\n"
    b'Content-Type: multipart/alternative; boundary="000000000000ef02"\r\n'
    b"\r\n"
    b"--000000000000ef02\r\n"
    b'Content-Type: text/plain; charset="UTF-8"\r\n'
    b"\r\n"
    b"\r\n"
    b"** Address not found **\r\n"
    b"\r\n"
    b"Your message wasn't delivered to carol.nobody@gmail.com because the address "
    b"couldn't be found, or is unable to receive mail.\r\n"
    b"\r\n"
    b"The response was:\r\n"
    b"\r\n"
    b"550 5.1.1 The email account that you tried to reach does not exist.\r\n"
    b"\r\n"
    b"--000000000000ef02\r\n"
    b'Content-Type: text/html; charset="UTF-8"\r\n'
    b"\r\n"
    b"<html><body><h2>Address not found</h2><p>Your message wasn't delivered to "
    b"<b>carol.nobody@gmail.com</b>.</p></body></html>\r\n"
    b"--000000000000ef02--\r\n"
    b"--000000000000ef01--\r\n"
    b"--000000000000abcd\r\n"
    b"Content-Type: message/delivery-status\r\n"
    b"\r\n"
    b"Reporting-MTA: dns; googlemail.com\r\n"
    b"Received-From-MTA: dns; support@tend.test\r\n"
    b"Arrival-Date: Tue, 03 Mar 2026 02:00:06 -0800 (PST)\r\n"
    b"X-Original-Message-ID: <tend.44.2@tend.test>\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; carol.nobody@gmail.com\r\n"
    b"Action: failed\r\n"
    b"Status: 5.1.1\r\n"
    b"Remote-MTA: dns; gmail-smtp-in.l.google.com. (142.250.1.26, the server for the "
    b"domain gmail.com.)\r\n"
    b"Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not "
    b"exist.\r\n"
    b"Last-Attempt-Date: Tue, 03 Mar 2026 02:00:07 -0800 (PST)\r\n"
    b"\r\n"
    b"--000000000000abcd\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: Support <support@tend.test>\r\n"
    b"To: carol.nobody@gmail.com\r\n"
    b"Subject: [#44] Password reset\r\n"
    b"Message-ID: <tend.44.2@tend.test>\r\n"
    b"\r\n"
    b"Here is how to reset it.\r\n"
    b"\r\n"
    b"--000000000000abcd--\r\n"
)


def test_gmail_dsn() -> None:
    report = _report(GMAIL)
    assert report is not None
    assert report.recipients == ["carol.nobody@gmail.com"]
    assert report.status == "5.1.1"
    assert report.diagnostic.startswith("550-5.1.1 The email account")
    assert report.original_message_id == "<tend.44.2@tend.test>"
    assert report.permanent


def _exchange_status() -> bytes:
    # Exchange Online base64-encodes the delivery-status part.
    fields = (
        b"Reporting-MTA: dns;AM0PR01MB1234.eurprd01.prod.exchangelabs.com\r\n"
        b"Received-From-MTA: dns;tend.test\r\n"
        b"Arrival-Date: Tue, 3 Mar 2026 10:00:08 +0000\r\n"
        b"\r\n"
        b"Original-Recipient: rfc822;Dave@Contoso.example\r\n"
        b"Final-Recipient: rfc822;dave.smith@contoso.example\r\n"
        b"Action: failed\r\n"
        b"Status: 5.2.2\r\n"
        b"Diagnostic-Code: smtp;554 5.2.2 mailbox full;\r\n"
        b" STOREDRV.Deliver.Exception:QuotaExceededException\r\n"
    )
    return base64.encodebytes(fields).replace(b"\n", b"\r\n")


EXCHANGE = (
    b"From: Microsoft Outlook <postmaster@contoso.example>\r\n"
    b"To: <support@tend.test>\r\n"
    b"Date: Tue, 3 Mar 2026 10:00:09 +0000\r\n"
    b"Content-Type: multipart/report; report-type=delivery-status;\r\n"
    b'\tboundary="9f8e7d6c-0000-4a4a-b1b1-aaaabbbbcccc"\r\n'
    b"MIME-Version: 1.0\r\n"
    b"Message-ID: <6a3f0b7e-1111-2222-3333-444455556666@AM0PR01MB1234.example>\r\n"
    b"In-Reply-To: <tend.45.3@tend.test>\r\n"
    b"References: <tend.45.3@tend.test>\r\n"
    b"Subject: Undeliverable: [#45] Invoice question\r\n"
    b"Auto-Submitted: auto-replied\r\n"
    b"\r\n"
    b"--9f8e7d6c-0000-4a4a-b1b1-aaaabbbbcccc\r\n"
    b'Content-Type: multipart/alternative; differences=Content-Type;\r\n\tboundary="alt-1"\r\n'
    b"\r\n"
    b"--alt-1\r\n"
    b'Content-Type: text/plain; charset="us-ascii"\r\n'
    b"Content-Transfer-Encoding: quoted-printable\r\n"
    b"\r\n"
    b"Your message to Dave@Contoso.example couldn't be delivered.\r\n"
    b"dave.smith's mailbox is full.\r\n"
    b"\r\n"
    b"--alt-1--\r\n"
    b"--9f8e7d6c-0000-4a4a-b1b1-aaaabbbbcccc\r\n"
    b"Content-Type: message/delivery-status\r\n"
    b"Content-Transfer-Encoding: base64\r\n"
    b"\r\n" + _exchange_status() + b"\r\n"
    b"--9f8e7d6c-0000-4a4a-b1b1-aaaabbbbcccc\r\n"
    b"Content-Type: message/rfc822\r\n"
    b"\r\n"
    b"From: Support <support@tend.test>\r\n"
    b"To: Dave@Contoso.example\r\n"
    b"Subject: [#45] Invoice question\r\n"
    b"Message-ID: <tend.45.3@tend.test>\r\n"
    b"\r\n"
    b"About your invoice...\r\n"
    b"\r\n"
    b"--9f8e7d6c-0000-4a4a-b1b1-aaaabbbbcccc--\r\n"
)


def test_exchange_ndr_with_encoded_status_and_original_recipient() -> None:
    report = _report(EXCHANGE)
    assert report is not None
    # The address Tend wrote to, not the one the remote server rewrote it to.
    assert report.recipients == ["dave@contoso.example"]
    assert report.status == "5.2.2"
    assert "mailbox full" in report.diagnostic
    assert report.original_message_id == "<tend.45.3@tend.test>"
    assert report.permanent


def _chinese(subject: str, body: str, charset: str = "gb18030") -> bytes:
    subject_b64 = base64.b64encode(subject.encode(charset)).decode()
    return (
        f"From: =?{charset}?B?{base64.b64encode('系统退信'.encode(charset)).decode()}?= "
        f"<postmaster@163.example>\r\n"
        f"To: support@tend.test\r\n"
        f"Subject: =?gb2312?B?{subject_b64}?=\r\n"
        f"Message-ID: <bounce.163.1@163.example>\r\n"
        f"MIME-Version: 1.0\r\n"
        f"Content-Type: text/plain; charset=gb2312\r\n"
        f"Content-Transfer-Encoding: base64\r\n\r\n"
    ).encode() + base64.encodebytes(body.encode(charset))


def test_chinese_163_style_bounce() -> None:
    body = (
        "抱歉，您的邮件被退回来了……\r\n"
        "原邮件信息：\r\n"
        "    收件人：wang.wu@qq.example\r\n"
        "    时  间：2026-03-03 18:00:09\r\n"
        "    主  题：[#46] 退款进度\r\n"
        "退信原因：\r\n"
        "    收件人邮箱不存在，550 Mailbox not found or access denied\r\n"
        "\r\n"
        "----- 原邮件 -----\r\n"
        "From: support@tend.test\r\n"
        "To: wang.wu@qq.example\r\n"
        "Message-ID: <tend.46.1@tend.test>\r\n"
        "Subject: [#46] 退款进度\r\n"
    )
    report = _report(_chinese("系统退信", body))
    assert report is not None
    assert report.recipients == ["wang.wu@qq.example"]
    assert report.status == "5.0.0"
    assert "550 Mailbox not found" in report.diagnostic
    assert report.original_message_id == "<tend.46.1@tend.test>"
    assert report.permanent


def test_chinese_qq_style_delay_is_not_permanent() -> None:
    body = (
        "您发送到 li.si@example.cn 的邮件暂时未能投递，系统会继续尝试。\r\n"
        "原因：421 4.4.2 对方服务器连接超时\r\n"
    )
    report = _report(_chinese("邮件延迟投递通知", body))
    assert report is not None
    assert report.recipients == ["li.si@example.cn"]
    assert report.status == "4.4.2"
    assert not report.permanent


DELAYED = (
    b"From: MAILER-DAEMON@mx.tend.test (Mail Delivery System)\r\n"
    b"To: support@tend.test\r\n"
    b"Subject: Delayed Mail (still being retried)\r\n"
    b"Message-Id: <delay.1@mx.tend.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/report; report-type=delivery-status; boundary="D"\r\n'
    b"\r\n"
    b"--D\r\n"
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"This is the mail system at host mx.tend.test.\r\n"
    b"\r\n"
    b"####################################################################\r\n"
    b"# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\r\n"
    b"####################################################################\r\n"
    b"\r\n"
    b"--D\r\n"
    b"Content-Type: message/delivery-status\r\n"
    b"\r\n"
    b"Reporting-MTA: dns; mx.tend.test\r\n"
    b"\r\n"
    b"Final-Recipient: rfc822; erin@slow.example\r\n"
    b"Action: delayed\r\n"
    b"Status: 4.4.1\r\n"
    b"Diagnostic-Code: X-Postfix; connect to mx.slow.example[203.0.113.5]:25: Connection\r\n"
    b"    timed out\r\n"
    b"Will-Retry-Until: Sat, 7 Mar 2026 10:00:00 +0000 (UTC)\r\n"
    b"\r\n"
    b"--D\r\n"
    b"Content-Type: text/rfc822-headers\r\n"
    b"\r\n"
    b"Message-ID: <tend.47.1@tend.test>\r\n"
    b"Subject: [#47] Hello\r\n"
    b"\r\n"
    b"--D--\r\n"
)


def test_delayed_dsn_is_reported_as_temporary() -> None:
    report = _report(DELAYED)
    assert report is not None
    assert report.recipients == ["erin@slow.example"]
    assert report.status == "4.4.1"
    assert report.diagnostic.startswith("connect to mx.slow.example")
    assert report.original_message_id == "<tend.47.1@tend.test>"
    assert not report.permanent


def test_failed_recipient_wins_over_delayed_one() -> None:
    raw = DELAYED.replace(
        b"Will-Retry-Until: Sat, 7 Mar 2026 10:00:00 +0000 (UTC)\r\n\r\n",
        b"\r\nFinal-Recipient: rfc822; gone@example.net\r\nAction: failed\r\nStatus: 5.1.2\r\n\r\n",
    )
    report = _report(raw)
    assert report is not None
    assert report.recipients == ["gone@example.net"]
    assert report.status == "5.1.2" and report.permanent


def test_success_report_is_not_a_bounce() -> None:
    raw = DELAYED.replace(b"Action: delayed", b"Action: delivered").replace(
        b"Status: 4.4.1", b"Status: 2.0.0"
    )
    raw = raw.replace(b"Delayed Mail (still being retried)", b"Successful Mail Delivery Report")
    assert _report(raw) is None


def test_ordinary_mail_is_not_a_bounce() -> None:
    raw = (
        b"From: Ann <ann@example.com>\r\nTo: support@tend.test\r\n"
        b"Subject: Undeliverable parcel\r\nMessage-ID: <a@b>\r\n\r\nMy parcel never came."
    )
    assert _report(raw) is None
    # Customers quoting a bounce they got are not bounces either.
    raw = raw.replace(b"Undeliverable parcel", b"Fwd: Undelivered Mail Returned to Sender")
    assert _report(raw) is None


def test_daemon_mail_that_is_not_a_failure_is_not_a_bounce() -> None:
    raw = (
        b"From: postmaster@example.com\r\nTo: support@tend.test\r\n"
        b"Subject: Weekly spam report\r\nMessage-ID: <s@b>\r\n\r\n3 messages held."
    )
    assert _report(raw) is None


def test_broken_report_still_counts_as_bounce() -> None:
    raw = POSTFIX.split(b"--4ZB3.1741000005/mx.tend.test\r\nContent-Description: Delivery")[0]
    report = _report(raw)  # truncated before the machine-readable part
    assert report is not None
    assert report.recipients == ["ann@example.com"]
    assert report.status == "5.1.1"
    assert report.permanent
