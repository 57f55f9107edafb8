"""Mail in the staff UI: Admins configure mailboxes; everyone who works a ticket sees
whether replies went out, whether the requester's address bounces, and the original
of every emailed message."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Contact
from tend.desk import services
from tend.desk.models import Comment, Ticket
from tend.mail.mailboxes import mailbox_create, mailbox_password
from tend.mail.models import InboundMessage, Mailbox, OutboundMessage, OutboundStatus
from tend.mail.services import inbound_receive

LIST = "/settings/mailboxes/"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"


def login(client: Client, user: User) -> Client:
    client.force_login(user)
    return client


def form_data(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "address": "Help@Acme.test",
        "name": "Acme Help",
        "is_active": "on",
        "inbound_method": "imap",
        "imap_host": "imap.acme.test",
        "imap_port": "993",
        "imap_security": "ssl",
        "imap_user": "help",
        "imap_password": "imap-pass-XYZ",
        "imap_password_env": "",
        "imap_folder": "INBOX",
        "smtp_host": "",
        "smtp_port": "587",
        "smtp_security": "starttls",
        "smtp_user": "",
        "smtp_password": "",
        "smtp_password_env": "",
        "default_team": "",
        "auto_acknowledge_subject": "",
        "auto_acknowledge_body": "",
    }
    data.update(extra)
    return data


# ---------------------------------------------------------------- mailbox settings


def test_admin_adds_mailbox_and_the_password_is_never_shown_again(client, admin_user):
    login(client, admin_user)
    assert client.get(reverse("web:mailbox_new")).status_code == 200

    response = client.post(reverse("web:mailbox_new"), form_data())

    assert response.status_code == 302
    mailbox = Mailbox.objects.get()
    assert mailbox.address == "help@acme.test"
    assert mailbox_password(mailbox, "imap") == "imap-pass-XYZ"
    listing = client.get(LIST).content.decode()
    assert "help@acme.test" in listing
    edit = client.get(reverse("web:mailbox_edit", args=[mailbox.pk])).content.decode()
    assert "imap-pass-XYZ" not in edit
    assert mailbox.imap_password_encrypted not in edit
    assert "A password is stored" in edit


def test_blank_password_on_edit_keeps_the_stored_one(client, admin_user):
    login(client, admin_user)
    client.post(reverse("web:mailbox_new"), form_data())
    mailbox = Mailbox.objects.get()

    response = client.post(
        reverse("web:mailbox_edit", args=[mailbox.pk]),
        form_data(name="Renamed", imap_password=""),
    )

    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.name == "Renamed"
    assert mailbox_password(mailbox, "imap") == "imap-pass-XYZ"


def test_invalid_settings_come_back_with_the_error_on_the_field(client, admin_user):
    login(client, admin_user)
    response = client.post(
        reverse("web:mailbox_new"), form_data(imap_password="", imap_password_env="not a name!")
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert "environment variable" in html
    assert not Mailbox.objects.exists()


def test_edit_page_shows_the_pollers_last_run_and_error(client, admin_user):
    mailbox = mailbox_create(
        actor=None,
        address="help@acme.test",
        inbound_method="imap",
        imap_host="imap.acme.test",
        imap_user="help",
        imap_password="pw",
    )
    Mailbox.objects.filter(pk=mailbox.pk).update(
        imap_last_polled_at=timezone.now(), imap_last_error="LOGIN failed: bad credentials"
    )
    login(client, admin_user)
    assert "LOGIN failed: bad credentials" in client.get(LIST).content.decode()
    edit = client.get(reverse("web:mailbox_edit", args=[mailbox.pk])).content.decode()
    assert "LOGIN failed: bad credentials" in edit


def test_admin_removes_mailbox(client, admin_user):
    mailbox = mailbox_create(actor=None, address="help@acme.test")
    login(client, admin_user)
    response = client.post(reverse("web:mailbox_delete", args=[mailbox.pk]))
    assert response.status_code == 302
    assert not Mailbox.objects.exists()


@pytest.mark.parametrize("who", ["agent", "manager", "readonly"])
def test_only_admins_reach_mailbox_settings(client, request, who):
    user = request.getfixturevalue(who)
    mailbox = mailbox_create(actor=None, address="help@acme.test")
    login(client, user)

    assert client.get(LIST).status_code == 403
    assert client.get(reverse("web:mailbox_new")).status_code == 403
    assert client.post(reverse("web:mailbox_new"), form_data()).status_code == 403
    edit = reverse("web:mailbox_edit", args=[mailbox.pk])
    assert client.get(edit).status_code == 403
    assert client.post(edit, form_data(address="evil@acme.test")).status_code == 403
    assert client.post(reverse("web:mailbox_delete", args=[mailbox.pk])).status_code == 403
    assert list(Mailbox.objects.values_list("address", flat=True)) == ["help@acme.test"]
    # and the menu does not offer it
    assert LIST not in client.get(reverse("web:profile")).content.decode()


def test_menu_links_admins_to_mailboxes(client, admin_user):
    assert LIST in login(client, admin_user).get(reverse("web:profile")).content.decode()


# ---------------------------------------------------------------- the ticket page


@pytest.fixture
def ticket(agent, team) -> Ticket:  # type: ignore[no-untyped-def]
    return services.ticket_create(
        actor=agent,
        subject="Cannot export invoices",
        description="The export button does nothing.",
        requester_email="li.wei@acme.test",
        requester_name="Li Wei",
        team=team,
    )


def page(client: Client, ticket: Ticket) -> str:
    response = client.get(reverse("web:ticket", args=[ticket.number]))
    assert response.status_code == 200
    return str(response.content.decode())


def reply(agent: User, ticket: Ticket, body: str) -> Comment:
    return services.comment_add_agent(
        actor=agent, ticket=Ticket.objects.get(pk=ticket.pk), body=body, public=True
    )


def test_public_reply_shows_its_delivery_status(client, agent, ticket):
    comment = reply(agent, ticket, "We are on it.")
    row = OutboundMessage.objects.get(comment=comment)
    login(client, agent)
    assert "Email queued" in page(client, ticket)

    # When the sender gives up on it
    OutboundMessage.objects.filter(pk=row.pk).update(
        status=OutboundStatus.FAILED, last_error="550 5.1.1 no such user"
    )
    html = page(client, ticket)
    assert "Email failed" in html and "550 5.1.1 no such user" in html

    OutboundMessage.objects.filter(pk=row.pk).update(status=OutboundStatus.SENT, last_error="")
    assert "Emailed to li.wei@acme.test" in page(client, ticket)


def test_internal_notes_show_no_delivery_status(client, agent, ticket):
    services.comment_add_agent(actor=agent, ticket=ticket, body="Just us.", public=False)
    assert "Email queued" not in page(login(client, agent), ticket)


def test_delivery_status_costs_no_query_per_comment(client, agent, ticket):
    login(client, agent)
    reply(agent, ticket, "one")
    with CaptureQueriesContext(connection) as few:
        page(client, ticket)
    for n in range(5):
        reply(agent, ticket, f"more {n}")
    with CaptureQueriesContext(connection) as many:
        page(client, ticket)
    assert len(many) == len(few)


def test_requester_sidebar_warns_when_their_address_bounces(client, agent, ticket):
    Contact.objects.filter(pk=ticket.requester_id).update(
        email_bounced_at=timezone.now(), email_bounce_reason="550 mailbox unavailable"
    )
    html = page(login(client, agent), ticket)
    assert "bounce-warning" in html
    assert "550 mailbox unavailable" in html


def test_no_bounce_warning_for_a_working_address(client, agent, ticket):
    assert "bounce-warning" not in page(login(client, agent), ticket)


# ---------------------------------------------------------------- the original message

RAW = (
    b"From: Li Wei <li.wei@acme.test>\r\n"
    b"To: help@acme.test\r\n"
    b"Subject: =?utf-8?b?5a+85Ye65aSx6LSl?=\r\n"
    b"Message-ID: <first@acme.test>\r\n"
    b"MIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n'
    b"\r\n"
    b"--b1\r\n"
    b'Content-Type: multipart/alternative; boundary="b2"\r\n'
    b"\r\n"
    b"--b2\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Export fails.\r\n"
    b"\r\n"
    b"On Monday Bob wrote:\r\n"
    b"> quoted history line\r\n"
    b"--b2\r\n"
    b"Content-Type: text/html; charset=utf-8\r\n"
    b"\r\n"
    b"<p>Export <b>fails</b>.</p><script>alert('x')</script>"
    b'<img src="https://tracker.example/pixel.gif">\r\n'
    b"--b2--\r\n"
    b"--b1\r\n"
    b'Content-Type: text/csv; name="report.csv"\r\n'
    b'Content-Disposition: attachment; filename="report.csv"\r\n'
    b"\r\n"
    b"a,b\r\n"
    b"--b1--\r\n"
)


@pytest.fixture
def emailed(team) -> tuple[Ticket, Comment]:  # type: ignore[no-untyped-def]
    inbound = inbound_receive(raw=RAW, via="http")
    assert inbound.ticket is not None and inbound.comment is not None
    # Put it in the agents' team so "who can see the ticket" is clear-cut.
    Ticket.objects.filter(pk=inbound.ticket.pk).update(team=team)
    return Ticket.objects.get(pk=inbound.ticket.pk), inbound.comment


def original_url(ticket: Ticket, comment: Comment) -> str:
    return reverse("web:comment_original", args=[ticket.number, comment.pk])


def test_emailed_comment_links_to_its_original(client, agent, emailed):
    ticket, comment = emailed
    assert original_url(ticket, comment) in page(login(client, agent), ticket)


def test_typed_comments_have_no_original_link(client, agent, ticket):
    reply(agent, ticket, "typed here")
    assert "/original/" not in page(login(client, agent), ticket)


def test_original_shows_headers_full_text_safe_html_and_attachments(client, agent, emailed):
    ticket, comment = emailed
    response = login(client, agent).get(original_url(ticket, comment))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Message-ID" in html and "&lt;first@acme.test&gt;" in html
    assert "导出失败" in html  # the decoded subject
    assert "quoted history line" in html  # untrimmed
    assert "<b>fails</b>" in html
    assert "alert(&#x27;x&#x27;)" not in html and "<script>alert" not in html
    assert "report.csv" in html
    assert "img-src 'self'" in response["Content-Security-Policy"]


def test_raw_download_is_the_exact_bytes_as_an_attachment(client, agent, emailed):
    ticket, comment = emailed
    url = reverse("web:comment_original_raw", args=[ticket.number, comment.pk])
    response = login(client, agent).get(url)
    assert response.status_code == 200
    assert response.content == RAW
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Type"] == "application/octet-stream"


def test_original_is_hidden_from_those_who_cannot_see_the_ticket(client, outsider, emailed):
    ticket, comment = emailed
    login(client, outsider)
    assert client.get(original_url(ticket, comment)).status_code == 404
    url = reverse("web:comment_original_raw", args=[ticket.number, comment.pk])
    assert client.get(url).status_code == 404


def test_original_of_a_typed_comment_is_404(client, agent, ticket):
    comment = reply(agent, ticket, "typed")
    assert not InboundMessage.objects.filter(comment=comment).exists()
    assert login(client, agent).get(original_url(ticket, comment)).status_code == 404


def test_original_needs_a_login(client, emailed):
    ticket, comment = emailed
    assert client.get(original_url(ticket, comment)).status_code == 302


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_inline_cid_image_is_shown_from_its_saved_attachment(client, agent, team):
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = "Li Wei <li.wei@acme.cn>"
    message["To"] = "support@tend.test"
    message["Subject"] = "Screenshot of the error"
    message["Message-ID"] = "<cid-test@acme.cn>"
    message.set_content("See the screenshot.")
    message.add_alternative(
        '<p>See the screenshot:</p><img src="cid:shot@acme.cn" alt="error">'
        '<img src="cid:missing@acme.cn" alt="gone">',
        subtype="html",
    )
    html_part = message.get_payload()[1]
    html_part.add_related(PNG, "image", "png", cid="<shot@acme.cn>")
    inbound = inbound_receive(raw=message.as_bytes(), via="http")
    assert inbound.ticket is not None
    Ticket.objects.filter(pk=inbound.ticket.pk).update(team=team)
    attachment = inbound.ticket.attachments.get()
    assert attachment.content_id == "shot@acme.cn"

    page = login(client, agent).get(reverse("web:ticket", args=[inbound.ticket.number]))

    html = page.content.decode()
    image_url = reverse("web:attachment_download", args=[inbound.ticket.number, attachment.pk])
    assert f'src="{image_url}"' in html
    assert 'src="cid:missing@acme.cn"' in html  # an unknown part stays as it was
    assert b"".join(client.get(image_url).streaming_content) == PNG
