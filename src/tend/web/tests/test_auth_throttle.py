"""Password guessing and reset flooding are throttled."""

from __future__ import annotations

import pytest
from django.core import mail

from tend.web import views_queue


@pytest.mark.django_db
def test_sign_in_is_throttled_per_user_name(client, agent, monkeypatch):
    monkeypatch.setattr(views_queue, "LOGIN_ATTEMPTS", 3)
    for _ in range(3):
        wrong = client.post("/login/", {"username": "alice", "password": "nope"})
        assert wrong.status_code == 200
    blocked = client.post("/login/", {"username": "alice", "password": "correct horse battery"})
    assert blocked.status_code == 429 and "Retry-After" in blocked
    assert "_auth_user_id" not in client.session  # even the right password waits


@pytest.mark.django_db
def test_reset_mails_are_capped_per_address(client, agent, monkeypatch):
    monkeypatch.setattr(views_queue, "RESET_REQUESTS", 2)
    for _ in range(4):
        response = client.post("/password-reset/", {"email": agent.email})
        assert response.status_code == 302  # the same answer every time
    assert len(mail.outbox) == 2
