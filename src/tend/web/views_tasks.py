""" "My tasks" (by due date: overdue, today, upcoming, snoozed), snooze and close forms,
a manual task, and the risk thresholds page. Views parse and call success services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tend.core.models import User
from tend.crm.selectors import accounts_visible_to
from tend.success import services
from tend.success.selectors import my_tasks_grouped, task_owners, tasks_visible_to
from tend.web.forms_tasks import CloseForm, RiskSettingsForm, SnoozeForm, TaskForm
from tend.web.requests import request_user


def _require(user: User, perm: str) -> None:
    if not (user.is_active and user.has_perm(perm)):
        raise PermissionDenied(_("You do not have permission to do that."))


def _back(request: HttpRequest) -> HttpResponse:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("web:tasks")


def _errors(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


@login_required
@require_GET
def task_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require(user, "success.view_task")
    groups = my_tasks_grouped(user)
    sections = [
        ("overdue", _("Overdue"), groups.overdue),
        ("today", _("Due today"), groups.today),
        ("upcoming", _("Upcoming"), groups.upcoming),
        ("snoozed", _("Snoozed"), groups.snoozed),
    ]
    ctx = {
        "sections": sections,
        "open_count": groups.open_count,
        "can_change": user.has_perm("success.change_task"),
        "can_add": user.has_perm("success.add_task"),
        "can_settings": user.has_perm("success.view_risksettings"),
        "snooze_form": SnoozeForm(),
        "close_form": CloseForm(),
        "here": request.get_full_path(),
    }
    return render(request, "web/tasks/list.html", ctx)


@login_required
@require_POST
def task_snooze(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    task = get_object_or_404(tasks_visible_to(user), pk=pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a day to snooze until."))
        return _back(request)
    try:
        services.task_snooze(actor=user, task=task, until=form.cleaned_data["until"])
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Snoozed “%(title)s”.") % {"title": task.title})
    return _back(request)


@login_required
@require_POST
def task_close(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    task = get_object_or_404(tasks_visible_to(user), pk=pk)
    form = CloseForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose an outcome."))
        return _back(request)
    try:
        services.task_close(
            actor=user,
            task=task,
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("Closed “%(title)s”.") % {"title": task.title})
    return _back(request)


@login_required
@require_POST
def task_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    task = get_object_or_404(tasks_visible_to(user), pk=pk)
    try:
        services.task_reopen(actor=user, task=task)
    except ValidationError as exc:
        messages.error(request, _errors(exc))
    return _back(request)


@login_required
@require_http_methods(["GET", "POST"])
def task_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require(user, "success.add_task")
    accounts = accounts_visible_to(user)
    initial = {}
    if request.GET.get("account", "").isdigit():
        initial["account"] = int(request.GET["account"])
    form = TaskForm(request.POST or None, initial=initial, accounts=accounts, owners=task_owners())
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            task = services.task_create(
                actor=user,
                account=data["account"],
                title=data["title"],
                reason=data["reason"],
                due_on=data["due_on"],
                owner=data["owner"],
            )
        except ValidationError as exc:
            errors = [str(m) for m in exc.messages]
        else:
            messages.success(request, _("Task “%(title)s” created.") % {"title": task.title})
            return redirect("web:tasks")
    status = 400 if request.method == "POST" else 200
    return render(request, "web/tasks/form.html", {"form": form, "errors": errors}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def risk_settings(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    _require(user, "success.view_risksettings")
    can_change = user.has_perm("success.change_risksettings")
    row = services.risk_settings_get()
    form = RiskSettingsForm(request.POST or None, instance=row)
    errors: list[str] = []
    if request.method == "POST":
        _require(user, "success.change_risksettings")
        if form.is_valid():
            changes = {name: form.cleaned_data[name] for name in form.fields}
            try:
                services.risk_settings_update(actor=user, **changes)
            except ValidationError as exc:
                errors = [str(m) for m in exc.messages]
            else:
                messages.success(request, _("Risk settings saved."))
                return redirect(reverse("web:risk_settings"))
    if not can_change:
        for field in form.fields.values():
            field.disabled = True
    status = 400 if request.method == "POST" else 200
    ctx = {"form": form, "errors": errors, "can_change": can_change}
    return render(request, "web/tasks/settings.html", ctx, status=status)


urlpatterns = [
    path("tasks/", task_list, name="tasks"),
    path("tasks/new/", task_new, name="task_new"),
    path("tasks/<int:pk>/snooze/", task_snooze, name="task_snooze"),
    path("tasks/<int:pk>/close/", task_close, name="task_close"),
    path("tasks/<int:pk>/reopen/", task_reopen, name="task_reopen"),
    path("tasks/settings/", risk_settings, name="risk_settings"),
]
