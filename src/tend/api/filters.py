"""Query-string filters for list endpoints.

Unknown query parameters are refused (422) like unknown body fields: a misspelt
filter ("?stauts=open") would otherwise return every ticket and look like success.
List filters take repeated parameters or commas: ``?status=open&status=pending`` or
``?status=open,pending``.
"""

from __future__ import annotations

from typing import Any, Literal

from django.http import HttpRequest
from ninja.errors import ValidationError as NinjaValidationError
from pydantic import BaseModel, Field, field_validator

from tend.api.pagination import PageParams
from tend.core.models import User
from tend.desk.models import Priority, Status, TicketType
from tend.desk.selectors import SORTS

TicketSort = Literal[
    "-updated_at",
    "updated_at",
    "-created_at",
    "created_at",
    "-priority",
    "priority",
    "sla_due",
    "-number",
    "number",
]
assert set(TicketSort.__args__) == set(SORTS)  # type: ignore[attr-defined]


def reject_unknown_params(request: HttpRequest, schema: type[BaseModel]) -> None:
    unknown = sorted(set(request.GET) - set(schema.model_fields))
    if unknown:
        raise NinjaValidationError(
            [
                {"type": "extra_forbidden", "loc": ["query", n], "msg": "Unknown query parameter"}
                for n in unknown
            ]
        )


class TicketFilters(PageParams):
    q: str | None = Field(default=None, description="Words to search for.")
    status: list[Status] = []
    priority: list[Priority] = []
    type: list[TicketType] = []
    assignee: list[str] = Field(default=[], description='User ids, "me", or "none".')
    team: list[str] = Field(default=[], description='Team ids, or "none".')
    tag: list[str] = Field(default=[], description="Tag names (any of them).")
    account: list[int] = Field(default=[], description="Account ids.")
    requester: list[int] = Field(default=[], description="Contact ids.")
    sort: TicketSort = "-updated_at"

    @field_validator(
        "status",
        "priority",
        "type",
        "assignee",
        "team",
        "tag",
        "account",
        "requester",
        mode="before",
    )
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        return [part.strip() for v in values for part in str(v).split(",") if part.strip()]

    @field_validator("assignee")
    @classmethod
    def _assignee_ids(cls, values: list[str]) -> list[str]:
        return _ids_or(values, {"me", "none"})

    @field_validator("team")
    @classmethod
    def _team_ids(cls, values: list[str]) -> list[str]:
        return _ids_or(values, {"none"})

    def as_selector_filters(self, user: User) -> dict[str, list[Any]]:
        """The dict tend.desk.selectors.tickets_filtered takes (a saved view's shape)."""
        return {
            "status": list(self.status),
            "priority": list(self.priority),
            "type": list(self.type),
            "assignee": [str(user.pk) if v == "me" else v for v in self.assignee],
            "team": list(self.team),
            "tags": [t.lower() for t in self.tag],
            "account": list(self.account),
            "requester": list(self.requester),
        }


def _ids_or(values: list[str], words: set[str]) -> list[str]:
    for value in values:
        if value not in words and not value.isdigit():
            allowed = " or ".join(f'"{w}"' for w in sorted(words))
            raise ValueError(f"{value!r} is neither an id nor {allowed}")
    return values
