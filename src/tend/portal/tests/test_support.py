"""The public support form at /support: tickets from people, nothing from bots or floods."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from tend.crm.models import Contact
from tend.crm.services import account_create
from tend.desk.models import Attachment, Channel, Ticket
from tend.portal.forms import form_started_token
from tend.portal.views import thanks_ref_make

pytestmark = pytest.mark.django_db

SUPPORT = "/support/"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00"
    b"\x00\x00IEND\xaeB`\x82"
)


def form_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Li Wei",
        "email": "li.wei@acme.test",
        "subject": "Export to CSV fails",
        "description": "Clicking Export shows an error since this morning.",
        "website": "",
        # Served half a minute ago: a person's pace.
        "started": form_started_token(time.time() - 30),
    }
    data.update(overrides)
    return data


def submit(client: Client, **overrides: Any) -> Any:
    extra = {}
    if "REMOTE_ADDR" in overrides:
        extra["REMOTE_ADDR"] = overrides.pop("REMOTE_ADDR")
    return client.post(SUPPORT, form_data(**overrides), **extra)


def test_the_form_is_public_and_has_every_field(client: Client) -> None:
    response = client.get(SUPPORT)

    assert response.status_code == 200
    html = response.content.decode()
    for name in ("name", "email", "subject", "description", "attachment", "website", "started"):
        assert f'name="{name}"' in html
    assert 'enctype="multipart/form-data"' in html
    assert "/static/portal/portal.css" in html


def test_a_submission_creates_a_web_ticket_for_a_new_contact_of_the_matching_account(
    client: Client, admin_user: Any
) -> None:
    acme = account_create(actor=admin_user, name="Acme", domains=["acme.test"])

    response = submit(client, attachment=SimpleUploadedFile("screen.png", PNG, "image/png"))

    assert response.status_code == 302
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.WEB
    assert ticket.subject == "Export to CSV fails"
    assert "since this morning" in ticket.description
    contact = Contact.objects.get(email__iexact="li.wei@acme.test")
    assert contact.name == "Li Wei"
    assert contact.account == acme
    assert ticket.requester == contact
    attachment = Attachment.objects.get(ticket=ticket)
    assert attachment.filename == "screen.png"
    assert attachment.size == len(PNG)
    with attachment.file.open("rb") as stored:
        assert stored.read() == PNG


def test_after_sending_the_customer_sees_the_ticket_number(client: Client) -> None:
    response = submit(client)
    ticket = Ticket.objects.get()

    page = client.get(response["Location"])

    assert response["Location"].startswith("/support/thanks/")
    assert page.status_code == 200
    assert f"Ticket #{ticket.number}" in page.content.decode()


def test_the_thanks_reference_cannot_be_forged_to_show_other_tickets(client: Client) -> None:
    ref = thanks_ref_make(41)
    forged = ref.replace(ref.split(":")[0], "eyJuIjo0Mn0")  # {"n":42} with the old signature

    assert client.get(f"/support/thanks/{ref}/").status_code == 200
    assert client.get(f"/support/thanks/{forged}/").status_code == 404
    assert client.get("/support/thanks/42/").status_code == 404


def test_a_filled_honeypot_looks_like_success_but_creates_nothing(client: Client) -> None:
    response = submit(client, website="http://spam.example")

    assert response.status_code == 302
    assert response["Location"].startswith("/support/thanks/")
    page = client.get(response["Location"])
    assert page.status_code == 200
    assert re.search(r"Ticket #\d+", page.content.decode())
    assert Ticket.objects.count() == 0
    assert Contact.objects.count() == 0


def test_a_submission_faster_than_a_person_can_type_creates_nothing(client: Client) -> None:
    response = submit(client, started=form_started_token(time.time()))

    assert response.status_code == 302
    assert client.get(response["Location"]).status_code == 200
    assert Ticket.objects.count() == 0


def test_a_missing_or_forged_timing_token_asks_to_send_again_and_keeps_the_text(
    client: Client,
) -> None:
    response = submit(client, started="12345:forged")

    assert response.status_code == 200
    html = response.content.decode()
    assert "This form has expired" in html
    assert "Export to CSV fails" in html
    assert Ticket.objects.count() == 0


def test_invalid_fields_are_shown_and_the_others_stay_filled(client: Client) -> None:
    response = submit(client, email="not-an-address")

    assert response.status_code == 200
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert 'value="Export to CSV fails"' in html
    assert Ticket.objects.count() == 0


def test_too_many_submissions_from_one_address_get_429_and_create_nothing(
    client: Client, settings: Any
) -> None:
    settings.TEND_SUPPORT_RATE_PER_IP = 2
    settings.TEND_SUPPORT_RATE_PER_EMAIL = 100
    for n in range(2):
        assert (
            submit(client, email=f"user{n}@example.com", REMOTE_ADDR="203.0.113.9").status_code
            == 302
        )

    response = submit(client, email="user9@example.com", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0
    assert "too many requests" in response.content.decode()
    assert Ticket.objects.count() == 2
    # Someone else is not affected.
    assert submit(client, email="other@example.com", REMOTE_ADDR="198.51.100.4").status_code == 302


def test_too_many_submissions_for_one_email_get_429_from_any_address(
    client: Client, settings: Any
) -> None:
    settings.TEND_SUPPORT_RATE_PER_IP = 100
    settings.TEND_SUPPORT_RATE_PER_EMAIL = 1
    assert submit(client, email="li@example.com", REMOTE_ADDR="203.0.113.1").status_code == 302

    # The same person, differently capitalised, from another network.
    response = submit(client, email="LI@example.com", REMOTE_ADDR="203.0.113.2")

    assert response.status_code == 429
    assert Ticket.objects.count() == 1


def test_an_oversized_attachment_is_shown_on_the_form_and_nothing_is_created(
    client: Client, settings: Any
) -> None:
    settings.MAX_ATTACHMENT_BYTES = 10

    response = submit(client, attachment=SimpleUploadedFile("big.png", PNG, "image/png"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="error"' in html
    assert 'value="Export to CSV fails"' in html
    assert "Clicking Export shows an error" in html
    assert Ticket.objects.count() == 0
    assert Contact.objects.count() == 0


def test_csrf_is_enforced() -> None:
    browser = Client(enforce_csrf_checks=True)

    forged = browser.post(SUPPORT, form_data())

    assert forged.status_code == 403
    assert Ticket.objects.count() == 0

    browser.get(SUPPORT)
    token = browser.cookies["csrftoken"].value
    genuine = browser.post(SUPPORT, form_data(csrfmiddlewaretoken=token))

    assert genuine.status_code == 302
    assert Ticket.objects.count() == 1


def test_the_form_speaks_chinese_when_asked(client: Client) -> None:
    response = client.get(SUPPORT, HTTP_ACCEPT_LANGUAGE="zh-hans")

    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert "联系客服" in html
    assert "Contact support" not in html


def test_the_language_switch_remembers_the_choice(client: Client) -> None:
    switched = client.post(reverse("set_language"), {"language": "zh-hans", "next": SUPPORT})

    assert switched.status_code == 302
    assert switched["Location"] == SUPPORT
    assert "联系客服" in client.get(SUPPORT).content.decode()


def test_a_rate_limited_chinese_visitor_reads_the_message_in_chinese(
    client: Client, settings: Any
) -> None:
    settings.TEND_SUPPORT_RATE_PER_IP = 0

    response = client.post(SUPPORT, form_data(), HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert response.status_code == 429
    assert "请求过多" in response.content.decode()
