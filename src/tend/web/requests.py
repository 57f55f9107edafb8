"""What the staff views share in answering a request: who is asking, the 403 page,
a service's refusal shown on the form that asked for it, and the page that confirms a
deletion."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from tend.core.models import User


def request_user(request: HttpRequest) -> User:
    """The signed-in staff member (the views using this are behind login_required)."""
    user = request.user
    assert isinstance(user, User)
    return user


def forbidden(request: HttpRequest, error: PermissionDenied | None = None) -> HttpResponse:
    """The 403 page, with the refusal's own message when it has one."""
    message = (str(error) if error else "") or _("You do not have permission to do that.")
    return render(request, "web/forbidden.html", {"message": message}, status=403)


def form_errors_add(form: Form, exc: ValidationError, *, non_field: str | None = None) -> None:
    """Put a service's ValidationError on the form: each error on its field when the form
    has one, the rest on ``non_field`` (None: above the form)."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(non_field, exc)


def confirm_delete_page(
    request: HttpRequest,
    form: Form,
    *,
    heading: str,
    explanation: str,
    button: str,
    cancel_url: str,
) -> HttpResponse:
    """The page every deletion asks on (a reason, sometimes the name typed again); 400
    when a POST did not pass."""
    context = {
        "form": form,
        "heading": heading,
        "explanation": explanation,
        "button": button,
        "cancel_url": cancel_url,
    }
    status = 400 if request.method == "POST" else 200
    return render(request, "web/crm/confirm_delete.html", context, status=status)
