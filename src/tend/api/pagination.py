"""limit/offset pagination with the ``{"items": [...], "count": N}`` shape every list shares."""

from __future__ import annotations

from typing import Any

from django.db.models import Model, QuerySet
from pydantic import Field

from tend.api.schemas import StrictIn

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageParams(StrictIn):
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Page size.")
    offset: int = Field(default=0, ge=0, description="How many matching objects to skip.")


def paginate[M: Model](qs: QuerySet[M], params: PageParams) -> dict[str, Any]:
    return {"count": qs.count(), "items": list(qs[params.offset : params.offset + params.limit])}
