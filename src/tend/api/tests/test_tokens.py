"""Bearer tokens: stored hashed, revocable, printed by `tend createtoken`."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tend.api.models import ApiToken
from tend.api.services import token_authenticate, token_create, token_revoke

from .conftest import ApiClient


def test_database_holds_only_a_hash_of_the_token(agent):
    token, raw = token_create(user=agent, name="ci")

    assert raw.startswith("tend_") and len(raw) > 40
    row = ApiToken.objects.get(pk=token.pk)
    assert row.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {row.key_hash, row.prefix, row.name}
    assert raw.startswith(row.prefix)
    assert len(row.prefix) < 15


def test_token_authenticates_its_user_and_records_use(agent):
    token, raw = token_create(user=agent)

    assert token_authenticate(raw) == agent
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_unknown_revoked_and_inactive_tokens_do_not_authenticate(agent, teammate):
    token, raw = token_create(user=agent)
    _other, other_raw = token_create(user=teammate)
    teammate.is_active = False
    teammate.save()

    token_revoke(token=token)

    assert token_authenticate(raw) is None
    assert token_authenticate(other_raw) is None
    assert token_authenticate("tend_" + "x" * 43) is None
    assert token_authenticate("") is None


def test_revoked_token_is_refused_with_401(agent):
    token, raw = token_create(user=agent)
    client = ApiClient(raw)
    assert client.get("/api/v1/accounts").status_code == 200

    token_revoke(token=token)
    response = client.get("/api/v1/accounts")

    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_missing_or_malformed_authorization_gets_401_with_challenge(anonymous_api):
    response = anonymous_api.get("/api/v1/tickets")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer" in response.json()["detail"]

    basic = anonymous_api.client.get("/api/v1/tickets", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401


def test_createtoken_prints_only_a_working_token(agent):
    out = StringIO()

    call_command("createtoken", agent.username, "--name", "zapier", stdout=out)

    raw = out.getvalue().strip()
    assert "\n" not in raw and raw.startswith("tend_")
    assert ApiToken.objects.get(user=agent).name == "zapier"
    assert ApiClient(raw).get("/api/v1/accounts").status_code == 200


def test_createtoken_for_unknown_user_fails_clearly(db):
    with pytest.raises(CommandError, match="nobody"):
        call_command("createtoken", "nobody")
