"""Accounts and contacts screens: lists (filter, sort, export), create/edit forms,
subscriptions on the account, deleting an account, a contact or a subscription
(confirmed, audited),
and the CSV import (upload → preview → progress → result).

Views parse, call a selector or a crm service, and render. The services check the
permission again; the checks here decide what to show and answer 403 early.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tend.core.money import money_format
from tend.crm import csv_import, csv_io
from tend.crm.csv_import import ImportStatus
from tend.crm.csv_io import ImportKind
from tend.crm.selectors import (
    accounts_mrr,
    accounts_visible_to,
    contacts_visible_to,
    subscriptions_visible_to,
)
from tend.crm.services import (
    account_create,
    account_delete,
    account_update,
    contact_create,
    contact_delete,
    contact_update,
    subscription_create,
    subscription_delete,
    subscription_update,
)
from tend.web.forms_crm import (
    AccountDeleteForm,
    AccountFilterForm,
    AccountForm,
    ContactFilterForm,
    ContactForm,
    DeleteForm,
    ImportUploadForm,
    SubscriptionForm,
)
from tend.web.requests import confirm_delete_page, forbidden, form_errors_add, request_user
from tend.web.selectors_crm import accounts_listed, contacts_listed

PAGE_SIZE = 50
# Invalid rows shown on the preview; the count covers them all.
PREVIEW_ERRORS_SHOWN = 200


def _page(request: HttpRequest, qs: QuerySet[Any]) -> Page[Any]:
    return Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))


def _query_without(request: HttpRequest, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


# --- accounts ---------------------------------------------------------------------------


@login_required
@require_GET
def account_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("crm.view_account"):
        return forbidden(request)
    form = AccountFilterForm(request.GET or None)
    filters = form.filters()
    page = _page(request, accounts_listed(user, filters))
    accounts = list(page.object_list)
    mrr = accounts_mrr([a.pk for a in accounts])
    rows = [(a, money_format(*mrr[a.pk]) if mrr[a.pk][0] else "") for a in accounts]
    sort = filters.sort
    columns = [
        (key, label, _sort_link(request, key, sort))
        for key, label in (
            ("name", _("Name")),
            ("mrr", _("MRR")),
            ("renewal", _("Renewal")),
            ("lifecycle", _("Lifecycle stage")),
        )
    ]
    return render(
        request,
        "web/crm/account_list.html",
        {
            "filter_form": form,
            "page": page,
            "rows": rows,
            "columns": columns,
            "sort": sort,
            "export_query": _query_without(request, "page"),
            "can_add": user.has_perm("crm.add_account"),
            "can_change": user.has_perm("crm.change_account"),
            "can_import": all(
                user.has_perm(p) for p in csv_import.IMPORT_PERMS[ImportKind.ACCOUNTS]
            ),
        },
    )


def _sort_link(request: HttpRequest, key: str, current: str) -> dict[str, str]:
    """The header link: ascending first, then the other way; aria-sort for the current."""
    query = request.GET.copy()
    query.pop("page", None)
    query["sort"] = f"-{key}" if current == key else key
    state = "ascending" if current == key else "descending" if current == f"-{key}" else ""
    return {"url": f"?{query.urlencode()}", "state": state}


@login_required
@require_GET
def account_export(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    if not user.has_perm("crm.view_account"):
        return forbidden(request)
    filters = AccountFilterForm(request.GET).filters()
    lines = csv_io.accounts_export(
        actor=user, accounts=accounts_listed(user, filters), filters=vars(filters)
    )
    return _csv_response(lines, "accounts")


def _csv_response(lines: Any, what: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="tend-{what}-{stamp}.csv"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def account_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("crm.add_account"):
        return forbidden(request)
    form = AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_create(actor=user, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Account %(name)s created.") % {"name": account.name})
            return redirect("web:account", pk=account.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/crm/account_form.html", {"form": form, "account": None}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    account = get_object_or_404(accounts_visible_to(user).prefetch_related("domains"), pk=pk)
    can_change = user.has_perm("crm.change_account")
    if not can_change:
        return forbidden(request)
    form = AccountForm(request.POST or None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            account = account_update(actor=user, account=account, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Account %(name)s saved.") % {"name": account.name})
            return redirect("web:account", pk=account.pk)
    subscriptions = subscriptions_visible_to(user).filter(account=account)
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "web/crm/account_form.html",
        {
            "form": form,
            "account": account,
            "subscriptions": _subscription_rows(subscriptions),
            "can_change": can_change,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    account = get_object_or_404(accounts_visible_to(user), pk=pk)
    if not user.has_perm("crm.delete_account"):
        return forbidden(request)
    name = account.name
    form = AccountDeleteForm(request.POST if request.method == "POST" else None, account=account)
    if request.method == "POST" and form.is_valid():
        try:
            account_delete(actor=user, account=account, reason=form.cleaned_data["reason"])
        except PermissionDenied as error:
            return forbidden(request, error)
        messages.success(request, _("Account %(name)s deleted.") % {"name": name})
        return redirect("web:crm_accounts")
    return confirm_delete_page(
        request,
        form,
        heading=_("Delete %(name)s?") % {"name": name},
        explanation=_(
            "This deletes the account for good, with its email domains, subscriptions, "
            "timeline, tasks, health history and product usage (its contacts' events, "
            "grades and metric values too). Its contacts, tickets, survey answers and child "
            "accounts stay, without the account. If your product still sends its groupId, "
            "the next event makes a bare account of that id again."
        ),
        button=_("Delete account"),
        cancel_url=reverse("web:crm_account_edit", args=[account.pk]),
    )


def _subscription_rows(subscriptions: QuerySet[Any]) -> list[tuple[Any, str]]:
    return [(s, money_format(s.mrr_minor, s.currency)) for s in subscriptions]


# --- subscriptions ----------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def subscription_new(request: HttpRequest, account_id: int) -> HttpResponse:
    user = request_user(request)
    account = get_object_or_404(accounts_visible_to(user), pk=account_id)
    if not user.has_perm("crm.change_account"):
        return forbidden(request)
    latest = account.subscriptions.order_by("-starts_on", "-pk").first()
    initial = {"starts_on": timezone.localdate(), "currency": latest.currency if latest else "USD"}
    form = SubscriptionForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_create(actor=user, account=account, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Subscription added."))
            return redirect("web:crm_account_edit", pk=account.pk)
    status = 400 if request.method == "POST" else 200
    ctx = {"form": form, "account": account, "subscription": None}
    return render(request, "web/crm/subscription_form.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    subscription = get_object_or_404(subscriptions_visible_to(user), pk=pk)
    if not user.has_perm("crm.change_account"):
        return forbidden(request)
    form = SubscriptionForm(request.POST or None, subscription=subscription)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_update(actor=user, subscription=subscription, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Subscription saved."))
            return redirect("web:crm_account_edit", pk=subscription.account_id)
    status = 400 if request.method == "POST" else 200
    ctx = {"form": form, "account": subscription.account, "subscription": subscription}
    return render(request, "web/crm/subscription_form.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def subscription_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    subscription = get_object_or_404(subscriptions_visible_to(user), pk=pk)
    if not user.has_perm("crm.delete_subscription"):
        return forbidden(request)
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription_delete(
                actor=user, subscription=subscription, reason=form.cleaned_data["reason"]
            )
        except PermissionDenied as error:
            return forbidden(request, error)
        messages.success(request, _("Subscription %(plan)s deleted.") % {"plan": subscription.plan})
        return redirect("web:crm_account_edit", pk=subscription.account_id)
    return confirm_delete_page(
        request,
        form,
        heading=_("Delete subscription %(plan)s?") % {"plan": subscription.plan},
        explanation=_(
            "This removes the subscription from %(account)s and from its MRR, as if it had "
            "never been entered. To record a contract that ended, set its status to "
            "Canceled or Expired instead."
        )
        % {"account": subscription.account.name},
        button=_("Delete subscription"),
        cancel_url=reverse("web:crm_subscription_edit", args=[subscription.pk]),
    )


# --- contacts ---------------------------------------------------------------------------


@login_required
@require_GET
def contact_list(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("crm.view_contact"):
        return forbidden(request)
    form = ContactFilterForm(request.GET or None)
    page = _page(request, contacts_listed(user, form.filters()))
    return render(
        request,
        "web/crm/contact_list.html",
        {
            "filter_form": form,
            "page": page,
            "export_query": _query_without(request, "page"),
            "can_add": user.has_perm("crm.add_contact"),
            "can_change": user.has_perm("crm.change_contact"),
            "can_import": all(
                user.has_perm(p) for p in csv_import.IMPORT_PERMS[ImportKind.CONTACTS]
            ),
        },
    )


@login_required
@require_GET
def contact_export(request: HttpRequest) -> HttpResponseBase:
    user = request_user(request)
    if not user.has_perm("crm.view_contact"):
        return forbidden(request)
    filters = ContactFilterForm(request.GET).filters()
    lines = csv_io.contacts_export(
        actor=user, contacts=contacts_listed(user, filters), filters=vars(filters)
    )
    return _csv_response(lines, "contacts")


@login_required
@require_http_methods(["GET", "POST"])
def contact_new(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not user.has_perm("crm.add_contact"):
        return forbidden(request)
    initial: dict[str, Any] = {}
    if request.GET.get("account", "").isdigit():
        initial["account"] = int(request.GET["account"])
    form = ContactForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_create(actor=user, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(
                request, _("Contact %(name)s created.") % {"name": contact.display_name}
            )
            return redirect("web:contact", pk=contact.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/crm/contact_form.html", {"form": form, "contact": None}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    contact = get_object_or_404(contacts_visible_to(user), pk=pk)
    if not user.has_perm("crm.change_contact"):
        return forbidden(request)
    form = ContactForm(request.POST or None, contact=contact)
    if request.method == "POST" and form.is_valid():
        try:
            contact = contact_update(actor=user, contact=contact, **form.changes())
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Contact %(name)s saved.") % {"name": contact.display_name})
            return redirect("web:contact", pk=contact.pk)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "web/crm/contact_form.html", {"form": form, "contact": contact}, status=status
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = request_user(request)
    contact = get_object_or_404(contacts_visible_to(user), pk=pk)
    if not user.has_perm("crm.delete_contact"):
        return forbidden(request)
    name = contact.display_name
    form = DeleteForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            contact_delete(actor=user, contact=contact, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form_errors_add(form, exc)
        except PermissionDenied as error:
            return forbidden(request, error)
        else:
            messages.success(request, _("Contact %(name)s deleted.") % {"name": name})
            return redirect("web:crm_contacts")
    return confirm_delete_page(
        request,
        form,
        heading=_("Delete %(name)s?") % {"name": name},
        explanation=_(
            "This deletes the contact for good, with their grades, survey answers, product "
            "events and usage counts. Their tasks and timeline entries stay, without the "
            "name. A contact who has tickets cannot be deleted."
        ),
        button=_("Delete contact"),
        cancel_url=reverse("web:crm_contact_edit", args=[contact.pk]),
    )


# --- CSV import -------------------------------------------------------------------------


def _kind(value: str) -> ImportKind:
    try:
        return ImportKind(value)
    except ValueError:
        raise Http404 from None


def _list_url(kind: ImportKind) -> str:
    return reverse("web:crm_accounts" if kind is ImportKind.ACCOUNTS else "web:crm_contacts")


@login_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest, kind: str) -> HttpResponse:
    user = request_user(request)
    what = _kind(kind)
    try:
        csv_import.import_perm_check(user, what)
    except PermissionDenied as error:
        return forbidden(request, error)
    form = ImportUploadForm(request.POST or None, request.FILES or None, kind=what)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > csv_io.MAX_BYTES:
            form.add_error("file", _("The file is too large; split it."))
        else:
            try:
                token = csv_import.import_start(
                    actor=user, kind=what, filename=upload.name, data=upload.read()
                )
            except ValidationError as exc:
                form.add_error("file", exc)
            else:
                return redirect("web:crm_import", token=token)
    status = 400 if request.method == "POST" else 200
    ctx = {
        "form": form,
        "kind": what,
        "columns": csv_io.COLUMNS[what],
        "list_url": _list_url(what),
    }
    return render(request, "web/crm/import_upload.html", ctx, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def import_preview(request: HttpRequest, token: str) -> HttpResponse:
    """GET: what the file would do. POST: do it (in the background)."""
    user = request_user(request)
    state = csv_import.import_state(actor=user, token=token)
    if state is None:
        raise Http404
    if state["status"] != ImportStatus.UPLOADED:
        return redirect("web:crm_import_status", token=token)
    if request.method == "POST":
        try:
            csv_import.import_confirm(actor=user, token=token)
        except PermissionDenied as error:
            return forbidden(request, error)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
            return redirect(_list_url(ImportKind(state["kind"])))
        return redirect("web:crm_import_status", token=token)
    try:
        preview = csv_import.import_preview(actor=user, token=token)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(_list_url(ImportKind(state["kind"])))
    labels = {c.field: c.label for c in csv_io.COLUMNS[preview.kind]}
    ctx = {
        "state": state,
        "preview": preview,
        "fields": preview.columns.fields(),
        "field_labels": [labels[f] for f in preview.columns.fields()],
        "invalid_shown": preview.invalid[:PREVIEW_ERRORS_SHOWN],
        "preview_rows": [
            (plan, [plan.cells.get(f, "") for f in preview.columns.fields()])
            for plan in preview.rows
        ],
        "list_url": _list_url(preview.kind),
    }
    return render(request, "web/crm/import_preview.html", ctx)


@login_required
@require_GET
def import_status(request: HttpRequest, token: str) -> HttpResponse:
    """The progress bar; htmx polls it every second until the job ends."""
    user = request_user(request)
    state = csv_import.import_state(actor=user, token=token)
    if state is None:
        raise Http404
    if state["status"] == ImportStatus.UPLOADED:
        return redirect("web:crm_import", token=token)
    total = int(state.get("total") or 0)
    done = int(state.get("done") or 0)
    finished = state["status"] in (ImportStatus.DONE, ImportStatus.FAILED)
    ctx = {
        "state": state,
        "finished": finished,
        "percent": 100 if finished or not total else int(done * 100 / total),
        "list_url": _list_url(ImportKind(state["kind"])),
    }
    template = (
        "web/crm/_import_progress.html"
        if request.headers.get("HX-Request") == "true"
        else "web/crm/import_status.html"
    )
    return render(request, template, ctx)


urlpatterns = [
    path("accounts/", account_list, name="crm_accounts"),
    path("accounts/new/", account_new, name="crm_account_new"),
    path("accounts/export.csv", account_export, name="crm_accounts_export"),
    path("accounts/<int:pk>/edit/", account_edit, name="crm_account_edit"),
    path("accounts/<int:pk>/delete/", account_remove, name="crm_account_delete"),
    path(
        "accounts/<int:account_id>/subscriptions/new/",
        subscription_new,
        name="crm_subscription_new",
    ),
    path("subscriptions/<int:pk>/edit/", subscription_edit, name="crm_subscription_edit"),
    path("subscriptions/<int:pk>/delete/", subscription_remove, name="crm_subscription_delete"),
    path("contacts/", contact_list, name="crm_contacts"),
    path("contacts/new/", contact_new, name="crm_contact_new"),
    path("contacts/export.csv", contact_export, name="crm_contacts_export"),
    path("contacts/<int:pk>/edit/", contact_edit, name="crm_contact_edit"),
    path("contacts/<int:pk>/delete/", contact_remove, name="crm_contact_delete"),
    path("imports/<str:kind>/new/", import_upload, name="crm_import_upload"),
    path("imports/<str:token>/", import_preview, name="crm_import"),
    path("imports/<str:token>/status/", import_status, name="crm_import_status"),
]
