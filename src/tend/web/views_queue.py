"""Staff UI pages around the ticket page: sign-in, queues, saved views, bulk actions,
search, account and contact pages, and the user's own preferences.

Views parse the request, call a selector or service, and render; nothing else.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page
from django.db.models import QuerySet
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse, reverse_lazy
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from tend.core.models import User
from tend.core.ratelimit import client_ip, rate_limit_hit
from tend.crm.selectors import contacts_visible_to
from tend.desk.models import Status, Ticket
from tend.desk.search import search_everything
from tend.desk.selectors import (
    QUEUES,
    TicketPaginator,
    queue_counts_cached,
    queue_tickets,
    saved_views_for,
    tickets_filtered,
    tickets_visible_to,
)
from tend.desk.services import saved_view_create, saved_view_delete, tickets_bulk_update
from tend.web.forms import (
    BulkActionForm,
    LanguageForm,
    PreferencesForm,
    SaveViewForm,
    TicketFilterForm,
)
from tend.web.services import user_preferences_update

PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    """The signed-in staff member (every view here is behind login_required)."""
    user = request.user
    assert isinstance(user, User)
    return user


def _safe_next(request: HttpRequest, fallback: str) -> str:
    """Where to go after a POST: the page it came from, if it is ours."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return fallback


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _forbidden(request: HttpRequest, error: PermissionDenied) -> HttpResponse:
    message = str(error) or _("You do not have permission to do that.")
    return render(request, "web/forbidden.html", {"message": message}, status=403)


def _errors_to_messages(request: HttpRequest, *forms: Form) -> None:
    """Show a redirected-away form's errors as messages on the page it returns to."""
    for form in forms:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))


def _page(request: HttpRequest, tickets: QuerySet[Ticket], count: int | None = None) -> Page:
    return TicketPaginator(tickets, PAGE_SIZE, known_count=count).get_page(request.GET.get("page"))


def _render_list(
    request: HttpRequest,
    tickets: QuerySet[Ticket],
    *,
    title: str,
    count: int | None = None,
    **extra: Any,
) -> HttpResponse:
    """The ticket table page shared by queues, saved views and ad-hoc filters."""
    user = _user(request)
    can_bulk = user.has_perm("desk.change_ticket")
    context = {
        "title": title,
        "page": _page(request, tickets, count),
        "can_bulk": can_bulk,
        "bulk_form": BulkActionForm(auto_id="bulk-%s") if can_bulk else None,
        "here": request.get_full_path(),
        **extra,
    }
    return render(request, "web/ticket_list.html", context)


# --- queues ---------------------------------------------------------------------------


@login_required
@require_GET
def queue_default(request: HttpRequest) -> HttpResponse:
    # People who work tickets start with their own; everyone else with the open queue.
    slug = "mine" if _user(request).has_perm("desk.change_ticket") else "open"
    return redirect("web:queue", slug=slug)


@login_required
@require_GET
def queue(request: HttpRequest, slug: str) -> HttpResponse:
    if slug not in QUEUES:
        raise Http404
    user = _user(request)
    tickets = queue_tickets(user, slug)
    return _render_list(
        request,
        tickets,
        title=str(QUEUES[slug].label),
        count=queue_counts_cached(user)[slug],
        queue_slug=slug,
    )


@login_required
@require_GET
def ticket_list(request: HttpRequest) -> HttpResponse:
    """Every visible ticket narrowed by the filter form; the place to build a view."""
    user = _user(request)
    form = TicketFilterForm(request.GET)
    if form.is_valid():
        tickets = tickets_filtered(user, form.filters(), form.sort_order())
    else:
        tickets = Ticket.objects.none()
    return _render_list(
        request,
        tickets,
        title=_("Filter tickets"),
        filter_form=form,
        save_form=SaveViewForm() if user.has_perm("desk.add_savedview") else None,
        can_share=user.has_perm("desk.manage_shared_views"),
        filter_query=request.GET.urlencode(),
    )


# --- saved views ------------------------------------------------------------------------


@login_required
@require_GET
def saved_view(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    view = get_object_or_404(saved_views_for(user), pk=pk)
    tickets = tickets_filtered(user, view.filters, view.sort)
    edit_query = urlencode(TicketFilterForm.data_from_view(view.filters, view.sort), doseq=True)
    can_delete = view.owner_id == user.pk or (
        view.owner_id is None and user.has_perm("desk.manage_shared_views")
    )
    return _render_list(
        request,
        tickets,
        title=view.name,
        view=view,
        edit_url=f"{reverse('web:ticket_list')}?{edit_query}",
        can_delete_view=can_delete,
    )


@login_required
@require_POST
def saved_view_new(request: HttpRequest) -> HttpResponse:
    """Save the filters in the query string as a view named in the POST body."""
    user = _user(request)
    filter_form = TicketFilterForm(request.GET)
    save_form = SaveViewForm(request.POST)
    back = f"{reverse('web:ticket_list')}?{request.GET.urlencode()}"
    if not (filter_form.is_valid() and save_form.is_valid()):
        _errors_to_messages(request, filter_form, save_form)
        return redirect(back)
    try:
        view = saved_view_create(
            actor=user,
            name=save_form.cleaned_data["name"],
            filters=filter_form.filters(),
            sort=filter_form.sort_order(),
            shared=save_form.cleaned_data["shared"],
        )
    except PermissionDenied as error:
        return _forbidden(request, error)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(back)
    messages.success(request, _("View “%(name)s” saved.") % {"name": view.name})
    return redirect("web:saved_view", pk=view.pk)


@login_required
@require_POST
def saved_view_remove(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    view = get_object_or_404(saved_views_for(user), pk=pk)
    try:
        saved_view_delete(actor=user, view=view)
    except PermissionDenied as error:
        return _forbidden(request, error)
    messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
    return redirect("web:queue_default")


# --- bulk actions ---------------------------------------------------------------------


@login_required
@require_POST
def tickets_bulk(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    back = _safe_next(request, reverse("web:queue_default"))
    form = BulkActionForm(request.POST)
    if not form.is_valid():
        _errors_to_messages(request, form)
        return redirect(back)
    try:
        count = tickets_bulk_update(
            actor=user, ticket_ids=form.cleaned_data["ticket"], **form.changes()
        )
    except PermissionDenied as error:
        return _forbidden(request, error)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
        return redirect(back)
    messages.success(
        request,
        ngettext("Updated %(count)d ticket.", "Updated %(count)d tickets.", count)
        % {"count": count},
    )
    return redirect(back)


# --- search, accounts, contacts ---------------------------------------------------------


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()[:200]
    status = request.GET.get("status", "")
    if status not in Status.values:
        status = ""
    results = search_everything(_user(request), query, status=status or None) if query else None
    return render(
        request,
        "web/search.html",
        {"query": query, "status": status, "statuses": Status.choices, "results": results},
    )


@login_required
@require_GET
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    user = _user(request)
    contact = get_object_or_404(contacts_visible_to(user), pk=pk)
    tickets = (
        tickets_visible_to(user)
        .filter(requester=contact)
        .select_related("assignee", "team", "account")
        .order_by("-updated_at")
    )
    return render(
        request, "web/contact_detail.html", {"contact": contact, "page": _page(request, tickets)}
    )


# --- the user's own preferences -----------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    initial = {"language": user.language, "time_zone": user.time_zone, "is_away": user.is_away}
    form = PreferencesForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            user_preferences_update(user=user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # Confirm in the language just chosen: that is what the next page speaks.
            with translation.override(user.language):
                messages.success(request, _("Preferences saved."))
            return redirect("web:profile")
    return render(request, "web/profile.html", {"form": form})


@login_required
@require_POST
def language_set(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    form = LanguageForm(request.POST)
    if form.is_valid():
        user_preferences_update(
            user=user,
            language=form.cleaned_data["language"],
            time_zone=user.time_zone,
            is_away=user.is_away,
        )
    return HttpResponseRedirect(_safe_next(request, reverse("web:queue_default")))


@login_required
@require_POST
def away_toggle(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    user_preferences_update(
        user=user, language=user.language, time_zone=user.time_zone, is_away=not user.is_away
    )
    if _is_htmx(request):
        return render(request, "web/_away_toggle.html", {"user": user, "oob": True})
    return HttpResponseRedirect(_safe_next(request, reverse("web:queue_default")))


# --- sign-in and password reset ---------------------------------------------------------


class PasswordResetView(auth_views.PasswordResetView):
    """Reset links are built from TEND_BASE_URL, never from the request's Host header,
    so a forged Host cannot make Tend mail out a link to someone else's server."""

    template_name = "registration/password_reset_form.html"
    email_template_name = "registration/password_reset_email.txt"
    subject_template_name = "registration/password_reset_subject.txt"
    success_url = reverse_lazy("web:password_reset_done")

    def form_valid(self, form: Any) -> HttpResponse:
        email = form.cleaned_data.get("email", "").lower()
        wait = _throttled(
            self.request,
            [f"reset:ip:{client_ip(self.request)}", f"reset:email:{email}"],
            RESET_REQUESTS,
            60 * 60,
        )
        if wait:
            # Answer as if sent: the page must not tell who has an account, and the
            # mailbox owner gets no more than RESET_REQUESTS mails an hour.
            return redirect(self.get_success_url())
        self.extra_email_context = {"base_url": settings.BASE_URL}
        return super().form_valid(form)


# Sign-in attempts per client address and per user name, per 15 minutes; reset
# requests per address and per email, per hour. Enough for a person who mistypes,
# too few for password guessing or flooding someone's inbox.
LOGIN_ATTEMPTS = 20
RESET_REQUESTS = 5


def _throttled(request: HttpRequest, keys: list[str], limit: int, window: int) -> int:
    """Count an attempt under each key; seconds to wait if any is over its limit."""
    waits = [rate_limit_hit(key, limit, window).retry_after for key in keys]
    return max(waits)


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        username = (request.POST.get("username") or "").strip().lower()[:150]
        wait = _throttled(
            request,
            [f"login:ip:{client_ip(request)}", f"login:user:{username}"],
            LOGIN_ATTEMPTS,
            15 * 60,
        )
        if wait:
            form = self.get_form()
            form.errors.clear()
            form.add_error(
                None,
                _("Too many sign-in attempts. Try again in %(minutes)s minutes.")
                % {"minutes": max(1, round(wait / 60))},
            )
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(wait)
            return response
        return super().post(request, *args, **kwargs)


auth_urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", PasswordResetView.as_view(), name="password_reset"),
    path(
        "password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name="registration/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name="registration/password_reset_confirm.html",
            success_url=reverse_lazy("web:password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name="registration/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
]

urlpatterns = [
    *auth_urlpatterns,
    path("", queue_default, name="queue_default"),
    path("queues/<slug:slug>/", queue, name="queue"),
    path("tickets/", ticket_list, name="ticket_list"),
    path("tickets/bulk/", tickets_bulk, name="tickets_bulk"),
    path("views/new/", saved_view_new, name="saved_view_new"),
    path("views/<int:pk>/", saved_view, name="saved_view"),
    path("views/<int:pk>/delete/", saved_view_remove, name="saved_view_delete"),
    path("search", search, name="search"),
    path("contacts/<int:pk>/", contact_detail, name="contact"),
    path("profile/", profile, name="profile"),
    path("profile/language/", language_set, name="language_set"),
    path("profile/away/", away_toggle, name="away_toggle"),
]
