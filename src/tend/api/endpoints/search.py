"""The staff search box over tickets, contacts and accounts, as the UI has it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from django.db.models import prefetch_related_objects
from django.http import HttpRequest
from ninja import Query, Router, Schema
from pydantic import Field, StringConstraints, field_validator

from tend.api.auth import request_user
from tend.api.filters import reject_unknown_params
from tend.api.schemas import AccountOut, ContactOut, Error, StrictIn, TicketOut
from tend.desk.models import Status
from tend.desk.search import SearchResults, search_everything

router = Router(tags=["search"])

Kind = Literal["ticket", "contact", "account"]


class SearchParams(StrictIn):
    q: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
    status: list[Status] = Field(default=[], description="Only tickets in these statuses.")
    kind: list[Kind] = Field(default=[], description="Only these kinds (default: all).")
    limit: int = Field(default=20, ge=1, le=100, description="Results per kind.")

    @field_validator("status", "kind", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        return [part.strip() for v in values for part in str(v).split(",") if part.strip()]


class TicketHits(Schema):
    items: list[TicketOut]
    count: int
    count_is_estimate: bool = Field(
        description='true when the word is so common that count is a floor ("5,000+") and '
        "items are the newest matches rather than the best."
    )


class ContactHits(Schema):
    items: list[ContactOut]
    count: int
    count_is_estimate: bool


class AccountHits(Schema):
    items: list[AccountOut]
    count: int
    count_is_estimate: bool


class SearchOut(Schema):
    tickets: TicketHits | None
    contacts: ContactHits | None
    accounts: AccountHits | None


def _group(results: SearchResults, kind: str, items: list[Any]) -> dict[str, Any] | None:
    page = results.pages.get(kind)
    if page is None:
        return None
    return {"items": items, "count": page.count, "count_is_estimate": page.count_is_estimate}


@router.get("/search", response={200: SearchOut, 422: Error})
def search(request: HttpRequest, params: Query[SearchParams]) -> dict[str, Any]:
    """Best matches first, per kind. A kind you may not see, or did not ask for, is null."""
    reject_unknown_params(request, SearchParams)
    kinds = params.kind or ["ticket", "contact", "account"]
    results = search_everything(
        request_user(request),
        params.q,
        status=[str(s) for s in params.status] or None,
        kinds=kinds,
        limit=params.limit,
    )
    prefetch_related_objects(results.tickets, "tags")
    prefetch_related_objects(results.accounts, "domains")
    return {
        "tickets": _group(results, "ticket", results.tickets),
        "contacts": _group(results, "contact", results.contacts),
        "accounts": _group(results, "account", results.accounts),
    }
