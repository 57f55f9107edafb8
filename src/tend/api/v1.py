"""API v1: one NinjaAPI, bearer auth on every operation, one error shape."""

from __future__ import annotations

from ninja import NinjaAPI
from ninja.operation import Operation

from tend.api.auth import BearerToken
from tend.api.endpoints import crm, health, mailboxes, search, tickets, writekeys
from tend.api.errors import install_error_handlers

DESCRIPTION = """
Authenticate with `Authorization: Bearer <token>`; make a token with
`tend createtoken USERNAME`. A token acts as its user, with the same permissions as in
the staff UI.

Every error is `{"detail": ...}`: 401 missing/invalid/revoked token, 403 not allowed
for your role, 404 not found or not visible to you, 409 conflict (stale
`expected_version`, or the ticket is closed), 422 invalid input — unknown fields,
wrong types, or a business rule (for example `"status": "solved"` without a
`solve_reason`). Lists return `{"items": [...], "count": N}` and take `limit`
(default 50, at most 200) and `offset`.
"""


class TendAPI(NinjaAPI):
    def get_openapi_operation_id(self, operation: Operation) -> str:
        # "ticket_list" rather than "tend_api_endpoints_tickets_ticket_list": these
        # names become method names in generated clients.
        return operation.view_func.__name__


api = TendAPI(
    title="Tend API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api-v1",
    auth=BearerToken(),
)
install_error_handlers(api)
api.add_router("", tickets.router)
api.add_router("", crm.router)
api.add_router("", search.router)
api.add_router("", mailboxes.router)
api.add_router("", health.router)
api.add_router("", "tend.api.endpoints.tasks.router")
api.add_router("", "tend.api.endpoints.metrics.router")
api.add_router("", writekeys.router)
api.add_router("", "tend.api.endpoints.articles.router")
api.add_router("", "tend.api.endpoints.surveys.router")
