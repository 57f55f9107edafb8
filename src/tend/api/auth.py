"""Bearer-token authentication for the API.

Bearer only: the API never reads the session cookie, so it needs no CSRF token and a
browser tab signed in to Tend cannot be tricked into calling it.
"""

from __future__ import annotations

from django.http import HttpRequest
from django.utils import translation
from django.utils.translation import gettext as _
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from tend.api.services import token_authenticate
from tend.core.models import User


class InvalidToken(AuthenticationError):
    """A token was presented but is unknown, revoked or belongs to an inactive user."""


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> User:
        user = token_authenticate(token.strip())
        if user is None:
            raise InvalidToken(message=_("The bearer token is invalid or has been revoked."))
        # The session middleware saw an anonymous request; answer in the token owner's
        # language, as the staff UI would.
        request.user = user
        translation.activate(user.language or "en")
        request.LANGUAGE_CODE = translation.get_language()
        return user


def request_user(request: HttpRequest) -> User:
    """The authenticated user of an API request (typed for the endpoints)."""
    user = request.auth  # type: ignore[attr-defined]
    assert isinstance(user, User)
    return user
