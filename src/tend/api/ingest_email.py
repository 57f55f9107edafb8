"""POST /ingest/email: a raw RFC 5322 message from an MTA or forwarder.

The body is the message itself (any content type; `message/rfc822` is customary),
authenticated with an API token as `Authorization: Bearer <token>`. The raw bytes are
stored before anything else, so a message is never lost to a parsing bug, and the
answer is 202 {"id", "status", "ticket"} at once: a worker processes the message
(idempotently, so a forwarder that retries makes no second ticket). The envelope
recipient, when the MTA passes it as `?recipient=support@example.com` (repeatable),
picks the mailbox; otherwise the Delivered-To/To/Cc headers do.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from tend.api.services import token_authenticate
from tend.mail.models import Via
from tend.mail.services import inbound_store

# Big enough for a message with a few attachments; the desk's attachment cap applies
# to each file inside it.
MAX_MESSAGE_BYTES = 40 * 1024 * 1024


@csrf_exempt  # token-authenticated machine endpoint; no browser session involved
@require_POST
def ingest_email(request: HttpRequest) -> JsonResponse:
    header = request.headers.get("Authorization", "")
    user = (
        token_authenticate(header.removeprefix("Bearer ").strip())
        if header.startswith("Bearer ")
        else None
    )
    if user is None:
        response = JsonResponse({"detail": _("A valid API token is required.")}, status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    if not user.has_perm("desk.add_ticket"):
        raise PermissionDenied
    length = int(request.headers.get("Content-Length") or 0)
    if length > MAX_MESSAGE_BYTES:
        return JsonResponse(
            {
                "detail": _("The message is larger than %(mb)s MB.")
                % {"mb": MAX_MESSAGE_BYTES // 2**20}
            },
            status=413,
        )
    raw = request.read(MAX_MESSAGE_BYTES + 1)
    if not raw.strip():
        return JsonResponse(
            {"detail": _("The request body must be the raw email message.")}, status=400
        )
    if len(raw) > MAX_MESSAGE_BYTES:
        return JsonResponse(
            {
                "detail": _("The message is larger than %(mb)s MB.")
                % {"mb": MAX_MESSAGE_BYTES // 2**20}
            },
            status=413,
        )
    recipients = request.GET.getlist("recipient")
    # Stored and committed first: whatever happens next, the message is kept. The
    # answer does not wait for processing (a worker does that), so an MTA's delivery
    # takes milliseconds and a slow or broken message cannot time it out into a retry.
    with transaction.atomic():
        inbound = inbound_store(raw=raw, via=Via.HTTP, recipients=recipients)
    return JsonResponse(
        {
            "id": inbound.pk,
            "status": inbound.status,
            # Known only when the same message was posted before and processed.
            "ticket": inbound.ticket.number if inbound.ticket_id and inbound.ticket else None,
        },
        status=202,
    )
