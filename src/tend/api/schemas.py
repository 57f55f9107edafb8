"""Request and response shapes of API v1.

Input schemas forbid unknown fields: a misspelt field ("priorty") must fail loudly
with 422 instead of being ignored while the request "succeeds".
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from tend.crm.models import Account, Contact
from tend.desk.models import Comment, Priority, Status, Ticket, TicketType

TagName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class StrictIn(Schema):
    model_config = ConfigDict(extra="forbid")


# --- shared -----------------------------------------------------------------


class Page[T](Schema):
    items: list[T]
    count: int = Field(description="Number of matching objects, over all pages.")


class Error(Schema):
    detail: Any = Field(
        description="A message, or for schema errors a list of {loc, msg, type} objects."
    )


class UserRef(Schema):
    id: int
    username: str
    name: str

    @staticmethod
    def resolve_name(obj: Any) -> str:
        return str(obj.display_name)


class TeamRef(Schema):
    id: int
    name: str


class AccountRef(Schema):
    id: int
    name: str


class ContactRef(Schema):
    id: int
    email: str
    name: str


# --- tickets ----------------------------------------------------------------


class TicketOut(Schema):
    id: int
    number: int
    subject: str
    description: str
    status: Status
    priority: Priority
    type: TicketType
    channel: str
    requester: ContactRef
    account: AccountRef | None
    assignee: UserRef | None
    team: TeamRef | None
    tags: list[str]
    version: int = Field(description="Send it back as expected_version to detect conflicts.")
    follow_up_of: int | None = Field(description="id of the closed ticket this one follows up.")
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime | None
    solved_at: datetime | None
    closed_at: datetime | None
    first_response_due_at: datetime | None
    resolution_due_at: datetime | None
    sla_breached: bool

    @staticmethod
    def resolve_tags(obj: Ticket) -> list[str]:
        # Reads the prefetch cache; sorting in Python keeps it a zero-query call.
        return sorted(tag.name for tag in obj.tags.all())

    @staticmethod
    def resolve_follow_up_of(obj: Ticket) -> int | None:
        return obj.follow_up_of_id


class TicketCreateIn(StrictIn):
    subject: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    description: str
    requester_email: str
    requester_name: str = ""
    priority: Priority = Priority.NORMAL
    type: TicketType = TicketType.QUESTION
    tags: list[TagName] = []
    team: int | None = Field(default=None, description="Team id.")
    assignee: int | None = Field(default=None, description="Staff user id.")


class TicketPatchIn(StrictIn):
    """Only the fields present are changed; ``assignee`` and ``team`` accept null."""

    NOT_NULL: ClassVar[tuple[str, ...]] = ("subject", "status", "priority", "type", "tags")

    subject: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
        | None
    ) = None
    status: Status | None = None
    solve_reason: str | None = Field(
        default=None,
        description='Required with status "solved": why it is solved without the '
        "customer's confirmation.",
    )
    priority: Priority | None = None
    type: TicketType | None = None
    assignee: int | None = Field(default=None, description="Staff user id, or null to unassign.")
    team: int | None = Field(default=None, description="Team id, or null for no team.")
    tags: list[TagName] | None = Field(default=None, description="The full list of tag names.")
    add_tags: list[TagName] = []
    remove_tags: list[TagName] = []
    expected_version: int | None = Field(
        default=None,
        description="The version you last saw; if the ticket changed since, 409 and nothing "
        "is written.",
    )

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> TicketPatchIn:
        sent = self.model_fields_set
        nulled = [f for f in self.NOT_NULL if f in sent and getattr(self, f) is None]
        if nulled:
            raise ValueError(f"{', '.join(nulled)} cannot be null")
        return self


class ConfirmationIn(StrictIn):
    expected_version: int | None = None


# --- comments ---------------------------------------------------------------


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int


class AuthorOut(Schema):
    kind: str = Field(description='"user" (staff), "contact" (customer) or "system".')
    id: int | None
    name: str


class CommentOut(Schema):
    id: int
    ticket: int
    body: str
    body_html: str
    public: bool
    channel: str
    author: AuthorOut
    attachments: list[AttachmentOut]
    created_at: datetime

    @staticmethod
    def resolve_ticket(obj: Comment) -> int:
        return obj.ticket_id

    @staticmethod
    def resolve_author(obj: Comment) -> dict[str, Any]:
        if obj.author_user_id is not None:
            kind, pk = "user", obj.author_user_id
        elif obj.author_contact_id is not None:
            kind, pk = "contact", obj.author_contact_id
        else:
            kind, pk = "system", None
        return {"kind": kind, "id": pk, "name": obj.author_name}

    @staticmethod
    def resolve_attachments(obj: Comment) -> list[Any]:
        return list(obj.attachments.all())


class CommentIn(StrictIn):
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    public: bool = Field(
        default=True, description="true: a reply the customer sees; false: an internal note."
    )
    status: Status | None = Field(default=None, description="Also set the ticket's status.")
    expected_version: int | None = None


# --- accounts and contacts --------------------------------------------------


class AccountOut(Schema):
    id: int
    name: str
    external_id: str
    notes: str
    domains: list[str]
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_domains(obj: Account) -> list[str]:
        return sorted(d.domain for d in obj.domains.all())


class AccountCreateIn(StrictIn):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    domains: list[str] = Field(default=[], description='Email domains, e.g. ["acme.com"].')
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)] = ""


class ContactOut(Schema):
    id: int
    email: str
    name: str
    external_id: str
    account: AccountRef | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_account(obj: Contact) -> Account | None:
        return obj.account


class ContactCreateIn(StrictIn):
    email: str
    name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    account: int | None = Field(
        default=None, description="Account id; by default matched by the email's domain."
    )
