"""Customer-facing pages: the public support form and the solution-confirmation link.

Nobody logs in here. Views parse, call a desk service and answer; who may do what is
carried by signed values (the thanks reference, the confirmation token) instead.
"""

from __future__ import annotations

import math
import secrets

from django.conf import settings
from django.contrib import messages
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from tend.core.ratelimit import client_ip, rate_limit_hit
from tend.desk.models import Channel, Status, Ticket
from tend.desk.services import (
    comment_add_customer,
    confirmation_token_ticket,
    ticket_confirm_solution,
    ticket_create,
)
from tend.portal.forms import (
    StillNeedHelpForm,
    SupportForm,
    Verdict,
    form_started_token,
    submission_verdict,
)
from tend.portal.views_help import suggestions_submitted

HOUR = 3600
THANKS_SALT = "tend.portal.support-thanks"
# Long enough to come back to the page from the browser history, short enough
# that an old reference is not a permanent handle.
THANKS_MAX_AGE = 30 * 24 * HOUR
# A confirmation link may post "still need help" a few times, not flood the ticket.
CONFIRM_POSTS_PER_HOUR = 10


def thanks_ref_make(number: int) -> str:
    """A reference for the thanks page that names one ticket and cannot be guessed."""
    return signing.dumps({"n": number}, salt=THANKS_SALT, compress=True)


def thanks_ref_number(ref: str) -> int:
    """The ticket number a thanks reference names; raises signing.BadSignature."""
    payload = signing.loads(ref, salt=THANKS_SALT, max_age=THANKS_MAX_AGE)
    try:
        return int(payload["n"])
    except (KeyError, TypeError, ValueError) as exc:
        raise signing.BadSignature("malformed reference") from exc


def _render_support(
    request: HttpRequest, form: SupportForm, *, status: int = 200, alert: str = ""
) -> HttpResponse:
    context = {"form": form, "started_token": form_started_token(), "alert": alert}
    return render(request, "portal/support.html", context, status=status)


def _retry_message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return ngettext(
        "You have sent too many requests. Please try again in %(minutes)d minute.",
        "You have sent too many requests. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


@require_http_methods(["GET", "POST"])
def support(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render_support(request, SupportForm())

    verdict = submission_verdict(request.POST)
    if verdict is Verdict.BOT:
        # Look exactly like success so the script has nothing to learn from.
        return redirect(
            "portal:support_thanks", ref=thanks_ref_make(1000 + secrets.randbelow(9000))
        )

    form = SupportForm(request.POST, request.FILES)
    if verdict is Verdict.STALE:
        form.is_valid()
        return _render_support(
            request, form, alert=_("This form has expired. Please check it and send it again.")
        )
    if not form.is_valid():
        return _render_support(request, form)

    data = form.cleaned_data
    for key, limit in (
        (f"support:ip:{client_ip(request)}", settings.TEND_SUPPORT_RATE_PER_IP),
        (f"support:email:{data['email'].lower()}", settings.TEND_SUPPORT_RATE_PER_EMAIL),
    ):
        hit = rate_limit_hit(key, limit, HOUR)
        if not hit.allowed:
            response = _render_support(
                request, form, status=429, alert=_retry_message(hit.retry_after)
            )
            response["Retry-After"] = str(hit.retry_after)
            return response

    try:
        ticket = ticket_create(
            actor=None,
            subject=data["subject"],
            description=data["description"],
            requester_email=data["email"],
            requester_name=data["name"],
            channel=Channel.WEB,
            attachments=[data["attachment"]] if data["attachment"] else [],
        )
    except ValidationError as exc:
        _add_service_errors(form, exc)
        return _render_support(request, form)
    # Articles this visitor opened from the suggestions did not answer them after all.
    suggestions_submitted(request)
    return redirect("portal:support_thanks", ref=thanks_ref_make(ticket.number))


def _add_service_errors(form: SupportForm, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@require_http_methods(["GET"])
def support_thanks(request: HttpRequest, ref: str) -> HttpResponse:
    try:
        number = thanks_ref_number(ref)
    except signing.BadSignature as exc:
        raise Http404(_("This page does not exist.")) from exc
    return render(request, "portal/support_thanks.html", {"number": number})


@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """The link in the "is your problem solved?" email.

    GET only shows the question: mail scanners open links on their own, and that
    must never solve or reopen a ticket.
    """
    try:
        ticket = confirmation_token_ticket(token)
    except (ValidationError, Ticket.DoesNotExist):
        return render(request, "portal/confirm_invalid.html", status=400)

    form = StillNeedHelpForm()
    if request.method == "POST":
        hit = rate_limit_hit(f"confirm:{ticket.pk}", CONFIRM_POSTS_PER_HOUR, HOUR)
        if not hit.allowed:
            messages.error(request, _retry_message(hit.retry_after))
            return _render_confirm(request, ticket, form, status=429)
        answer = request.POST.get("answer")
        if answer == "yes":
            if ticket.status == Status.SOLVED and ticket.solve_confirmed_at is not None:
                # A second click or a resent form: already recorded, say so again.
                messages.success(
                    request,
                    _("Thank you! Ticket #%(number)d is now marked as solved.")
                    % {"number": ticket.number},
                )
                return redirect("portal:confirm", token=token)
            try:
                ticket_confirm_solution(ticket=ticket)
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
            else:
                messages.success(
                    request,
                    _("Thank you! Ticket #%(number)d is now marked as solved.")
                    % {"number": ticket.number},
                )
            return redirect("portal:confirm", token=token)
        if answer == "no":
            form = StillNeedHelpForm(request.POST)
            if form.is_valid():
                comment = comment_add_customer(
                    ticket=ticket,
                    contact=ticket.requester,
                    body=form.cleaned_data["body"],
                    channel=Channel.WEB,
                )
                messages.success(
                    request,
                    _(
                        "Thank you. Your message was added to ticket #%(number)d "
                        "and our team will get back to you."
                    )
                    % {"number": comment.ticket.number},
                )
                return redirect("portal:confirm", token=token)
            return _render_confirm(request, ticket, form)
        messages.error(request, _("Please choose one of the answers below."))
        return redirect("portal:confirm", token=token)
    return _render_confirm(request, ticket, form)


def _render_confirm(
    request: HttpRequest, ticket: Ticket, form: StillNeedHelpForm, *, status: int = 200
) -> HttpResponse:
    context = {
        "ticket": ticket,
        "form": form,
        # Solved and confirmed, or no longer asked (reopened since): no "yes" button.
        "solved": ticket.status == Status.SOLVED and ticket.solve_confirmed_at is not None,
        "asked": ticket.confirmation_requested_at is not None
        and ticket.status in (Status.PENDING, Status.SOLVED),
        "closed": ticket.status == Status.CLOSED,
    }
    return render(request, "portal/confirm.html", context, status=status)
