"""The macros page: list the user's personal and the shared macros, create and edit them.

Routes are mounted by views_ticket.urlpatterns (macros belong to the composer).
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tend.core.models import User
from tend.desk import services
from tend.desk.models import Macro
from tend.desk.selectors import macros_for
from tend.web.forms_ticket import MacroForm


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def can_share_macros(user: User) -> bool:
    """Managers and Admins hold this permission; the service checks it again."""
    return user.has_perm("desk.manage_shared_macros")


def _can_edit(user: User, macro: Macro) -> bool:
    if macro.owner_id is None:
        return can_share_macros(user)
    return macro.owner_id == user.pk


@login_required
@require_GET
def macro_list(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    macros = list(macros_for(user).select_related("owner"))
    ctx = {
        "personal": [m for m in macros if m.owner_id is not None],
        "shared": [m for m in macros if m.owner_id is None],
        "can_share": can_share_macros(user),
        "can_add": user.has_perm("desk.add_macro"),
    }
    return render(request, "web/ticket/macros/list.html", ctx)


@login_required
@require_http_methods(["GET", "POST"])
def macro_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("desk.add_macro"):
        raise PermissionDenied(_("You do not have permission to do that."))
    form = MacroForm(request.POST or None, can_share=can_share_macros(user))
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            services.macro_create(
                actor=user,
                name=form.cleaned_data["name"],
                body=form.cleaned_data["body"],
                actions=form.actions(),
                shared=bool(form.cleaned_data.get("shared")),
            )
        except ValidationError as exc:
            errors = [str(m) for m in exc.messages]
        else:
            return redirect("web:macros")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/ticket/macros/form.html",
        {"form": form, "errors": errors, "macro": None},
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def macro_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    macro = get_object_or_404(macros_for(user), pk=pk)
    if not _can_edit(user, macro):
        raise PermissionDenied(_("You cannot change this macro."))
    # Whether a macro is shared is decided when it is made; editing keeps it.
    form = MacroForm(request.POST or None, initial=MacroForm.initial_for(macro), can_share=False)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        try:
            services.macro_update(
                actor=user,
                macro=macro,
                name=form.cleaned_data["name"],
                body=form.cleaned_data["body"],
                actions=form.actions(),
            )
        except ValidationError as exc:
            errors = [str(m) for m in exc.messages]
        else:
            return redirect("web:macros")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/ticket/macros/form.html",
        {"form": form, "errors": errors, "macro": macro},
        status=status,
    )


urlpatterns = [
    path("macros/", macro_list, name="macros"),
    path("macros/new/", macro_new, name="macro_new"),
    path("macros/<int:pk>/", macro_edit, name="macro_edit"),
]
