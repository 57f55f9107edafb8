"""Settings → Mailboxes (Admins): list, add, edit and remove the addresses Tend serves.

The services check the permission again; the checks here only decide what to show.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tend.mail.mailboxes import (
    mailbox_create,
    mailbox_delete,
    mailbox_update,
    mailboxes_for_admin,
)
from tend.web.forms_mailboxes import MailboxForm
from tend.web.requests import forbidden, form_errors_add, request_user


@login_required
@require_GET
def mailbox_list(request: HttpRequest) -> HttpResponse:
    try:
        mailboxes = list(mailboxes_for_admin(request_user(request)))
    except PermissionDenied as error:
        return forbidden(request, error)
    return render(request, "web/mailboxes_list.html", {"mailboxes": mailboxes})


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("mail.add_mailbox"):
        return forbidden(request)
    form = MailboxForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            mailbox = mailbox_create(actor=user, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(
                request, _("Mailbox %(address)s added.") % {"address": mailbox.address}
            )
            return redirect("web:mailboxes")
    status = 400 if request.method == "POST" else 200
    return render(request, "web/mailbox_form.html", {"form": form, "mailbox": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def mailbox_edit(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    user = request_user(request)
    try:
        mailbox = get_object_or_404(mailboxes_for_admin(user), pk=mailbox_id)
    except PermissionDenied as error:
        return forbidden(request, error)
    if request.method == "POST" and not user.has_perm("mail.change_mailbox"):
        return forbidden(request)
    form = MailboxForm(request.POST or None, mailbox=mailbox)
    if request.method == "POST" and form.is_valid():
        try:
            mailbox_update(actor=user, mailbox=mailbox, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(
                request, _("Mailbox %(address)s saved.") % {"address": mailbox.address}
            )
            return redirect("web:mailboxes")
    status = 400 if request.method == "POST" else 200
    ctx = {"form": form, "mailbox": mailbox, "can_delete": user.has_perm("mail.delete_mailbox")}
    return render(request, "web/mailbox_form.html", ctx, status=status)


@login_required
@require_POST
def mailbox_remove(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    user = request_user(request)
    try:
        mailbox = get_object_or_404(mailboxes_for_admin(user), pk=mailbox_id)
        mailbox_delete(actor=user, mailbox=mailbox)
    except PermissionDenied as error:
        return forbidden(request, error)
    messages.success(request, _("Mailbox %(address)s removed.") % {"address": mailbox.address})
    return redirect("web:mailboxes")


urlpatterns = [
    path("settings/mailboxes/", mailbox_list, name="mailboxes"),
    path("settings/mailboxes/new/", mailbox_new, name="mailbox_new"),
    path("settings/mailboxes/<int:mailbox_id>/", mailbox_edit, name="mailbox_edit"),
    path("settings/mailboxes/<int:mailbox_id>/delete/", mailbox_remove, name="mailbox_delete"),
]
