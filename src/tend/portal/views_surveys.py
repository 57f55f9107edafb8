"""Public survey pages (/s/): the answer page an emailed link opens, and the in-product
snippet (/s/embed.js) with its JSON endpoints.

Nobody logs in. The answer page is opened by a signed single-purpose token; the snippet
proves who is signed in to the customer's product with HMAC(in-product secret, userId).
Ids never appear in URLs, every failure looks the same from outside, and everything is
rate-limited per client address.

A one-click score link records the score on GET, as the issue asks. Mail scanners open
links on their own, so such an answer is never final at once: it stays editable for 24
hours and the page shows it selected, with the comment box, so the person's own click
(which comes after the scanner's) is what stays.
"""

from __future__ import annotations

import hashlib
import json
import math
from functools import cache
from pathlib import Path
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from tend.core.ratelimit import client_ip, rate_limit_hit
from tend.surveys.models import Invitation, Response
from tend.surveys.services import (
    EDIT_WINDOW,
    in_app_contact,
    in_app_invitation,
    invitation_dismiss,
    question_text,
    response_editable,
    response_record,
    scale_labels,
    widget_texts,
)
from tend.surveys.tokens import TokenError, invitation_from_token, invitation_token

HOUR = 3600
# Per client address. A person answers a survey in a handful of requests; this leaves
# room for an office behind one address, and none for walking through tokens.
PAGE_REQUESTS_PER_HOUR = 120
# Per token: the page, a score change or two and a comment.
TOKEN_WRITES_PER_HOUR = 30
# The snippet asks on page loads of the customer's product: generous per address,
# tight per user id.
ASK_PER_IP_PER_HOUR = 1200
ASK_PER_USER_PER_HOUR = 120
EMBED_JS = Path(__file__).resolve().parent / "static" / "surveys" / "embed.js"


def _retry_message(retry_after: int) -> str:
    minutes = max(1, math.ceil(retry_after / 60))
    return ngettext(
        "Too many requests. Please try again in %(minutes)d minute.",
        "Too many requests. Please try again in %(minutes)d minutes.",
        minutes,
    ) % {"minutes": minutes}


def _limited(key: str, limit: int) -> int:
    """0 when allowed, else the seconds to wait."""
    hit = rate_limit_hit(key, limit, HOUR)
    return 0 if hit.allowed else hit.retry_after


def _token_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:32]


# --- the answer page ----------------------------------------------------------------------


def _render_error(request: HttpRequest, error: TokenError) -> HttpResponse:
    return render(
        request,
        "portal/surveys/invalid.html",
        {"expired": error.status == 410, "message": error.message},
        status=error.status,
    )


def _too_many(request: HttpRequest, retry_after: int) -> HttpResponse:
    response = render(
        request,
        "portal/surveys/invalid.html",
        {"message": _retry_message(retry_after), "limited": True},
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def _existing(invitation: Invitation) -> Response | None:
    return Response.objects.filter(invitation=invitation).first()


def _render_answer(
    request: HttpRequest,
    invitation: Invitation,
    *,
    selected: int | None = None,
    comment: str | None = None,
    error: str = "",
    status: int = 200,
) -> HttpResponse:
    survey = invitation.survey
    answer = _existing(invitation)
    editable = answer is None or response_editable(answer)
    low, high = scale_labels(survey)
    if selected is None and answer is not None:
        selected = answer.score
    context = {
        "survey": survey,
        "question": question_text(survey),
        "scale": list(range(survey.scale_min, survey.scale_top + 1)),
        "wide": survey.scale_top - survey.scale_min > 6,
        "low_label": low,
        "high_label": high,
        "selected": selected,
        "comment": answer.comment if comment is None and answer is not None else comment or "",
        "answer": answer,
        "editable": editable,
        "editable_until": answer.created_at + EDIT_WINDOW if answer is not None else None,
        "ticket": invitation.ticket,
        "error": error,
    }
    return render(request, "portal/surveys/answer.html", context, status=status)


def _error_text(exc: ValidationError) -> str:
    return " ".join(exc.messages)


@never_cache  # the page shows the person's answer: no shared or back-button caches
@require_http_methods(["GET", "HEAD", "POST"])
def answer(request: HttpRequest, token: str) -> HttpResponse:
    """The page an emailed survey link opens (``?score=N``: the one-click answer)."""
    wait = _limited(f"survey:page:{client_ip(request)}", PAGE_REQUESTS_PER_HOUR)
    if wait:
        return _too_many(request, wait)
    try:
        invitation = invitation_from_token(token)
    except TokenError as exc:
        return _render_error(request, exc)

    if request.method == "HEAD":
        return _render_answer(request, invitation)  # a link checker: look, never record

    score = request.POST.get("score") if request.method == "POST" else request.GET.get("score")
    if score is None:
        if request.method == "POST":
            return _render_answer(
                request,
                invitation,
                comment=request.POST.get("comment", ""),
                error=_("Please choose a score."),
                status=400,
            )
        return _render_answer(request, invitation)

    wait = _limited(f"survey:token:{_token_key(token)}", TOKEN_WRITES_PER_HOUR)
    if wait:
        return _too_many(request, wait)
    comment = request.POST.get("comment", "") if request.method == "POST" else None
    try:
        response_record(invitation=invitation, score=score, comment=comment)
    except ValidationError as exc:
        # Out of range, closed, or past its 24 hours: say so on the page, keep what the
        # person typed, and store nothing.
        return _render_answer(
            request,
            invitation,
            comment=comment,
            error=_error_text(exc),
            status=410 if getattr(exc, "code", "") == "expired" else 400,
        )
    messages.success(
        request,
        _("Thank you! Your answer is saved.")
        if request.method == "POST"
        else _("Thank you! Your answer is saved. You can add a comment below."),
    )
    # Back to the plain link: reloading the page must not answer again.
    return redirect("portal:survey_answer", token=token)


# --- the in-product snippet ---------------------------------------------------------------


def _cors(response: HttpResponse) -> HttpResponse:
    # The snippet runs on the customer's own domain. No cookies are used (the HMAC
    # identifies the person), so any origin may call, without credentials.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
    response["Access-Control-Allow-Headers"] = "Content-Type"
    response["Access-Control-Max-Age"] = "86400"
    response["Cache-Control"] = "no-store"
    return response


def _json(data: dict[str, Any], status: int = 200) -> HttpResponse:
    return _cors(JsonResponse(data, status=status, json_dumps_params={"ensure_ascii": False}))


def _language(request: HttpRequest, value: str) -> str:
    value = (value or "").lower()
    if value.startswith("zh"):
        return "zh-hans"
    if value.startswith("en"):
        return "en"
    return translation.get_language_from_request(request)


def _body(request: HttpRequest) -> dict[str, Any]:
    """JSON whatever the content type: the snippet sends text/plain to spare a preflight."""
    if request.content_type == "application/x-www-form-urlencoded":
        return request.POST.dict()
    try:
        data = json.loads(request.body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


@cache
def _embed_source() -> bytes:
    return EMBED_JS.read_bytes()


@require_http_methods(["GET", "HEAD"])
def embed_js(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(_embed_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response


@csrf_exempt
@require_http_methods(["GET", "OPTIONS"])
def in_app_ask(request: HttpRequest) -> HttpResponse:
    """``?user_id=&user_hash=&lang=`` → ``{"ask": false}`` or the question to show.

    Every refusal (snippet off, wrong hash, unknown user, throttled) is the same
    ``{"ask": false}``: nothing here tells a caller which user ids exist."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    user_id = request.GET.get("user_id", "")[:100]
    wait = _limited(f"survey:ask:ip:{client_ip(request)}", ASK_PER_IP_PER_HOUR) or _limited(
        f"survey:ask:user:{user_id}", ASK_PER_USER_PER_HOUR
    )
    if wait:
        response = _json({"ask": False, "detail": _retry_message(wait)}, status=429)
        response["Retry-After"] = str(wait)
        return response
    contact = in_app_contact(user_id=user_id, user_hash=request.GET.get("user_hash", "")[:128])
    invitation = in_app_invitation(contact=contact) if contact is not None else None
    if invitation is None:
        return _json({"ask": False})
    survey = invitation.survey
    with translation.override(_language(request, request.GET.get("lang", ""))):
        return _json(
            {
                "ask": True,
                "token": invitation_token(invitation),
                "type": survey.kind,
                "question": question_text(survey),
                "scale_min": survey.scale_min,
                "scale_max": survey.scale_top,
                "labels": widget_texts(survey),
            }
        )


def _in_app_invitation(request: HttpRequest, data: dict[str, Any]) -> Invitation | HttpResponse:
    wait = _limited(f"survey:page:{client_ip(request)}", PAGE_REQUESTS_PER_HOUR)
    if wait:
        return _json({"detail": _retry_message(wait)}, status=429)
    token = str(data.get("token", ""))[:500]
    try:
        invitation = invitation_from_token(token)
    except TokenError as exc:
        return _json({"detail": str(exc.message)}, status=exc.status)
    wait = _limited(f"survey:token:{_token_key(token)}", TOKEN_WRITES_PER_HOUR)
    if wait:
        return _json({"detail": _retry_message(wait)}, status=429)
    return invitation


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def in_app_answer(request: HttpRequest) -> HttpResponse:
    """``{"token", "score", "comment"?}`` → ``{"ok": true, "editable_until"}``; the
    first click records the score, a comment sent after it is added to the same answer."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    data = _body(request)
    with translation.override(_language(request, str(data.get("lang", "")))):
        found = _in_app_invitation(request, data)
        if isinstance(found, HttpResponse):
            return found
        comment = data.get("comment")
        try:
            response = response_record(
                invitation=found,
                score=data.get("score"),
                comment=None if comment is None else str(comment),
            )
        except ValidationError as exc:
            status = 410 if getattr(exc, "code", "") == "expired" else 422
            return _json({"detail": _error_text(exc)}, status=status)
    return _json({"ok": True, "editable_until": (response.created_at + EDIT_WINDOW).isoformat()})


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def in_app_dismiss(request: HttpRequest) -> HttpResponse:
    """The person closed the question: do not show it again (it still counts as asked)."""
    if request.method == "OPTIONS":
        return _cors(HttpResponse(status=204))
    found = _in_app_invitation(request, _body(request))
    if isinstance(found, HttpResponse):
        return found
    invitation_dismiss(invitation=found, now=timezone.now())
    return _json({"ok": True})
