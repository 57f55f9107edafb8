"""Request and response shapes of API v1.

Input schemas forbid unknown fields: a misspelt field ("priorty") must fail loudly
with 422 instead of being ignored while the request "succeeds".
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, ClassVar

from ninja import Schema
from pydantic import ConfigDict, Field, StringConstraints, model_validator

from tend.crm.models import (
    Account,
    Contact,
    EvangelistStage,
    Lifecycle,
    Role,
    SubscriptionStatus,
    Touchpoint,
    TouchpointKind,
)
from tend.crm.selectors import DEFAULT_CURRENCY
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


def _no_nulls(schema: Schema, *, nullable: tuple[str, ...]) -> None:
    """PATCH bodies: a field may be left out, but only the nullable ones may be null."""
    nulled = [
        f
        for f in type(schema).model_fields
        if f not in nullable and f in schema.model_fields_set and getattr(schema, f) is None
    ]
    if nulled:
        raise ValueError(f"{', '.join(nulled)} cannot be null")


Text100 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=100)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
AccountName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
WholeNumber = Annotated[int, Field(ge=0, strict=True)]


class Money(Schema):
    minor: int = Field(description="Integer minor units: 12345 with CNY is ¥123.45.")
    currency: str = Field(description="ISO 4217 code.")


class HealthOut(Schema):
    score: float | None
    band: str = Field(description='"red", "yellow", "green", or "" when no measure had a value.')


class AccountOut(Schema):
    id: int
    name: str
    external_id: str
    notes: str
    domains: list[str]
    parent: AccountRef | None
    owner: UserRef | None = Field(description="The CSM who looks after the account.")
    segment: str
    tier: str
    lifecycle: Lifecycle
    traits: dict[str, Any]
    last_seen_at: datetime | None
    seats: int = Field(description="Seats of trial, active and past-due subscriptions.")
    mrr: Money = Field(description="Of active and past-due subscriptions.")
    renews_on: date | None = Field(description="Earliest renewal of a running subscription.")
    health: HealthOut | None = Field(description="Latest health score; null until scored.")
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_domains(obj: Account) -> list[str]:
        return sorted(d.domain for d in obj.domains.all())

    # The endpoint attaches the figures it read for the whole page (one query each).
    @staticmethod
    def resolve_seats(obj: Account) -> int:
        return int(getattr(obj, "api_seats", 0))

    @staticmethod
    def resolve_mrr(obj: Account) -> dict[str, Any]:
        minor, currency = getattr(obj, "api_mrr", (0, DEFAULT_CURRENCY))
        return {"minor": minor, "currency": currency}

    @staticmethod
    def resolve_renews_on(obj: Account) -> date | None:
        return getattr(obj, "api_renews_on", None)

    @staticmethod
    def resolve_health(obj: Account) -> dict[str, Any] | None:
        return getattr(obj, "api_health", None)


class AccountCreateIn(StrictIn):
    name: AccountName
    domains: list[str] = Field(default=[], description='Email domains, e.g. ["acme.com"].')
    external_id: Text100 = ""
    parent: int | None = Field(default=None, description="Parent account id.")
    owner: int | None = Field(default=None, description="Staff user id of the CSM.")
    segment: Text100 = ""
    tier: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] = ""
    lifecycle: Lifecycle = Lifecycle.ONBOARDING
    notes: str = ""
    traits: dict[str, Any] = {}


class AccountPatchIn(StrictIn):
    """Only the fields present are changed; ``parent`` and ``owner`` accept null."""

    name: AccountName | None = None
    domains: list[str] | None = Field(default=None, description="The full list of domains.")
    external_id: Text100 | None = None
    parent: int | None = Field(default=None, description="Parent account id, or null.")
    owner: int | None = Field(default=None, description="CSM's staff user id, or null.")
    segment: Text100 | None = None
    tier: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None
    lifecycle: Lifecycle | None = None
    notes: str | None = None
    traits: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> AccountPatchIn:
        _no_nulls(self, nullable=("parent", "owner"))
        return self


class ContactOut(Schema):
    id: int
    email: str
    name: str
    external_id: str
    account: AccountRef | None
    other_emails: list[str]
    phones: list[str]
    social: dict[str, str]
    # Plain strings: a JSON column, so a value written around the services cannot turn
    # every read of the contact into an error.
    roles: list[str] = Field(description="Role values, e.g. champion, decision_maker.")
    evangelist_stage: EvangelistStage
    title: str
    traits: dict[str, Any]
    last_seen_at: datetime | None
    email_bounced_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @staticmethod
    def resolve_account(obj: Contact) -> Account | None:
        return obj.account


class ContactCreateIn(StrictIn):
    email: str = Field(default="", description="May be blank when external_id is given.")
    name: Text200 = ""
    account: int | None = Field(
        default=None, description="Account id; by default matched by the email's domain."
    )
    external_id: Text100 = Field(default="", description="The product's user id.")
    other_emails: list[str] = []
    phones: list[str] = []
    social: dict[str, str] = Field(default={}, description='e.g. {"wechat": "liwei"}.')
    roles: list[Role] = []
    evangelist_stage: EvangelistStage = EvangelistStage.CUSTOMER
    title: Text200 = ""
    traits: dict[str, Any] = {}


class ContactPatchIn(StrictIn):
    """Only the fields present are changed; ``account`` accepts null (off the account)."""

    email: str | None = None
    name: Text200 | None = None
    account: int | None = Field(default=None, description="Account id, or null.")
    external_id: Text100 | None = None
    other_emails: list[str] | None = None
    phones: list[str] | None = None
    social: dict[str, str] | None = None
    roles: list[Role] | None = Field(default=None, description="The full list of roles.")
    evangelist_stage: EvangelistStage | None = None
    title: Text200 | None = None
    traits: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> ContactPatchIn:
        _no_nulls(self, nullable=("account",))
        return self


# --- subscriptions and touchpoints ------------------------------------------


class SubscriptionOut(Schema):
    id: int
    account: AccountRef
    plan: str
    mrr_minor: int = Field(description="Monthly recurring revenue in integer minor units.")
    currency: str
    seats: int
    starts_on: date
    renews_on: date | None
    auto_renew: bool
    status: SubscriptionStatus
    created_at: datetime
    updated_at: datetime


class SubscriptionCreateIn(StrictIn):
    plan: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    starts_on: date
    renews_on: date | None = Field(default=None, description="Renewal or end date.")
    mrr_minor: WholeNumber = 0
    currency: str = Field(default="USD", description="ISO 4217 code, e.g. CNY.")
    seats: WholeNumber = 0
    auto_renew: bool = True
    status: SubscriptionStatus = SubscriptionStatus.ACTIVE


class SubscriptionPatchIn(StrictIn):
    """Only the fields present are changed; ``renews_on`` accepts null."""

    plan: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
        | None
    ) = None
    starts_on: date | None = None
    renews_on: date | None = None
    mrr_minor: WholeNumber | None = None
    currency: str | None = None
    seats: WholeNumber | None = None
    auto_renew: bool | None = None
    status: SubscriptionStatus | None = None

    @model_validator(mode="after")
    def _no_null_for_required_fields(self) -> SubscriptionPatchIn:
        _no_nulls(self, nullable=("renews_on",))
        return self


class TouchpointOut(Schema):
    id: int
    account: int
    contact: ContactRef | None
    author: UserRef | None
    kind: TouchpointKind
    subject: str
    body: str
    happened_at: datetime
    created_at: datetime

    @staticmethod
    def resolve_account(obj: Touchpoint) -> int:
        return obj.account_id


class TouchpointCreateIn(StrictIn):
    kind: TouchpointKind = TouchpointKind.NOTE
    subject: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)] = ""
    body: str = ""
    happened_at: datetime | None = Field(default=None, description="With a time zone; default now.")
    contact: int | None = Field(default=None, description="Contact id (of this account).")
