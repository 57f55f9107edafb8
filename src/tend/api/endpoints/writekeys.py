"""Write keys for the Segment-compatible tracking API (Admins): list, create, revoke.

The key itself is returned once, by the create call (``key``); afterwards only its
prefix is shown. Revoking stops it within seconds on every web process.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja import Status as WithStatus
from pydantic import Field

from tend.api.auth import request_user
from tend.api.filters import reject_unknown_params
from tend.api.pagination import PageParams, paginate
from tend.api.schemas import Error, Page, StrictIn
from tend.usage.models import WriteKey
from tend.usage.services import writekey_create, writekey_revoke, writekeys_for_admin

router = Router(tags=["write keys"])


class WriteKeyOut(Schema):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the key, to tell keys apart.")
    created_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None = Field(description="Updated at most once a minute.")


class WriteKeyCreated(WriteKeyOut):
    key: str = Field(description="The write key. Shown only in this answer; store it now.")


class WriteKeyIn(StrictIn):
    name: str = Field(max_length=100)


@router.get("/writekeys", response={200: Page[WriteKeyOut], 403: Error, 422: Error})
def writekey_list(request: HttpRequest, params: Query[PageParams]) -> dict[str, Any]:
    reject_unknown_params(request, PageParams)
    return paginate(writekeys_for_admin(request_user(request)), params)


@router.post("/writekeys", response={201: WriteKeyCreated, 403: Error, 422: Error})
def writekey_post(request: HttpRequest, payload: WriteKeyIn) -> WithStatus[dict[str, Any]]:
    key, plaintext = writekey_create(actor=request_user(request), name=payload.name)
    out = WriteKeyOut.from_orm(key).model_dump()
    return WithStatus(201, {**out, "key": plaintext})


@router.post("/writekeys/{writekey_id}/revoke", response={200: WriteKeyOut, 403: Error, 404: Error})
def writekey_revoke_post(request: HttpRequest, writekey_id: int) -> WriteKey:
    user = request_user(request)
    key = writekeys_for_admin(user).get(pk=writekey_id)
    return writekey_revoke(actor=user, key=key)
