"""View as customer: a permitted staff member sees the portal as one contact sees it.

The staff member stays signed in as themselves; the session only gains a marker naming
the contact. Pages under ``/portal/view-as/`` read that marker and show the contact's
tickets (public conversation only) and help pages, under a banner. Nothing here writes
on the customer's behalf: every non-GET request but "exit" answers 403, and
``ViewAsReadOnlyMiddleware`` extends that to the rest of the portal while the marker is
set. Every start writes an audit row (who, whom, when, why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from tend.core.audit import audit_record
from tend.core.models import AuditEntry, User
from tend.core.roles import require_perm
from tend.crm.models import Contact
from tend.crm.selectors import contacts_visible_to
from tend.desk.models import Comment, Ticket
from tend.portal.forms import SupportForm

PERMISSION = "crm.view_as_customer"
SESSION_KEY = "tend.view_as"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# --- the service ------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewAsSession:
    contact_id: int
    audit_id: int
    started_at: str


def view_as_begin(*, actor: User, contact: Contact, reason: str) -> AuditEntry:
    """Check that ``actor`` may view the portal as ``contact`` and record why."""
    require_perm(actor, PERMISSION)
    if not contacts_visible_to(actor).filter(pk=contact.pk).exists():
        raise PermissionDenied(_("You do not have permission to do that."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you need to see what this customer sees.")})
    with transaction.atomic():
        return audit_record(
            actor=actor,
            action="portal.view_as",
            target=f"contact:{contact.pk}",
            reason=reason,
            data={"contact": contact.display_name, "email": contact.email},
        )


def view_as_end(*, actor: User, session: ViewAsSession) -> AuditEntry:
    return audit_record(
        actor=actor,
        action="portal.view_as_end",
        target=f"contact:{session.contact_id}",
        data={"started": session.audit_id},
    )


def view_as_session(request: HttpRequest) -> ViewAsSession | None:
    raw = request.session.get(SESSION_KEY)
    if not isinstance(raw, dict):
        return None
    try:
        return ViewAsSession(
            contact_id=int(raw["contact"]),
            audit_id=int(raw["audit"]),
            started_at=str(raw["started"]),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _staff(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _viewed_contact(request: HttpRequest) -> Contact:
    """The contact the signed-in staff member is viewing as; 403 when not (or no
    longer) allowed, e.g. after the permission was taken away mid-session."""
    user = _staff(request)
    session = view_as_session(request)
    if session is None:
        raise PermissionDenied(_("You are not viewing the portal as a customer."))
    if not user.has_perm(PERMISSION):
        request.session.pop(SESSION_KEY, None)
        raise PermissionDenied(_("You do not have permission to do that."))
    contact = contacts_visible_to(user).filter(pk=session.contact_id).first()
    if contact is None:
        request.session.pop(SESSION_KEY, None)
        raise PermissionDenied(_("You do not have permission to do that."))
    return contact


# --- read-only enforcement --------------------------------------------------------------


def _refused(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/view_as/refused.html", status=403)


def read_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer 403 to anything but reading: the customer's data must not change, and
    nothing may be sent in their name."""

    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method not in SAFE_METHODS:
            return _refused(request)
        return view(request, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


class ViewAsReadOnlyMiddleware:
    """While a view-as marker is in the session, refuse every write to the customer
    portal (its public forms included), so a staff member looking as a customer cannot
    submit anything by mistake. Staff pages are not affected."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Any, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if request.method in SAFE_METHODS or not hasattr(request, "session"):
            return None
        if SESSION_KEY not in request.session:
            return None
        match = request.resolver_match
        if match is None:
            return None
        if "view_as" in match.namespaces:
            # Leaving, and starting another view (which replaces this one and is audited
            # on its own), are the writes allowed; the views refuse the rest themselves.
            return None if match.url_name in ("exit", "start") else _refused(request)
        if "portal" in match.namespaces:
            return _refused(request)
        return None


# --- views ----------------------------------------------------------------------------------


class StartForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Why do you need to see what this customer sees?"),
        help_text=gettext_lazy("Recorded in the audit log with your name and the time."),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


@login_required
@require_http_methods(["GET", "POST"])
def start(request: HttpRequest, contact_pk: int) -> HttpResponse:
    user = _staff(request)
    if not user.has_perm(PERMISSION):
        raise PermissionDenied(_("You do not have permission to do that."))
    contact = get_object_or_404(contacts_visible_to(user), pk=contact_pk)
    form = StartForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry = view_as_begin(actor=user, contact=contact, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            form.add_error("reason", exc.messages)
        else:
            # Only a marker is added: the staff member's own sign-in stays as it was.
            request.session[SESSION_KEY] = {
                "contact": contact.pk,
                "audit": entry.pk,
                "started": timezone.now().isoformat(),
            }
            return redirect("view_as:home")
    return render(request, "portal/view_as/start.html", {"contact": contact, "form": form})


def _context(request: HttpRequest, contact: Contact, **extra: Any) -> dict[str, Any]:
    return {"viewed_contact": contact, "view_as": view_as_session(request), **extra}


def _tickets(contact: Contact) -> Any:
    # What the customer's own "my tickets" shows: the tickets they asked.
    return Ticket.objects.filter(requester=contact).order_by("-updated_at")


@login_required
@read_only
def home(request: HttpRequest) -> HttpResponse:
    contact = _viewed_contact(request)
    tickets = list(_tickets(contact)[:100])
    return render(request, "portal/view_as/home.html", _context(request, contact, tickets=tickets))


@login_required
@read_only
def ticket(request: HttpRequest, number: int) -> HttpResponse:
    contact = _viewed_contact(request)
    found = _tickets(contact).filter(number=number).first()
    if found is None:
        raise Http404(_("This page does not exist."))
    # Internal notes are the team's; the customer never sees them.
    comments = (
        Comment.objects.filter(ticket=found, public=True)
        .select_related("author_user", "author_contact")
        .order_by("created_at", "pk")
    )
    context = _context(request, contact, ticket=found, comments=comments)
    return render(request, "portal/view_as/ticket.html", context)


@login_required
@read_only
def help_pages(request: HttpRequest) -> HttpResponse:
    contact = _viewed_contact(request)
    form = SupportForm(initial={"name": contact.name, "email": contact.email})
    for field in form.fields.values():
        field.disabled = True
    return render(request, "portal/view_as/help.html", _context(request, contact, form=form))


@login_required
@require_POST
def exit_view(request: HttpRequest) -> HttpResponse:
    session = view_as_session(request)
    request.session.pop(SESSION_KEY, None)
    if session is None:
        return redirect("web:queue_default")
    view_as_end(actor=_staff(request), session=session)
    return redirect(reverse("web:contact", args=[session.contact_id]))


app_name = "view_as"

urlpatterns = [
    path("start/<int:contact_pk>/", start, name="start"),
    path("", home, name="home"),
    path("tickets/<int:number>/", ticket, name="ticket"),
    path("help/", help_pages, name="help"),
    path("exit/", exit_view, name="exit"),
]
