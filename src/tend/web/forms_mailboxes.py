"""The mailbox settings form. It only parses; tend.mail.mailboxes validates and saves."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import fields_for_model, model_to_dict
from django.utils.translation import gettext_lazy as _

from tend.mail.mailboxes import SETTINGS_FIELDS
from tend.mail.models import Mailbox

# How the form is laid out: (legend, field names).
SECTIONS: list[tuple[Any, list[str]]] = [
    (_("Mailbox"), ["address", "name", "is_active", "default_team"]),
    (
        _("Incoming mail"),
        [
            "inbound_method",
            "imap_host",
            "imap_port",
            "imap_security",
            "imap_user",
            "imap_password",
            "clear_imap_password",
            "imap_password_env",
            "imap_folder",
        ],
    ),
    (
        _("Outgoing mail"),
        [
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_user",
            "smtp_password",
            "clear_smtp_password",
            "smtp_password_env",
        ],
    ),
    (
        _("Acknowledgement"),
        ["auto_acknowledge", "auto_acknowledge_subject", "auto_acknowledge_body"],
    ),
]

HELP = {
    "inbound_method": _(
        "Forwarding: your mail server delivers to Tend's SMTP receiver or posts to "
        "/ingest/email. IMAP: Tend fetches new mail from the server every minute."
    ),
    "imap_password_env": _(
        "Instead of storing the password: the name of an environment variable holding it. "
        "When set, it is used rather than the stored password."
    ),
    "smtp_password_env": _(
        "Instead of storing the password: the name of an environment variable holding it."
    ),
    "smtp_host": _("Leave blank to send through the server set in TEND_EMAIL_URL."),
    "auto_acknowledge_subject": _("Leave blank for the built-in, translated text."),
    "auto_acknowledge_body": _("Leave blank for the built-in, translated text."),
    "default_team": _("New tickets from this mailbox go to this team."),
}


class MailboxForm(forms.Form):
    imap_password = forms.CharField(
        label=_("IMAP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_imap_password = forms.BooleanField(
        label=_("Remove the stored IMAP password"), required=False
    )
    smtp_password = forms.CharField(
        label=_("SMTP password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    clear_smtp_password = forms.BooleanField(
        label=_("Remove the stored SMTP password"), required=False
    )

    def __init__(self, *args: Any, mailbox: Mailbox | None = None, **kwargs: Any) -> None:
        if mailbox is not None:
            kwargs.setdefault("initial", model_to_dict(mailbox, fields=SETTINGS_FIELDS))
        super().__init__(*args, **kwargs)
        self.mailbox = mailbox
        self.fields.update(fields_for_model(Mailbox, fields=SETTINGS_FIELDS))
        for name, text in HELP.items():
            self.fields[name].help_text = text
        # Write-only: say whether one is stored, never show it.
        for kind in ("imap", "smtp"):
            field = self.fields[f"{kind}_password"]
            if mailbox is not None and getattr(mailbox, f"{kind}_password_encrypted"):
                field.help_text = _("A password is stored. Leave blank to keep it.")
            else:
                field.help_text = _("Stored encrypted; never shown again.")
                del self.fields[f"clear_{kind}_password"]

    def sections(self) -> list[tuple[Any, list[forms.BoundField]]]:
        return [
            (legend, [self[name] for name in names if name in self.fields])
            for legend, names in SECTIONS
        ]

    def changes(self) -> dict[str, Any]:
        """Keyword arguments for mailbox_create/mailbox_update."""
        data = self.cleaned_data
        out = {name: data[name] for name in SETTINGS_FIELDS}
        for kind in ("imap", "smtp"):
            password = data.get(f"{kind}_password") or ""
            if password:
                out[f"{kind}_password"] = password
            elif data.get(f"clear_{kind}_password"):
                out[f"{kind}_password"] = ""
            else:
                out[f"{kind}_password"] = None  # keep what is stored
        return out
