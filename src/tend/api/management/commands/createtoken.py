"""`tend createtoken USER [--name NAME]`: print a new API bearer token for USER.

Only the token is printed, so scripts can capture it:
``export TEND_TOKEN=$(tend createtoken alice --name ci)``.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tend.api.services import token_create
from tend.core.models import User


class Command(BaseCommand):
    help = "Create an API bearer token for a staff user and print it (shown only once)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="The user the token acts as.")
        parser.add_argument("--name", default="", help="A label to tell tokens apart.")

    def handle(self, *args: Any, **options: Any) -> None:
        username: str = options["username"]
        try:
            user = User.objects.get(username=username)
        except User.DoesNotExist:
            raise CommandError(_("No user named %(username)s.") % {"username": username}) from None
        if not user.is_active:
            raise CommandError(
                _("User %(username)s is inactive; a token for them would not work.")
                % {"username": username}
            )
        _token, raw = token_create(user=user, name=options["name"])
        self.stdout.write(raw)
