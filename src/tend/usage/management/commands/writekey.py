"""`tend writekey create NAME | list | revoke ID`: write keys for the tracking API."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tend.usage.models import WriteKey
from tend.usage.services import writekey_create, writekey_revoke


class Command(BaseCommand):
    help = "Create, list or revoke write keys for /ingest/v1/ (Segment-compatible)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it (shown only once).")
        create.add_argument("name")
        sub.add_parser("list", help="List keys (prefix, name, state).")
        revoke = sub.add_parser("revoke", help="Revoke a key by id.")
        revoke.add_argument("id", type=int)

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "create":
            key, plaintext = writekey_create(actor=None, name=options["name"])
            # The key alone on stdout so scripts can capture it; the note on stderr.
            self.stdout.write(plaintext)
            self.stderr.write(f"Write key {key.pk} created; it will not be shown again.")
        elif action == "list":
            for key in WriteKey.objects.order_by("pk"):
                state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
                used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never used"
                self.stdout.write(f"{key.pk}\t{key.prefix}…\t{key.name}\t{state}\t{used}")
        else:
            found = WriteKey.objects.filter(pk=options["id"]).first()
            if found is None:
                raise CommandError(f"No write key with id {options['id']}.")
            writekey_revoke(actor=None, key=found)
            self.stdout.write(f"Write key {found.pk} revoked.")
