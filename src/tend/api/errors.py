"""One error shape for the whole API: ``{"detail": ...}`` with the right 4xx code.

| cause                                             | status | detail                       |
|---------------------------------------------------|--------|------------------------------|
| body/query does not match the schema, unknown field | 422  | list of {loc, msg, type}     |
| body is not JSON                                  | 400    | message                      |
| no token / unknown, revoked or inactive token     | 401    | message (+ WWW-Authenticate) |
| role may not do this (e.g. read-only writing)     | 403    | message                      |
| object does not exist or the user may not see it  | 404    | message (no hint which)      |
| wrong HTTP method                                 | 405    | message (+ Allow)            |
| stale ``expected_version`` / ticket is closed     | 409    | message (+ ``changes``)      |
| a business rule says no (e.g. "solved" without a reason) | 422 | message (+ ``errors`` by field) |

Business-rule errors share 422 with schema errors because both mean "well-formed,
but cannot be done as asked"; ``detail`` is a string for the former and a list for
the latter, so clients can tell them apart.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from tend.api.auth import InvalidToken
from tend.desk.models import Comment, TicketEvent
from tend.desk.services import TicketClosedError, TicketConflict

logger = logging.getLogger(__name__)


def error_response(
    api: NinjaAPI, request: HttpRequest, status: int, detail: Any, **extra: Any
) -> HttpResponse:
    return api.create_response(request, {"detail": detail, **extra}, status=status)


def validation_messages(exc: DjangoValidationError) -> tuple[str, dict[str, list[str]]]:
    """A one-line message and the per-field messages of a Django ValidationError."""
    if hasattr(exc, "error_dict"):
        fields = {field: [str(m) for m in msgs] for field, msgs in exc.message_dict.items()}
        flat = [m for msgs in fields.values() for m in msgs]
        return " ".join(flat), fields
    return " ".join(str(m) for m in exc.messages), {}


def change_summary(change: Comment | TicketEvent) -> dict[str, Any]:
    """What someone else did to a ticket since the version a client sent."""
    if isinstance(change, Comment):
        return {
            "kind": "comment",
            "id": change.pk,
            "public": change.public,
            "author": change.author_name,
            "created_at": change.created_at.isoformat(),
        }
    author = ""
    if change.actor is not None:
        author = change.actor.display_name
    elif change.actor_contact is not None:
        author = change.actor_contact.display_name
    return {
        "kind": change.kind,
        "old": change.old_value,
        "new": change.new_value,
        "author": author,
        "created_at": change.created_at.isoformat(),
    }


def install_error_handlers(api: NinjaAPI) -> None:
    @api.exception_handler(NinjaValidationError)
    def schema_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        errors = []
        for error in exc.errors:
            loc = list(error.get("loc", ()))
            # Every body parameter is named "payload"; the name is ours, not the client's.
            if loc[:2] == ["body", "payload"]:
                loc = ["body", *loc[2:]]
            errors.append({**error, "loc": loc})
        return error_response(api, request, 422, errors)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        if isinstance(exc, InvalidToken):
            detail, challenge = exc.message, 'Bearer error="invalid_token"'
        else:
            detail = _('Authentication required: send the header "Authorization: Bearer <token>".')
            challenge = "Bearer"
        response = error_response(api, request, 401, detail)
        response["WWW-Authenticate"] = challenge
        return response

    @api.exception_handler(HttpError)
    def http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
        return error_response(api, request, exc.status_code, str(exc))

    @api.exception_handler(Http404)
    @api.exception_handler(ObjectDoesNotExist)
    def not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
        return error_response(api, request, 404, _("Not found."))

    @api.exception_handler(PermissionDenied)
    def forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
        detail = str(exc) or _("You do not have permission to do that.")
        return error_response(api, request, 403, detail)

    @api.exception_handler(DjangoValidationError)
    def rule_broken(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        detail, fields = validation_messages(exc)
        extra = {"errors": fields} if fields else {}
        return error_response(api, request, 422, detail, **extra)

    @api.exception_handler(TicketClosedError)
    def closed(request: HttpRequest, exc: TicketClosedError) -> HttpResponse:
        detail, _fields = validation_messages(exc)
        return error_response(api, request, 409, detail)

    @api.exception_handler(TicketConflict)
    def conflict(request: HttpRequest, exc: TicketConflict) -> HttpResponse:
        return error_response(
            api,
            request,
            409,
            str(exc),
            version=exc.ticket.version,
            changes=[change_summary(change) for change in exc.changes],
        )

    @api.exception_handler(Exception)
    def server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.exception("API error on %s %s", request.method, request.path, exc_info=exc)
        return error_response(api, request, 500, _("Internal server error."))


def field_error(field: str, message: str) -> DjangoValidationError:
    """A 422 about one input field, shaped like the services' own errors."""
    return DjangoValidationError({field: [message]})
