"""Signed, single-purpose links to one survey invitation.

A token is django.core.signing over the invitation's id and nonce, with a salt of its
own, so a token made for anything else (a ticket confirmation, a thanks page) never
opens a survey and a survey token opens nothing else. Changing the invitation's nonce
voids every link to it. Expiry is the invitation's own ``expires_at`` (checked against
the database), so staff can extend or end an invitation without re-sending links.
"""

from __future__ import annotations

import datetime as dt
import secrets

from django.core import signing
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tend.surveys.models import Invitation

SALT = "tend.surveys.invitation"


class TokenError(Exception):
    """The link does not open an invitation; ``status`` is the HTTP status to answer."""

    status = 400
    message = _("This survey link is not valid.")


class TokenInvalid(TokenError):
    """Tampered, truncated, made for something else, or voided (nonce changed)."""


class TokenExpired(TokenError):
    status = 410
    message = _("This survey has closed.")


def nonce_new() -> str:
    return secrets.token_hex(16)


def invitation_token(invitation: Invitation) -> str:
    return signing.dumps({"i": invitation.pk, "n": invitation.nonce}, salt=SALT, compress=True)


def invitation_from_token(token: str, *, now: dt.datetime | None = None) -> Invitation:
    """The invitation a token opens. An answered invitation still opens after it
    expired (to show the answer); an unanswered one past ``expires_at`` does not."""
    try:
        payload = signing.loads(str(token), salt=SALT)
        invitation_id, nonce = int(payload["i"]), str(payload["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise TokenInvalid from exc
    invitation = (
        Invitation.objects.select_related("survey", "contact", "account")
        .filter(pk=invitation_id)
        .first()
    )
    if invitation is None or not secrets.compare_digest(invitation.nonce, nonce):
        raise TokenInvalid
    now = now or timezone.now()
    if invitation.expires_at <= now and not _answered(invitation):
        raise TokenExpired
    return invitation


def _answered(invitation: Invitation) -> bool:
    try:
        invitation.response  # noqa: B018 - a reverse one-to-one raises when absent
    except Invitation.response.RelatedObjectDoesNotExist:
        return False
    return True
