"""Writes the staff UI owns itself (for now only a staff member's own preferences)."""

from __future__ import annotations

import functools
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tend.core.models import User


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name, sorted; read from disk once per process."""
    return tuple(sorted(zoneinfo.available_timezones()))


@transaction.atomic
def user_preferences_update(*, user: User, language: str, time_zone: str, is_away: bool) -> User:
    """Save a staff member's language, time zone and away flag.

    Raises ValidationError for a language Tend does not offer or an unknown zone,
    so a hand-made POST cannot store a value the middleware would choke on.
    """
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the offered languages.")})
    if time_zone not in time_zone_names():
        raise ValidationError({"time_zone": _("Unknown time zone.")})
    user.language = language
    user.time_zone = time_zone
    user.is_away = is_away
    user.save(update_fields=["language", "time_zone", "is_away"])
    return user
