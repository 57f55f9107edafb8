"""Mailboxes: the addresses customers write to. Writes (Admins only) and the reads the
receivers, the poller and the sender share.

Passwords are write-only: they are stored encrypted (tend.mail.secrets) or named as an
environment variable, and only mailbox_password() ever turns them back into text.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from tend.core.models import User
from tend.core.process_cache import ProcessCache
from tend.core.roles import require_perm
from tend.desk.models import Team
from tend.mail.models import InboundMethod, Mailbox, Security
from tend.mail.secrets import secret_decrypt, secret_encrypt

PASSWORD_KINDS = ("imap", "smtp")

# A POSIX-style environment variable name; anything else is most likely a password
# pasted into the wrong field, which must not be stored in clear.
ENV_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")

# What an Admin configures. The poller's own state (UIDVALIDITY, last UID, last poll,
# last error) is not here: it is written by the poller, and a settings save must never
# overwrite it with a stale copy.
SETTINGS_FIELDS = (
    "address",
    "name",
    "is_active",
    "inbound_method",
    "imap_host",
    "imap_port",
    "imap_security",
    "imap_user",
    "imap_password_env",
    "imap_folder",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "smtp_user",
    "smtp_password_env",
    "default_team",
    "auto_acknowledge",
    "auto_acknowledge_subject",
    "auto_acknowledge_body",
)
PASSWORD_FIELDS = ("imap_password", "smtp_password")
# Changing any of these points the poller at another folder, whose UIDs mean nothing
# against the remembered ones; start over (already stored messages are deduplicated).
IMAP_LOCATION_FIELDS = ("imap_host", "imap_port", "imap_user", "imap_folder")


def _require(actor: User | None, perm: str) -> None:
    # actor=None is the system itself (the `tend mailbox` command run by the operator).
    if actor is not None:
        require_perm(actor, perm)


def _is_loopback(host: str) -> bool:
    host = host.strip().strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _apply(mailbox: Mailbox, changes: dict[str, Any]) -> set[str]:
    """Set the given settings and passwords on ``mailbox``; return the changed fields."""
    unknown = set(changes) - set(SETTINGS_FIELDS) - set(PASSWORD_FIELDS)
    if unknown:
        raise TypeError(f"unknown mailbox settings: {', '.join(sorted(unknown))}")
    changed: set[str] = set()
    for field, value in changes.items():
        if field in PASSWORD_FIELDS:
            # None keeps the stored password; "" removes it; anything else replaces it.
            if value is None:
                continue
            target = f"{field}_encrypted"
            new = secret_encrypt(value) if value else ""
            if new or getattr(mailbox, target):
                setattr(mailbox, target, new)
                changed.add(target)
            continue
        if isinstance(value, str) and field != "auto_acknowledge_body":
            value = value.strip()
        if field == "address":
            value = value.lower()
        if field == "default_team":
            if value is not None and not isinstance(value, Team):
                raise TypeError("default_team must be a Team or None")
            if mailbox.default_team_id != (value.pk if value else None):
                mailbox.default_team = value
                changed.add(field)
            continue
        if getattr(mailbox, field) != value:
            setattr(mailbox, field, value)
            changed.add(field)
    return changed


def _validate(mailbox: Mailbox) -> None:
    errors: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        errors.setdefault(field, []).append(message)

    for kind in PASSWORD_KINDS:
        env = getattr(mailbox, f"{kind}_password_env")
        if env and not ENV_NAME_RE.match(env):
            add(
                f"{kind}_password_env",
                _(
                    "Enter the name of an environment variable (letters, digits and "
                    "underscores, not starting with a digit), not the password itself."
                ),
            )
    if mailbox.inbound_method == InboundMethod.IMAP:
        if not mailbox.imap_host:
            add("imap_host", _("An IMAP mailbox needs the server's host name."))
        if not mailbox.imap_user:
            add("imap_user", _("An IMAP mailbox needs a user name."))
        if not (mailbox.imap_password_encrypted or mailbox.imap_password_env):
            add(
                "imap_password",
                _("An IMAP mailbox needs a password or an environment variable holding it."),
            )
        if not mailbox.imap_folder:
            add("imap_folder", _("Name the folder to read, usually INBOX."))
    if (
        mailbox.inbound_method == InboundMethod.IMAP
        and mailbox.imap_security == Security.NONE
        and mailbox.imap_host
        and not _is_loopback(mailbox.imap_host)
    ):
        add(
            "imap_security",
            _(
                "Without TLS the password would cross the network in clear text; choose "
                "SSL/TLS or STARTTLS, or a server on this machine."
            ),
        )
    if mailbox.smtp_host:
        if mailbox.smtp_user and not (mailbox.smtp_password_encrypted or mailbox.smtp_password_env):
            add(
                "smtp_password",
                _("Give the SMTP password or an environment variable holding it."),
            )
        if (
            mailbox.smtp_security == Security.NONE
            and mailbox.smtp_user
            and not _is_loopback(mailbox.smtp_host)
        ):
            add(
                "smtp_security",
                _(
                    "Without TLS the password would cross the network in clear text; "
                    "choose SSL/TLS or STARTTLS, or a server on this machine."
                ),
            )
    try:
        mailbox.full_clean()
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            for message in messages:
                add(field, message)
    if errors:
        raise ValidationError(errors)


def mailbox_create(
    *,
    actor: User | None,
    address: str,
    name: str = "",
    is_active: bool = True,
    inbound_method: str = InboundMethod.PUSH,
    imap_host: str = "",
    imap_port: int = 993,
    imap_security: str = Security.SSL,
    imap_user: str = "",
    imap_password: str | None = None,
    imap_password_env: str = "",
    imap_folder: str = "INBOX",
    smtp_host: str = "",
    smtp_port: int = 587,
    smtp_security: str = Security.STARTTLS,
    smtp_user: str = "",
    smtp_password: str | None = None,
    smtp_password_env: str = "",
    default_team: Team | None = None,
    auto_acknowledge: bool = False,
    auto_acknowledge_subject: str = "",
    auto_acknowledge_body: str = "",
) -> Mailbox:
    """Add a mailbox. ``actor=None`` is the system (the command line)."""
    _require(actor, "mail.add_mailbox")
    settings = dict(locals())
    del settings["actor"]
    mailbox = Mailbox()
    _apply(mailbox, settings)
    _validate(mailbox)
    with transaction.atomic():
        mailbox.save()
    return mailbox


def mailbox_update(*, actor: User | None, mailbox: Mailbox, **changes: Any) -> Mailbox:
    """Change some settings. Passwords: None (or absent) keeps, "" removes, text replaces."""
    _require(actor, "mail.change_mailbox")
    with transaction.atomic():
        current = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        changed = _apply(current, changes)
        if not changed:
            return current
        _validate(current)
        if changed & set(IMAP_LOCATION_FIELDS):
            current.imap_uidvalidity = None
            current.imap_last_uid = 0
            changed |= {"imap_uidvalidity", "imap_last_uid"}
        if changed - {"name", "auto_acknowledge_subject", "auto_acknowledge_body"}:
            # The last error was about the old settings.
            current.imap_last_error = ""
            changed.add("imap_last_error")
        current.save(update_fields=[*sorted(changed), "updated_at"])
    return current


def mailbox_delete(*, actor: User | None, mailbox: Mailbox) -> None:
    """Remove a mailbox. Stored messages and tickets stay; they just lose the link."""
    _require(actor, "mail.delete_mailbox")
    Mailbox.objects.filter(pk=mailbox.pk).delete()


def mailbox_password(mailbox: Mailbox, kind: str = "imap") -> str:
    """The password to log in with: the environment variable when it is set, else the
    stored one, else "". Raises SecretUnreadable if the stored one cannot be decrypted."""
    if kind not in PASSWORD_KINDS:
        raise ValueError(f"kind must be one of {PASSWORD_KINDS}, not {kind!r}")
    env_name = getattr(mailbox, f"{kind}_password_env")
    if env_name:
        value = os.environ.get(env_name)
        if value is not None:
            return value
    token = getattr(mailbox, f"{kind}_password_encrypted")
    return secret_decrypt(token) if token else ""


# ---------------------------------------------------------------- selectors


def mailboxes_for_admin(user: User) -> QuerySet[Mailbox]:
    """Every mailbox, for the settings screens and the API; PermissionDenied otherwise."""
    require_perm(user, "mail.view_mailbox")
    return Mailbox.objects.select_related("default_team").order_by("address")


# The receivers ask "which mailbox is this for?" and "is this one of ours?" for every
# message, and mailboxes change rarely: each process keeps the active ones in memory
# (ACTIVE_TTL seconds is the documented staleness across processes). Callers get copies,
# so nothing they change leaks into the next message.
ACTIVE_TTL = 5.0


def _load_active() -> dict[str, Mailbox]:
    return {
        m.address.lower(): m
        for m in Mailbox.objects.filter(is_active=True).select_related("default_team")
    }


_active = ProcessCache("mail.active_mailboxes", _load_active, ttl=ACTIVE_TTL, watch=[Mailbox])


def _active_mailboxes() -> dict[str, Mailbox]:
    """Active mailboxes by lower-cased address (do not modify the returned objects)."""
    return _active.get()


def mailbox_addresses() -> set[str]:
    """Addresses of active mailboxes, lower-cased."""
    return set(_active_mailboxes())


def mailbox_for_recipients(addresses: Iterable[str]) -> Mailbox | None:
    """The active mailbox named first among ``addresses`` (any case): pass To before Cc,
    so mail to sales@ copied to support@ belongs to sales@."""
    active = _active_mailboxes()
    for address in addresses:
        found = active.get((address or "").strip().lower())
        if found is not None:
            # A copy (with its default team): the caller may change it.
            return copy.copy(found)
    return None


def mailbox_active(pk: int) -> Mailbox | None:
    """The active mailbox with this pk from the in-memory copy (≤ ACTIVE_TTL seconds
    old in another process), or None when it is not active (or gone)."""
    found = next((m for m in _active_mailboxes().values() if m.pk == pk), None)
    return copy.copy(found) if found is not None else None


def mailbox_default() -> Mailbox | None:
    """The first active mailbox, for mail that names none of ours (Bcc, forwards)."""
    return Mailbox.objects.filter(is_active=True).order_by("address").first()
