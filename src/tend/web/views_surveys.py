"""Staff survey screens: the surveys and their send rules, the survey settings (throttle,
in-product secret and the snippet to paste into the product), results (score, breakdown,
trend by month, table by account / CSM / segment) and the list of answers.

Who may do what comes from core/roles.py: everyone with ``surveys.view_survey`` sees the
list; Managers edit rules and settings. The surveys services and selectors check again;
the checks here only decide what to show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, QuerySet
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tend.core.models import User
from tend.crm.models import Account
from tend.crm.selectors import accounts_visible_to
from tend.surveys import selectors as survey_selectors
from tend.surveys import services as survey_services
from tend.surveys.models import Response, Survey, SurveyKind
from tend.surveys.selectors import GroupBy
from tend.web.forms_surveys import (
    ResponsesFilterForm,
    ResultsFilterForm,
    SurveyForm,
    SurveySettingsForm,
)
from tend.web.requests import forbidden, form_errors_add, request_user

RESPONSES_PER_PAGE = 50
TREND_MONTHS = 12
# The chart's drawing box: one step per month across, 0..100 down.
CHART_STEP = 10
CHART_HEIGHT = 100


def _may(user: User, perm: str) -> bool:
    return user.is_active and user.has_perm(perm)


# --- list and send-rule editor ---------------------------------------------------------


@login_required
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not _may(user, "surveys.view_survey"):
        return forbidden(request)
    surveys = Survey.objects.annotate(answers=Count("responses")).order_by("kind", "name")
    return render(
        request,
        "web/surveys/list.html",
        {
            "surveys": surveys,
            "can_add": _may(user, "surveys.add_survey"),
            "can_change": _may(user, "surveys.change_survey"),
            "can_settings": _may(user, "surveys.view_surveysettings"),
            "can_results": _may(user, "surveys.view_response"),
        },
    )


def _survey_form_page(
    request: HttpRequest, user: User, survey: Survey | None, perm: str
) -> HttpResponse:
    if not _may(user, perm):
        return forbidden(request)
    form = SurveyForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in survey_services.SURVEY_FIELDS}
        try:
            saved = survey_services.survey_save(actor=user, survey=survey, **fields)
        except ValidationError as exc:
            form_errors_add(cast(Form, form), exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Survey “%(name)s” saved.") % {"name": saved.name})
            return redirect("web:surveys")
    status = 400 if request.method == "POST" else 200
    return render(request, "web/surveys/form.html", {"form": form, "survey": survey}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def survey_new(request: HttpRequest) -> HttpResponse:
    return _survey_form_page(request, request_user(request), None, "surveys.add_survey")


@login_required
@require_http_methods(["GET", "POST"])
def survey_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    if not _may(user, "surveys.view_survey"):
        return forbidden(request)
    survey = get_object_or_404(Survey, pk=pk)
    return _survey_form_page(request, user, survey, "surveys.change_survey")


# --- settings ----------------------------------------------------------------------------


def embed_snippet(base_url: str) -> str:
    """What the customer pastes into their product's pages for signed-in users. The hash
    is made on their server, so the secret never reaches a browser."""
    return (
        f'<script src="{base_url}/s/embed.js" async\n'
        '        data-user-id="USER_ID"\n'
        '        data-user-hash="HEX_HMAC_SHA256_OF_USER_ID"\n'
        '        data-lang="en"></script>'
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_settings(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not _may(user, "surveys.view_surveysettings"):
        return forbidden(request)
    row = survey_services.survey_settings()
    can_change = _may(user, "surveys.change_surveysettings")
    form = SurveySettingsForm(request.POST or None, instance=row)
    if request.method == "POST":
        if not can_change:
            return forbidden(request)
        if form.is_valid():
            try:
                survey_services.survey_settings_save(
                    actor=user, throttle_days=form.cleaned_data["throttle_days"]
                )
            except ValidationError as exc:
                form_errors_add(cast(Form, form), exc)
            except PermissionDenied as error:
                return forbidden(request, error)
            else:
                messages.success(request, _("Survey settings saved."))
                return redirect("web:survey_settings")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/surveys/settings.html",
        {
            "form": form,
            "row": row,
            "can_change": can_change,
            "snippet": embed_snippet(settings.BASE_URL),
        },
        status=status,
    )


@login_required
@require_POST
def survey_secret_rotate(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    try:
        survey_services.in_app_secret_rotate(actor=user)
    except PermissionDenied as error:
        return forbidden(request, error)
    messages.success(
        request,
        _(
            "A new secret was made. Update it on your server: hashes made with the old one no "
            "longer work."
        ),
    )
    return redirect("web:survey_settings")


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Slice:
    label: str
    count: int
    percent: float
    tone: str  # good / neutral / bad


def breakdown(kind: str, result: Any) -> list[Slice]:
    """The answers of a result split three ways, with their share in percent."""
    if kind == SurveyKind.NPS:
        parts = [
            (_("Promoters (9–10)"), result.promoters, "good"),
            (_("Passives (7–8)"), result.passives, "neutral"),
            (_("Detractors (0–6)"), result.detractors, "bad"),
        ]
    else:
        parts = [
            (_("Positive"), result.positive, "good"),
            (_("Neutral"), result.neutral, "neutral"),
            (_("Negative"), result.negative, "bad"),
        ]
    total = sum(count for _label, count, _tone in parts)
    return [
        Slice(str(label), count, round(100 * count / total, 1) if total else 0.0, tone)
        for label, count, tone in parts
    ]


def score_range(kind: str) -> tuple[float, float]:
    return (-100.0, 100.0) if kind == SurveyKind.NPS else (0.0, 100.0)


def trend_chart(kind: str, months: list[tuple[date, float | None]]) -> dict[str, Any]:
    """Polyline segments for an inline SVG (as the health card draws its chart): x = the
    month's position, y = the score scaled into 0..100 (top = best). A month without
    answers breaks the line; a lone month is drawn as a dot."""
    low, high = score_range(kind)

    def y(score: float) -> float:
        return round(CHART_HEIGHT * (high - score) / (high - low), 1)

    segments: list[list[tuple[int, float]]] = [[]]
    for i, (_month, score) in enumerate(months):
        if score is None:
            segments.append([])
            continue
        segments[-1].append((i * CHART_STEP + CHART_STEP // 2, y(score)))
    return {
        "segments": [" ".join(f"{x},{v}" for x, v in s) for s in segments if len(s) > 1],
        "dots": [{"x": x, "y": v} for s in segments for x, v in s],
        "width": max(1, len(months)) * CHART_STEP,
        "zero_y": y(0.0) if low < 0 else None,
        "months": [m for m, _s in months],
    }


def _csm_choices() -> QuerySet[User]:
    # Whoever was the CSM when an answer came in, or looks after an account now.
    ids = set(Response.objects.exclude(csm=None).values_list("csm_id", flat=True).distinct())
    ids |= set(Account.objects.exclude(owner=None).values_list("owner_id", flat=True).distinct())
    return User.objects.filter(pk__in=ids).order_by("first_name", "last_name", "username")


def _segment_choices() -> list[str]:
    segments = set(Account.objects.exclude(segment="").values_list("segment", flat=True))
    segments |= set(Response.objects.exclude(segment="").values_list("segment", flat=True))
    return sorted(segments)


def _filter_form(cls: type[ResultsFilterForm], request: HttpRequest, user: User) -> Any:
    data = request.GET.copy()
    if cls is ResultsFilterForm:
        data.setdefault("kind", SurveyKind.NPS)
    return cls(
        data,
        accounts=accounts_visible_to(user).order_by("name"),
        csms=_csm_choices(),
        segments=_segment_choices(),
    )


@login_required
@require_GET
def survey_results(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not _may(user, "surveys.view_response"):
        return forbidden(request)
    form = _filter_form(ResultsFilterForm, request, user)
    if not form.is_valid():
        return render(request, "web/surveys/results.html", {"form": form}, status=400)
    kind = form.cleaned_data["kind"]
    since, until = form.window()
    filters = form.filters()
    result = survey_selectors.results(kind=kind, since=since, until=until, **filters)
    by_month = survey_selectors.results_by_month(kind=kind, months=TREND_MONTHS, **filters)
    groupings: dict[str, GroupBy] = {"account": "account", "csm": "csm", "segment": "segment"}
    by = groupings.get(form.cleaned_data.get("by") or "", "account")
    grouped = survey_selectors.results_grouped(
        kind=kind, by=by, since=since, until=until, **filters
    )
    rows = [
        {"label": row.label, "result": row.result, "breakdown": breakdown(kind, row.result)}
        for row in grouped
    ]
    low, high = score_range(kind)
    return render(
        request,
        "web/surveys/results.html",
        {
            "form": form,
            "kind": kind,
            "kind_label": SurveyKind(kind).label,
            "since": since,
            "until": until,
            "result": result,
            "breakdown": breakdown(kind, result),
            "months": [(month, r) for month, r in by_month],
            "chart": trend_chart(kind, [(month, r.score) for month, r in by_month]),
            "low": low,
            "high": high,
            "by": by,
            "rows": rows,
            "responses_url": reverse("web:survey_responses") + "?" + request.GET.urlencode(),
        },
    )


@login_required
@require_GET
def survey_responses(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not _may(user, "surveys.view_response"):
        return forbidden(request)
    form = _filter_form(ResponsesFilterForm, request, user)
    if not form.is_valid():
        return render(request, "web/surveys/responses.html", {"form": form}, status=400)
    since, until = form.window()
    responses = survey_selectors.responses_for(
        user,
        kind=form.cleaned_data.get("kind") or None,
        since=since,
        until=until,
        **form.filters(),
    )
    page = Paginator(responses, RESPONSES_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "web/surveys/responses.html", {"form": form, "page": page})


urlpatterns = [
    path("surveys/", survey_list, name="surveys"),
    path("surveys/new/", survey_new, name="survey_new"),
    path("surveys/<int:pk>/edit/", survey_edit, name="survey_edit"),
    path("surveys/settings/", survey_settings, name="survey_settings"),
    path("surveys/settings/rotate/", survey_secret_rotate, name="survey_secret_rotate"),
    path("surveys/results/", survey_results, name="survey_results"),
    path("surveys/responses/", survey_responses, name="survey_responses"),
]
