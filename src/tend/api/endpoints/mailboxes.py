"""Mailboxes (Admins): list, read, create, change, delete.

Passwords are write-only: responses say whether one is stored (``imap_password_set``),
never what it is.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from ninja import Status as WithStatus
from pydantic import Field

from tend.api.auth import request_user
from tend.api.errors import field_error
from tend.api.filters import reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import Error, Page, StrictIn, TeamRef
from tend.core.roles import require_perm
from tend.desk.models import Team
from tend.mail.mailboxes import (
    mailbox_create,
    mailbox_delete,
    mailbox_update,
    mailboxes_for_admin,
)
from tend.mail.models import Mailbox

router = Router(tags=["mailboxes"])

InboundMethodName = Literal["push", "imap"]
SecurityName = Literal["ssl", "starttls", "none"]

PASSWORD_HELP = (
    "Write-only; stored encrypted. On PATCH: absent keeps the stored one, null or an "
    'empty string removes it. Prefer "{kind}_password_env".'
)


class MailboxOut(Schema):
    id: int
    address: str
    name: str
    is_active: bool
    inbound_method: InboundMethodName
    imap_host: str
    imap_port: int
    imap_security: SecurityName
    imap_user: str
    imap_password_set: bool = Field(description="Whether a password is stored (never shown).")
    imap_password_env: str
    imap_folder: str
    imap_last_polled_at: datetime | None
    imap_last_error: str
    smtp_host: str = Field(description="Blank: the global TEND_EMAIL_URL server.")
    smtp_port: int
    smtp_security: SecurityName
    smtp_user: str
    smtp_password_set: bool
    smtp_password_env: str
    default_team: TeamRef | None
    auto_acknowledge: bool
    auto_acknowledge_subject: str
    auto_acknowledge_body: str
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_imap_password_set(obj: Mailbox) -> bool:
        return bool(obj.imap_password_encrypted)

    @staticmethod
    def resolve_smtp_password_set(obj: Mailbox) -> bool:
        return bool(obj.smtp_password_encrypted)


class MailboxCreateIn(StrictIn):
    address: str
    name: str = ""
    is_active: bool = True
    inbound_method: InboundMethodName = "push"
    imap_host: str = ""
    imap_port: int = Field(default=993, ge=1, le=65535)
    imap_security: SecurityName = "ssl"
    imap_user: str = ""
    imap_password: str | None = Field(default=None, description=PASSWORD_HELP.format(kind="imap"))
    imap_password_env: str = Field(
        default="", description="Name of an environment variable holding the password."
    )
    imap_folder: str = "INBOX"
    smtp_host: str = ""
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_security: SecurityName = "starttls"
    smtp_user: str = ""
    smtp_password: str | None = Field(default=None, description=PASSWORD_HELP.format(kind="smtp"))
    smtp_password_env: str = ""
    default_team: int | None = Field(default=None, description="Team id.")
    auto_acknowledge: bool = False
    auto_acknowledge_subject: str = ""
    auto_acknowledge_body: str = ""


class MailboxPatchIn(StrictIn):
    """Only the fields present are changed."""

    address: str | None = None
    name: str | None = None
    is_active: bool | None = None
    inbound_method: InboundMethodName | None = None
    imap_host: str | None = None
    imap_port: int | None = Field(default=None, ge=1, le=65535)
    imap_security: SecurityName | None = None
    imap_user: str | None = None
    imap_password: str | None = Field(default=None, description=PASSWORD_HELP.format(kind="imap"))
    imap_password_env: str | None = None
    imap_folder: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = Field(default=None, ge=1, le=65535)
    smtp_security: SecurityName | None = None
    smtp_user: str | None = None
    smtp_password: str | None = Field(default=None, description=PASSWORD_HELP.format(kind="smtp"))
    smtp_password_env: str | None = None
    default_team: int | None = Field(default=None, description="Team id, or null for none.")
    auto_acknowledge: bool | None = None
    auto_acknowledge_subject: str | None = None
    auto_acknowledge_body: str | None = None


NULLABLE = ("imap_password", "smtp_password", "default_team")


def _team(team_id: int | None) -> Team | None:
    if team_id is None:
        return None
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise field_error("default_team", _("No team with id %(id)s.") % {"id": team_id})
    return team


def _reloaded(mailbox: Mailbox) -> Mailbox:
    return Mailbox.objects.select_related("default_team").get(pk=mailbox.pk)


@router.get("/mailboxes", response={200: Page[MailboxOut], 403: Error, 422: Error})
def mailbox_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    reject_unknown_params(request, PageParams)
    return paginate(mailboxes_for_admin(request_user(request)), params)


@router.get("/mailboxes/{mailbox_id}", response={200: MailboxOut, 403: Error, 404: Error})
def mailbox_detail(request: HttpRequest, mailbox_id: int) -> Mailbox:
    return mailboxes_for_admin(request_user(request)).get(pk=mailbox_id)


@router.post("/mailboxes", response={201: MailboxOut, 403: Error, 422: Error})
def mailbox_post(request: HttpRequest, payload: MailboxCreateIn) -> WithStatus[Mailbox]:
    user = request_user(request)
    require_perm(user, "mail.add_mailbox")  # 403 before any complaint about the input
    data = payload.model_dump()
    data["default_team"] = _team(data["default_team"])
    mailbox = mailbox_create(actor=user, **data)
    return WithStatus(201, _reloaded(mailbox))


@router.patch(
    "/mailboxes/{mailbox_id}", response={200: MailboxOut, 403: Error, 404: Error, 422: Error}
)
def mailbox_patch(request: HttpRequest, mailbox_id: int, payload: MailboxPatchIn) -> Mailbox:
    user = request_user(request)
    mailbox = mailboxes_for_admin(user).get(pk=mailbox_id)
    require_perm(user, "mail.change_mailbox")
    changes = payload.model_dump(exclude_unset=True)
    for name, value in changes.items():
        if value is None and name not in NULLABLE:
            raise field_error(name, _("This field cannot be null."))
    for kind in ("imap", "smtp"):
        if f"{kind}_password" in changes and changes[f"{kind}_password"] is None:
            changes[f"{kind}_password"] = ""  # explicit null: remove the stored password
    if "default_team" in changes:
        changes["default_team"] = _team(changes["default_team"])
    return _reloaded(mailbox_update(actor=user, mailbox=mailbox, **changes))


@router.delete("/mailboxes/{mailbox_id}", response={204: None, 403: Error, 404: Error})
def mailbox_remove(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    user = request_user(request)
    mailbox = mailboxes_for_admin(user).get(pk=mailbox_id)
    mailbox_delete(actor=user, mailbox=mailbox)
    return HttpResponse(status=204)
