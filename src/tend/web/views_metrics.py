"""Usage metrics: the list (everyone who may see metrics), the definition form (Managers
and Admins) and an account's metric page.

The account page's panel is the partial ``web/metrics/_account_metrics.html``; other
pages include it with ``{% include "web/metrics/_account_metrics.html" with account=account %}``.
The services check permissions again; the checks here only decide what to show.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from tend.crm.selectors import accounts_visible_to
from tend.usage.metrics import events_keep_days, metric_create, metric_update
from tend.usage.models import Metric, MetricKind, MetricRole
from tend.usage.selectors import metric_averages, metrics_visible_to
from tend.web.requests import forbidden, form_errors_add, request_user

WINDOWS = [
    (7, gettext_lazy("7 days")),
    (30, gettext_lazy("30 days")),
    (90, gettext_lazy("90 days")),
]


class MetricForm(forms.Form):
    """Parses the definition; tend.usage.metrics validates and saves it."""

    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    kind = forms.ChoiceField(label=gettext_lazy("Measures"), choices=MetricKind.choices)
    event = forms.CharField(
        label=gettext_lazy("Event"),
        max_length=200,
        required=False,
        help_text=gettext_lazy(
            "The event name as the product sends it, e.g. “Report Viewed”. Leave blank to "
            "count any event as activity (not for counts)."
        ),
    )
    property_name = forms.CharField(
        label=gettext_lazy("Only when property"), max_length=100, required=False
    )
    property_value = forms.CharField(
        label=gettext_lazy("has the value"), max_length=200, required=False
    )
    window_days = forms.TypedChoiceField(
        label=gettext_lazy("Window"), choices=WINDOWS, coerce=int, initial=30
    )
    role = forms.ChoiceField(
        label=gettext_lazy("Role"),
        choices=MetricRole.choices,
        initial=MetricRole.LEADING,
        help_text=gettext_lazy(
            "Leading indicators move first (logins, feature use); outcomes show the result "
            "(seats used, reports delivered)."
        ),
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, data: Any = None, *, metric: Metric | None = None) -> None:
        initial = {name: getattr(metric, name) for name in self.base_fields} if metric else None
        super().__init__(data, initial=initial)
        self.fields["property_name"].help_text = _(
            "A property filter reads raw events, which are kept for %(days)s days; the "
            "window may not be longer, and values cannot look back further than that."
        ) % {"days": events_keep_days()}


@login_required
@require_GET
def metric_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("usage.view_metric"):
        return forbidden(request)
    metrics = list(metrics_visible_to(user).order_by("-is_active", "name"))
    averages = metric_averages(metrics)
    rows = [(metric, averages.get(metric.pk)) for metric in metrics]
    return render(request, "web/metrics/list.html", {"rows": rows})


@login_required
@require_http_methods(["GET", "POST"])
def metric_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("usage.add_metric"):
        return forbidden(request)
    form = MetricForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            metric = metric_create(actor=user, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Metric “%(name)s” added.") % {"name": metric.name})
            return redirect("web:metrics")
    status = 400 if request.method == "POST" else 200
    return render(request, "web/metrics/form.html", {"form": form, "metric": None}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def metric_edit(request: HttpRequest, metric_id: int) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("usage.view_metric"):
        return forbidden(request)
    metric = get_object_or_404(metrics_visible_to(user), pk=metric_id)
    can_change = user.has_perm("usage.change_metric")
    if request.method == "POST" and not can_change:
        return forbidden(request)
    form = MetricForm(request.POST or None, metric=metric)
    if request.method == "POST" and form.is_valid():
        try:
            metric_update(actor=user, metric=metric, **form.cleaned_data)
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Metric “%(name)s” saved.") % {"name": metric.name})
            return redirect("web:metrics")
    status = 400 if request.method == "POST" else 200
    ctx = {"form": form, "metric": metric, "can_change": can_change}
    return render(request, "web/metrics/form.html", ctx, status=status)


@login_required
@require_GET
def account_metrics_page(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    account = get_object_or_404(accounts_visible_to(user), pk=pk)
    if not user.has_perm("usage.view_metric"):
        return forbidden(request)
    return render(request, "web/metrics/account.html", {"account": account})


urlpatterns = [
    path("metrics/", metric_list, name="metrics"),
    path("metrics/new/", metric_new, name="metric_new"),
    path("metrics/<int:metric_id>/", metric_edit, name="metric_edit"),
    path("accounts/<int:pk>/metrics/", account_metrics_page, name="account_metrics"),
]
