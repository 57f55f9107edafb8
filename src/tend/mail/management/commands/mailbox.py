"""`tend mailbox add|list|remove`: manage mailboxes from scripts and deploy tooling.

Passwords are taken only as environment variable names (--imap-password-env): a
password on the command line would end up in shell history and `ps` output.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from tend.desk.models import Team
from tend.mail.mailboxes import mailbox_create, mailbox_delete
from tend.mail.models import InboundMethod, Mailbox, Security

SECURITY_CHOICES = list(Security.values)


class Command(BaseCommand):
    help = "Add, list or remove the mailboxes Tend receives and sends mail for."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{add,list,remove}")

        add = sub.add_parser("add", help="Add a mailbox.")
        add.add_argument("address", help="The address customers write to, e.g. support@acme.com.")
        add.add_argument("--name", default="", help="Display name on outgoing mail.")
        add.add_argument("--imap-host", default="", help="Poll this IMAP server for new mail.")
        add.add_argument("--imap-port", type=int, default=None, help="Default 993 (143 plain).")
        add.add_argument("--imap-security", choices=SECURITY_CHOICES, default=Security.SSL)
        add.add_argument("--imap-user", default="")
        add.add_argument(
            "--imap-password-env", default="", help="Environment variable holding the password."
        )
        add.add_argument("--imap-folder", default="INBOX")
        add.add_argument(
            "--smtp-host", default="", help="Send through this server (default: TEND_EMAIL_URL)."
        )
        add.add_argument("--smtp-port", type=int, default=587)
        add.add_argument("--smtp-security", choices=SECURITY_CHOICES, default=Security.STARTTLS)
        add.add_argument("--smtp-user", default="")
        add.add_argument(
            "--smtp-password-env", default="", help="Environment variable holding the password."
        )
        add.add_argument("--team", default="", help="Team that new tickets go to (by name).")
        add.add_argument(
            "--auto-acknowledge", action="store_true", help="Acknowledge new tickets by email."
        )

        sub.add_parser("list", help="List mailboxes.")

        remove = sub.add_parser("remove", help="Remove a mailbox (its tickets stay).")
        remove.add_argument("address")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "add":
            self._add(options)
        elif action == "list":
            self._list()
        else:
            self._remove(options["address"])

    def _add(self, options: dict[str, Any]) -> None:
        team = None
        if options["team"]:
            team = Team.objects.filter(name__iexact=options["team"].strip()).first()
            if team is None:
                raise CommandError(_("No team named %(name)s.") % {"name": options["team"]})
        imap = bool(options["imap_host"])
        imap_port = options["imap_port"]
        if imap_port is None:
            imap_port = 993 if options["imap_security"] == Security.SSL else 143
        try:
            mailbox = mailbox_create(
                actor=None,
                address=options["address"],
                name=options["name"],
                inbound_method=InboundMethod.IMAP if imap else InboundMethod.PUSH,
                imap_host=options["imap_host"],
                imap_port=imap_port,
                imap_security=options["imap_security"],
                imap_user=options["imap_user"],
                imap_password_env=options["imap_password_env"],
                imap_folder=options["imap_folder"],
                smtp_host=options["smtp_host"],
                smtp_port=options["smtp_port"],
                smtp_security=options["smtp_security"],
                smtp_user=options["smtp_user"],
                smtp_password_env=options["smtp_password_env"],
                default_team=team,
                auto_acknowledge=options["auto_acknowledge"],
            )
        except ValidationError as exc:
            raise CommandError(_error_text(exc)) from None
        self.stdout.write(_("Added mailbox %(mailbox)s.") % {"mailbox": mailbox})

    def _list(self) -> None:
        mailboxes = Mailbox.objects.select_related("default_team").order_by("address")
        if not mailboxes:
            self.stdout.write(_("No mailboxes."))
            return
        for mailbox in mailboxes:
            parts = [mailbox.address, mailbox.get_inbound_method_display()]
            if mailbox.inbound_method == InboundMethod.IMAP:
                parts.append(f"{mailbox.imap_user}@{mailbox.imap_host}:{mailbox.imap_port}")
            if mailbox.default_team is not None:
                parts.append(_("team: %(team)s") % {"team": mailbox.default_team.name})
            if not mailbox.is_active:
                parts.append(_("inactive"))
            if mailbox.imap_last_error:
                parts.append(_("last error: %(error)s") % {"error": mailbox.imap_last_error})
            self.stdout.write("\t".join(str(p) for p in parts))

    def _remove(self, address: str) -> None:
        mailbox = Mailbox.objects.filter(address__iexact=address.strip()).first()
        if mailbox is None:
            raise CommandError(_("No mailbox with the address %(address)s.") % {"address": address})
        mailbox_delete(actor=None, mailbox=mailbox)
        self.stdout.write(_("Removed mailbox %(address)s.") % {"address": mailbox.address})


def _option(field: str) -> str:
    """The command-line option an error about a model field refers to."""
    if field in ("__all__", "address"):
        return ""
    if field in ("imap_password", "smtp_password"):
        field += "_env"  # passwords are only given as variable names here
    if field == "default_team":
        field = "team"
    return "--" + field.replace("_", "-")


def _error_text(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        lines = []
        for field, messages in exc.message_dict.items():
            option = _option(field)
            lines += [f"{option}: {m}" if option else m for m in messages]
        return " ".join(lines)
    return " ".join(exc.messages)
