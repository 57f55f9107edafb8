"""The CSM cockpit: "My accounts" and the account 360 page (header, health, usage,
contacts, subscriptions, open tasks, tickets and one merged timeline).

Views parse the request, call selectors or a service, and render.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tend.core.models import User
from tend.core.money import money_format
from tend.crm import services as crm_services
from tend.crm.models import Account, Role, Subscription
from tend.crm.selectors import (
    accounts_visible_to,
    contacts_visible_to,
    touchpoint_can_delete,
    touchpoints_visible_to,
)
from tend.desk.selectors import TicketPaginator, tickets_visible_to
from tend.success.models import Task
from tend.success.selectors import account_tasks
from tend.web.forms_cockpit import AccountFilterForm, TouchpointForm
from tend.web.forms_crm import DeleteForm
from tend.web.requests import confirm_delete_page, forbidden, request_user
from tend.web.selectors_cockpit import (
    SORTS,
    accounts_annotated,
    accounts_decorate,
    my_accounts,
)
from tend.web.selectors_crm import account_segments
from tend.web.selectors_timeline import account_timeline

PAGE_SIZE = 50
TIMELINE_LIMIT = 50


@login_required
@require_GET
def my_accounts_view(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("crm.view_account"):
        raise PermissionDenied
    form = AccountFilterForm(request.GET or None, segments=account_segments())
    filters = form.filters()
    page = Paginator(my_accounts(user, filters), PAGE_SIZE).get_page(request.GET.get("page"))
    accounts_decorate(list(page.object_list))
    current = filters.sort.lstrip("-")
    columns = [
        ("name", _("Account")),
        ("health", _("Health")),
        ("trend", _("Trend")),
        ("mrr", _("MRR")),
        ("renewal", _("Renewal")),
        ("tasks", _("Open tasks")),
        ("lifecycle", _("Lifecycle")),
        ("segment", _("Segment")),
    ]
    headers = [
        {
            "key": key,
            "label": label,
            # Clicking the sorted column flips its direction.
            "sort": f"-{key}" if key == current and not filters.sort.startswith("-") else key,
            "active": key == current,
            "descending": key == current and filters.sort.startswith("-"),
        }
        for key, label in columns
        if key in SORTS
    ]
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "headers": headers,
        "today": timezone.localdate(),
    }
    return render(request, "web/cockpit/my_accounts.html", context)


def _account_or_404(user: User, pk: int) -> Account:
    qs = accounts_annotated(accounts_visible_to(user).prefetch_related("domains"))
    account = get_object_or_404(qs, pk=pk)
    accounts_decorate([account])
    return account


def _before(request: HttpRequest) -> dt.datetime | None:
    raw = request.GET.get("before") or ""
    try:
        value = parse_datetime(raw)
    except ValueError:
        return None
    return value if value is not None and value.tzinfo is not None else None


@login_required
@require_GET
def account_360(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    account = _account_or_404(user, pk)
    return render(
        request, "web/account_detail.html", _account_context(request, user, account, None)
    )


def _account_context(
    request: HttpRequest, user: User, account: Account, form: TouchpointForm | None
) -> dict[str, Any]:
    role_labels = dict(Role.choices)
    contacts = list(
        contacts_visible_to(user)
        .filter(account=account)
        .order_by("name", "email")
        .select_related(None)[:100]
    )
    for contact in contacts:
        contact.role_labels = [  # type: ignore[attr-defined]
            role_labels[r] for r in contact.roles or [] if r in role_labels
        ]
    subscriptions: list[Subscription] = []
    if user.has_perm("crm.view_subscription"):
        subscriptions = list(account.subscriptions.order_by("-starts_on", "-pk"))
        for sub in subscriptions:
            sub.mrr_display = money_format(sub.mrr_minor, sub.currency)  # type: ignore[attr-defined]
    tasks: list[Task] = []
    if user.has_perm("success.view_task"):
        tasks = list(account_tasks(account, include_closed=False)[:50])
    tickets = (
        tickets_visible_to(user)
        .filter(account=account)
        .select_related("requester", "assignee", "team")
        .order_by("-updated_at")
    )
    page = TicketPaginator(tickets, 10).get_page(request.GET.get("page"))
    before = _before(request)
    timeline = account_timeline(account, user=user, limit=TIMELINE_LIMIT, before=before)
    can_log = user.has_perm("crm.add_touchpoint")
    if can_log and form is None:
        form = TouchpointForm(account=account)
    renewal_in_days = None
    renews_on = getattr(account, "renews_on", None)
    if renews_on is not None:
        renewal_in_days = (renews_on - timezone.localdate()).days
    return {
        "account": account,
        "renewal_in_days": renewal_in_days,
        "renewal_overdue_days": -renewal_in_days if renewal_in_days else 0,
        "contacts": contacts,
        "subscriptions": subscriptions,
        "can_see_subscriptions": user.has_perm("crm.view_subscription"),
        "tasks": tasks,
        "can_see_tasks": user.has_perm("success.view_task"),
        # The health and metrics partials load their own data and check permissions.
        "can_see_health": user.has_perm("health.view_healthsnapshot"),
        "page": page,
        "timeline": timeline,
        "timeline_before": before,
        "timeline_older": timeline[-1].when if len(timeline) == TIMELINE_LIMIT else None,
        "touchpoint_form": form if can_log else None,
        "can_view_as": user.has_perm("crm.view_as_customer"),
    }


@login_required
@require_POST
def touchpoint_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    account = _account_or_404(user, pk)
    if not user.has_perm("crm.add_touchpoint"):
        raise PermissionDenied
    form = TouchpointForm(request.POST, account=account)
    if form.is_valid():
        data = form.cleaned_data
        try:
            crm_services.touchpoint_create(
                actor=user,
                account=account,
                kind=data["kind"],
                subject=data["subject"],
                body=data["body"],
                happened_at=data["happened_at"],
                contact=data["contact"],
            )
        except PermissionDenied as exc:
            form.add_error(None, str(exc) or _("You do not have permission to do that."))
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, _("Added to the timeline."))
            return redirect("web:account", pk=account.pk)
    context = _account_context(request, user, account, form)
    return render(request, "web/account_detail.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
def touchpoint_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    touchpoint = get_object_or_404(touchpoints_visible_to(user), pk=pk)
    if not touchpoint_can_delete(user, touchpoint):
        return forbidden(request)
    # Back to the part of the timeline the entry was on (an older page keeps ?before=).
    before = _before(request)
    query = "?" + urlencode({"before": before.isoformat()}) if before else ""
    account_url = reverse("web:account", args=[touchpoint.account_id]) + query + "#account-timeline"
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        crm_services.touchpoint_delete(
            actor=user, touchpoint=touchpoint, reason=form.cleaned_data["reason"]
        )
        messages.success(request, _("Taken off the timeline."))
        return redirect(account_url)
    title = touchpoint.subject or touchpoint.get_kind_display()
    return confirm_delete_page(
        request,
        form,
        heading=_("Delete “%(title)s” from the timeline?") % {"title": title},
        explanation=_(
            "The entry of %(when)s on %(account)s goes for good; the audit log keeps "
            "its subject and author."
        )
        % {
            "when": date_format(
                timezone.localtime(touchpoint.happened_at), "SHORT_DATETIME_FORMAT"
            ),
            "account": touchpoint.account.name,
        },
        button=_("Delete entry"),
        cancel_url=account_url,
    )


urlpatterns = [
    path("cs/accounts/", my_accounts_view, name="my_accounts"),
    path("accounts/<int:pk>/", account_360, name="account"),
    path("accounts/<int:pk>/touchpoints/", touchpoint_add, name="account_touchpoint_add"),
    path(
        "accounts/touchpoints/<int:pk>/delete/",
        touchpoint_remove,
        name="account_touchpoint_delete",
    ),
]
