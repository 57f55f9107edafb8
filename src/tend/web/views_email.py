"""An emailed comment's original message: a readable page and the raw .eml download.

Whoever can see the ticket can see its mail; nobody else learns that it exists (404).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from tend.core.models import User
from tend.desk.models import Comment, Ticket
from tend.desk.selectors import ticket_for_user
from tend.mail.models import InboundMessage
from tend.mail.originals import inbound_for_comment, inbound_raw, original_message


def _inbound_or_404(request: HttpRequest, number: int, comment_id: int) -> InboundMessage:
    user = request.user
    assert isinstance(user, User)  # login_required guarantees it
    try:
        ticket = ticket_for_user(user, number=number)
    except Ticket.DoesNotExist:
        raise Http404(_("No such ticket.")) from None
    comment = get_object_or_404(Comment, pk=comment_id, ticket=ticket)
    inbound = inbound_for_comment(comment)
    if inbound is None:
        raise Http404(_("This comment did not arrive by email."))
    return inbound


@login_required
@require_GET
def comment_original(request: HttpRequest, number: int, comment_id: int) -> HttpResponse:
    inbound = _inbound_or_404(request, number, comment_id)
    ctx = {
        "number": number,
        "comment_id": comment_id,
        "original": original_message(inbound),
    }
    response = render(request, "web/ticket/original.html", ctx)
    # The sanitised HTML may still point at remote images; do not let them call home.
    response["Content-Security-Policy"] = "img-src 'self' data:"
    return response


@login_required
@require_GET
def comment_original_raw(request: HttpRequest, number: int, comment_id: int) -> HttpResponse:
    inbound = _inbound_or_404(request, number, comment_id)
    try:
        raw = inbound_raw(inbound)
    except OSError:
        raise Http404(_("The file is missing.")) from None
    # message/rfc822 would make some browsers render it; it is a download, always.
    response = HttpResponse(raw, content_type="application/octet-stream")
    response["Content-Disposition"] = (
        f'attachment; filename="ticket-{number}-message-{inbound.pk}.eml"'
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


urlpatterns = [
    path(
        "tickets/<int:number>/comments/<int:comment_id>/original/",
        comment_original,
        name="comment_original",
    ),
    path(
        "tickets/<int:number>/comments/<int:comment_id>/original.eml",
        comment_original_raw,
        name="comment_original_raw",
    ),
]
