"""API test helpers: a JSON client that sends a real bearer token for a given user."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from tend.api.services import token_create
from tend.core.models import User


class ApiClient:
    """Thin JSON wrapper over Django's test client, authenticated by a bearer token."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _send(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        call = getattr(self.client, method)
        if body is None:
            return call(path, params or None, headers=self.headers)
        return call(path, json.dumps(body), content_type="application/json", headers=self.headers)

    def get(self, path: str, **params: Any) -> Any:
        return self._send("get", path, **params)

    def post(self, path: str, body: Any) -> Any:
        return self._send("post", path, body)

    def patch(self, path: str, body: Any) -> Any:
        return self._send("patch", path, body)


@pytest.fixture(autouse=True)
def _fast_passwords(settings: Any) -> None:
    # The staff fixtures set passwords; the production hasher costs seconds per test.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api_as(db: None) -> Callable[[User], ApiClient]:
    def make(user: User) -> ApiClient:
        _token, raw = token_create(user=user, name="test")
        return ApiClient(raw)

    return make


@pytest.fixture
def anonymous_api(db: None) -> ApiClient:
    return ApiClient(None)


@pytest.fixture
def make_ticket(db: None, agent: User, team: Any) -> Callable[..., Any]:
    """Open a ticket through the real service; by default in the agent's team."""
    from tend.desk.services import ticket_create

    def make(**overrides: Any) -> Any:
        fields: dict[str, Any] = {
            "actor": agent,
            "subject": "Export fails",
            "description": "CSV export times out.",
            "requester_email": "li@acme.com",
            "team": team,
        }
        fields.update(overrides)
        return ticket_create(**fields)

    return make


def close_ticket(ticket: Any, actor: User) -> None:
    """Solve, then let the scheduled auto-close run as if the waiting time had passed."""
    from datetime import timedelta

    from django.utils import timezone

    from tend.desk.services import ticket_solve, tickets_close_solved

    ticket_solve(actor=actor, ticket=ticket, reason="Fixed in 2.3")
    tickets_close_solved(now=timezone.now() + timedelta(days=30))
