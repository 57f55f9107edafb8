"""API bearer tokens: make one, revoke one, and turn a presented token into a user.

A token is ``tend_`` plus 32 random bytes (URL-safe base64). Only its SHA-256 is
stored: tokens carry far more entropy than passwords, so a fast unsalted hash is
enough to make a leaked database useless, and it keeps the lookup a single indexed
query. The first characters are kept in the clear so people can tell their tokens
apart in the admin.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tend.api.models import ApiToken
from tend.core.models import User

TOKEN_PREFIX = "tend_"
# What is stored in clear for display: "tend_" and the first 7 random characters.
DISPLAY_PREFIX_LENGTH = 12
# Writing last_used_at on every request would make each API read a database write;
# once a minute is precise enough to spot unused tokens.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_hash(raw_token: str) -> str:
    return hashlib.sha256(raw_token.encode()).hexdigest()


@transaction.atomic
def token_create(*, user: User, name: str = "") -> tuple[ApiToken, str]:
    """Create a token for ``user``; returns the row and the raw token (shown only once)."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name,
        prefix=raw[:DISPLAY_PREFIX_LENGTH],
        key_hash=token_hash(raw),
    )
    token.full_clean()
    token.save()
    return token, raw


def token_revoke(*, token: ApiToken) -> ApiToken:
    """Revoke a token; revoking twice keeps the first revocation time."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def token_authenticate(raw_token: str) -> User | None:
    """The active user a live token belongs to, or None for an unknown or revoked token."""
    if not raw_token.startswith(TOKEN_PREFIX):
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw_token), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
