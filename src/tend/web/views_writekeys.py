"""Settings → Write keys (Admins): the keys the product's tracking code sends events with.

A new key is shown once, in the answer to the form that made it; it is never stored in
clear, put in a message or a session. The services check the permission again.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tend.usage.services import writekey_create, writekey_revoke, writekeys_for_admin
from tend.web.requests import forbidden, request_user


@never_cache  # the page that shows a new key must not be kept by any cache
@login_required
@require_http_methods(["GET", "POST"])
def writekey_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    try:
        keys = writekeys_for_admin(user)
    except PermissionDenied:
        return forbidden(request)
    created, plaintext, error, status = None, "", "", 200
    if request.method == "POST":
        try:
            created, plaintext = writekey_create(actor=user, name=request.POST.get("name", ""))
        except PermissionDenied:
            return forbidden(request)
        except ValidationError as exc:
            error, status = " ".join(exc.messages), 400
    ingest_url = request.build_absolute_uri("/ingest")
    ctx = {
        "keys": list(keys),
        "created": created,
        "plaintext": plaintext,
        "error": error,
        "ingest_url": ingest_url,
        "can_add": user.has_perm("usage.add_writekey"),
        "can_revoke": user.has_perm("usage.change_writekey"),
    }
    return render(request, "web/writekeys.html", ctx, status=status)


@login_required
@require_POST
def writekey_revoke_view(request: HttpRequest, writekey_id: int) -> HttpResponse:
    user = request_user(request)
    try:
        key = get_object_or_404(writekeys_for_admin(user), pk=writekey_id)
        writekey_revoke(actor=user, key=key)
    except PermissionDenied:
        return forbidden(request)
    messages.success(request, _("Write key “%(name)s” revoked.") % {"name": key.name})
    return redirect("web:writekeys")


urlpatterns = [
    path("settings/writekeys/", writekey_list, name="writekeys"),
    path(
        "settings/writekeys/<int:writekey_id>/revoke/",
        writekey_revoke_view,
        name="writekey_revoke",
    ),
]
