"""Health screens: health models (list, new, edit with versions) and the focus list.

Viewing models needs ``health.view_healthmodel``; creating, rescoping and saving new rules
need the add/change permissions (Managers). The services check again; the checks here
only decide what to show. The score card and grade partials for the account page live in
``web/health/_score_card.html`` and ``_grades.html`` (data from ``health_tags``).
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from tend.core.models import User
from tend.crm.models import Lifecycle
from tend.crm.selectors import accounts_visible_to
from tend.health import scoring
from tend.health.labels import KIND_LABELS, OVERRIDE_LABELS
from tend.health.models import HealthModel, HealthModelVersion
from tend.health.selectors import focus_list, health_models_visible_to
from tend.health.services import (
    DEFAULT_CONFIG,
    config_validate,
    health_model_create,
    health_model_update,
    health_version_create,
)
from tend.usage.models import Metric
from tend.web.requests import forbidden, form_errors_add, request_user


class HealthModelForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=100)
    segment = forms.CharField(
        label=gettext_lazy("Segment"),
        max_length=100,
        required=False,
        help_text=gettext_lazy("Blank: accounts of any segment."),
    )
    lifecycle = forms.ChoiceField(
        label=gettext_lazy("Lifecycle stage"),
        choices=[("", gettext_lazy("Any stage")), *Lifecycle.choices],
        required=False,
    )
    is_active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)
    config = forms.CharField(
        label=gettext_lazy("Rules (JSON)"),
        widget=forms.Textarea(attrs={"class": "health-config", "spellcheck": "false"}),
        help_text=gettext_lazy(
            "Measures with weights adding up to 100 and thresholds, bands and overrides. "
            "Saving changed rules makes a new version; earlier scores keep theirs."
        ),
    )

    def clean_config(self) -> dict[str, Any]:
        try:
            value = json.loads(self.cleaned_data["config"])
        except json.JSONDecodeError as exc:
            raise ValidationError(
                _("Not valid JSON: %(error)s") % {"error": f"{exc.msg} (line {exc.lineno})"}
            ) from exc
        if not isinstance(value, dict):
            raise ValidationError(_("The configuration must be a JSON object."))
        return value


def _editor_context(form: HealthModelForm, model: HealthModel | None, user: User) -> dict[str, Any]:
    versions = list(model.versions.select_related("created_by")) if model else []
    return {
        "form": form,
        "model": model,
        "versions": versions,
        "can_edit": user.has_perm("health.add_healthmodelversion")
        and (model is not None or user.has_perm("health.add_healthmodel")),
        "metrics": Metric.objects.filter(is_active=True).order_by("name"),
        "kinds": [(k, KIND_LABELS[k]) for k in scoring.MEASURE_KINDS],
        "conditions": [(c, OVERRIDE_LABELS[c]) for c in scoring.OVERRIDE_CONDITIONS],
    }


@login_required
@require_GET
def health_model_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("health.view_healthmodel"):
        return forbidden(request)
    return render(
        request,
        "web/health/model_list.html",
        {"models": list(health_models_visible_to(user))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def health_model_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("health.add_healthmodel"):
        return forbidden(request)
    initial = {"config": json.dumps(DEFAULT_CONFIG, indent=2), "is_active": True}
    form = HealthModelForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            model = health_model_create(
                actor=user,
                name=data["name"],
                segment=data["segment"],
                lifecycle=data["lifecycle"],
                is_active=data["is_active"],
                config=data["config"],
            )
        except ValidationError as exc:
            form_errors_add(form, exc, non_field="config")
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Health model %(name)s created.") % {"name": model.name})
            return redirect("web:health_model_edit", model.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/health/model_form.html", _editor_context(form, None, user), status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def health_model_edit(request: HttpRequest, model_id: int) -> HttpResponse:
    user = request_user(request)
    model = get_object_or_404(health_models_visible_to(user), pk=model_id)
    latest = model.versions.order_by("-number").first()
    initial = {
        "name": model.name,
        "segment": model.segment,
        "lifecycle": model.lifecycle,
        "is_active": model.is_active,
        "config": json.dumps(latest.config if latest else DEFAULT_CONFIG, indent=2),
    }
    form = HealthModelForm(request.POST or None, initial=initial)
    if request.method == "POST":
        if not user.has_perm("health.add_healthmodelversion"):
            return forbidden(request)
        if form.is_valid():
            data = form.cleaned_data
            scope = {k: data[k] for k in ("name", "segment", "lifecycle", "is_active")}
            try:
                with transaction.atomic():
                    changed = {k: v for k, v in scope.items() if getattr(model, k) != v}
                    if changed:
                        health_model_update(actor=user, model=model, **changed)
                    version = None
                    # Compare normalised rules (5 and 5.0 are the same weight): saving
                    # the name alone must not make a new version.
                    if latest is None or config_validate(data["config"]) != latest.config:
                        version = health_version_create(
                            actor=user, model=model, config=data["config"]
                        )
            except ValidationError as exc:
                model.refresh_from_db()
                form_errors_add(form, exc, non_field="config")
            except PermissionDenied as error:
                return forbidden(request, error)
            else:
                if version is not None:
                    messages.success(
                        request,
                        _("Saved as version %(number)s. Scores update within minutes.")
                        % {"number": version.number},
                    )
                else:
                    messages.success(request, _("Saved."))
                return redirect("web:health_model_edit", model.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/health/model_form.html", _editor_context(form, model, user), status=status
    )


@login_required
@require_GET
def health_version_detail(request: HttpRequest, model_id: int, number: int) -> HttpResponse:
    user = request_user(request)
    model = get_object_or_404(health_models_visible_to(user), pk=model_id)
    version = get_object_or_404(HealthModelVersion, model=model, number=number)
    return render(
        request,
        "web/health/version_detail.html",
        {"model": model, "version": version, "config": json.dumps(version.config, indent=2)},
    )


@login_required
@require_GET
def health_focus(request: HttpRequest) -> HttpResponse:
    """C and B− users on my accounts (everyone's with ?all=1, for those who may see all)."""
    user = request_user(request)
    if not user.has_perm("health.view_contactgrade"):
        return forbidden(request)
    show_all = request.GET.get("all") == "1" and user.has_perm("crm.view_account")
    grades = focus_list(None if show_all else user)
    if show_all:
        grades = grades.filter(account__in=accounts_visible_to(user))
    page = Paginator(grades, 50).get_page(request.GET.get("page"))
    return render(request, "web/health/focus.html", {"page": page, "show_all": show_all})


urlpatterns = [
    path("health/models/", health_model_list, name="health_models"),
    path("health/models/new/", health_model_new, name="health_model_new"),
    path("health/models/<int:model_id>/", health_model_edit, name="health_model_edit"),
    path(
        "health/models/<int:model_id>/versions/<int:number>/",
        health_version_detail,
        name="health_version",
    ),
    path("health/focus/", health_focus, name="health_focus"),
]
