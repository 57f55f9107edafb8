"""Signing in and out, and resetting a forgotten password by email."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import override_settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    ["/", "/queues/mine/", "/tickets/", "/search?q=x", "/profile/", "/views/1/", "/accounts/1/"],
)
def test_anonymous_visitor_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login") + "?next=")


def test_agent_signs_in_and_lands_on_their_own_queue(client, agent):
    page = client.get(reverse("web:login"))
    assert page.status_code == 200
    assert b'for="id_username"' in page.content  # fields have labels

    response = client.post(
        reverse("web:login"),
        {"username": "alice", "password": "correct horse battery"},
        follow=True,
    )

    assert response.redirect_chain[-1][0] == reverse("web:queue", args=["mine"])
    assert response.context["user"] == agent


def test_wrong_password_is_refused_with_a_message(client, agent):
    response = client.post(reverse("web:login"), {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert not response.context["user"].is_authenticated
    assert b'class="errorlist"' in response.content


def test_sign_out_needs_a_post_and_ends_the_session(client, agent):
    client.force_login(agent)

    assert client.get(reverse("web:logout")).status_code == 405

    response = client.post(reverse("web:logout"))

    assert response.status_code == 302
    assert response["Location"] == reverse("web:login")
    assert client.get(reverse("web:queue_default")).status_code == 302


@override_settings(BASE_URL="https://help.example.com")
def test_password_reset_by_email_sets_a_new_password(client, agent):
    response = client.post(reverse("web:password_reset"), {"email": "alice@tend.test"})

    assert response["Location"] == reverse("web:password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@tend.test"]
    # The link uses the configured base URL, not whatever Host the request claimed.
    link = re.search(r"https://help\.example\.com(/password-reset/\S+/)", message.body)
    assert link, message.body

    form_page = client.get(link.group(1), follow=True)
    assert form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "a new long pass 42", "new_password2": "a new long pass 42"}
    )

    assert done["Location"] == reverse("web:password_reset_complete")
    client.logout()
    assert client.login(username="alice", password="a new long pass 42")


def test_password_reset_for_an_unknown_address_reveals_nothing(client, agent):
    response = client.post(reverse("web:password_reset"), {"email": "nobody@tend.test"})

    assert response["Location"] == reverse("web:password_reset_done")
    assert mail.outbox == []
