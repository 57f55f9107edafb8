"""Admins can see and revoke API tokens in the Django admin; the hash never shows."""

from __future__ import annotations

import pytest

from tend.api.models import ApiToken
from tend.api.services import token_authenticate, token_create


@pytest.mark.django_db
def test_admin_revokes_a_token(client, admin_user, agent):
    token, raw = token_create(user=agent, name="zapier")
    client.force_login(admin_user)

    listing = client.get("/admin/api/apitoken/")
    assert listing.status_code == 200
    assert token.prefix in listing.content.decode()
    assert token.key_hash not in listing.content.decode()

    response = client.post(
        "/admin/api/apitoken/", {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert token_authenticate(raw) is None
