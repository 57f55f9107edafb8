"""Per-user language and time zone for staff requests."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone, translation


class UserPreferencesMiddleware:
    """Activate the signed-in user's chosen language and time zone.

    Runs after LocaleMiddleware so a staff member's saved choice wins over the
    browser's Accept-Language; anonymous visitors keep the negotiated language.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = getattr(user, "language", "") or "en"
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
            try:
                timezone.activate(zoneinfo.ZoneInfo(getattr(user, "time_zone", "UTC") or "UTC"))
            except zoneinfo.ZoneInfoNotFoundError:
                timezone.deactivate()
        response = self.get_response(request)
        timezone.deactivate()
        return response
