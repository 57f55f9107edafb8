"""The ticket page: header and field editor, conversation with the system timeline,
the composer (reply / internal note / macros / solve), the requester sidebar, and the
new-ticket page. Views parse, call a desk service, and render; no business rules here.

htmx requests get partials back; plain form posts get a redirect (or the full page
with the error), so every action also works without JavaScript.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from tend.core.models import User
from tend.desk import services
from tend.desk.models import (
    Attachment,
    Channel,
    Comment,
    EventKind,
    Priority,
    Status,
    Ticket,
    TicketEvent,
    TicketType,
)
from tend.desk.selectors import (
    macros_for,
    requester_other_tickets,
    ticket_changes_since,
    ticket_for_user,
    ticket_is_visible,
    ticket_timeline,
)
from tend.mail.models import OutboundMessage
from tend.mail.originals import inbound_for_comments
from tend.mail.selectors import outbound_for_comments
from tend.web.forms_ticket import ComposerForm, TicketCreateForm, TicketFieldsForm, parse_tags
from tend.web.views_macros import urlpatterns as macro_urlpatterns

# Types a browser could render or run; always served as opaque bytes.
ACTIVE_CONTENT_TYPES = (
    "text/html",
    "application/xhtml+xml",
    "image/svg+xml",
    "text/xml",
    "application/xml",
    "text/javascript",
    "application/javascript",
)

# Events store choice values ("on_hold"); the timeline shows their labels ("On-hold").
CHOICE_LABELS: dict[str, dict[str, Any]] = {
    EventKind.STATUS: dict(Status.choices),
    EventKind.REOPENED: dict(Status.choices),
    EventKind.PRIORITY: dict(Priority.choices),
    EventKind.TYPE: dict(TicketType.choices),
    EventKind.CREATED: dict(Channel.choices),
}


# ---------------------------------------------------------------- helpers


def _user(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # login_required guarantees it
    return user


def _is_htmx(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true"


def _ticket_or_404(request: HttpRequest, number: int) -> Ticket:
    try:
        return ticket_for_user(_user(request), number=number)
    except Ticket.DoesNotExist:
        raise Http404(_("No such ticket.")) from None


def _error_messages(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


@dataclass(frozen=True)
class Entry:
    """One row of the conversation: a comment or a system event with display labels."""

    kind: str  # "comment" | "event"
    item: Comment | TicketEvent
    old: str = ""
    new: str = ""
    # Mail facts for comments (see _with_mail): the email that carried a public reply
    # out, and whether the comment came in by email (so its original can be shown).
    delivery: OutboundMessage | None = None
    has_original: bool = False

    @property
    def who(self) -> str:
        item = self.item
        if isinstance(item, Comment):
            return item.author_name
        if item.actor is not None:
            return str(item.actor.display_name)
        if item.actor_contact is not None:
            return item.actor_contact.display_name
        return _("System")


def _entries(items: list[Comment | TicketEvent]) -> list[Entry]:
    out: list[Entry] = []
    for item in items:
        if isinstance(item, Comment):
            out.append(Entry("comment", item))
        else:
            labels = CHOICE_LABELS.get(item.kind, {})
            out.append(
                Entry(
                    "event",
                    item,
                    old=str(labels.get(item.old_value, item.old_value)),
                    new=str(labels.get(item.new_value, item.new_value)),
                )
            )
    return out


def _with_mail(entries: list[Entry]) -> list[Entry]:
    """Add delivery status and "came by email" to comment entries: two queries in all."""
    comments = [e.item for e in entries if isinstance(e.item, Comment)]
    if not comments:
        return entries
    delivery = outbound_for_comments(
        c.pk for c in comments if c.public and c.author_user_id is not None
    )
    originals = inbound_for_comments(c.pk for c in comments)
    out: list[Entry] = []
    for entry in entries:
        pk = entry.item.pk
        if isinstance(entry.item, Comment) and (pk in delivery or pk in originals):
            entry = replace(entry, delivery=delivery.get(pk), has_original=pk in originals)
        out.append(entry)
    return out


def _permissions(user: User, ticket: Ticket) -> dict[str, bool]:
    open_ = not ticket.is_closed
    return {
        "can_edit": open_ and user.has_perm("desk.change_ticket"),
        "can_comment": open_ and user.has_perm("desk.add_comment"),
    }


def _draft(form: ComposerForm | None) -> dict[str, Any]:
    """What the agent had typed, to put back into a re-rendered composer."""
    if form is None:
        return {"body": "", "mode": "public", "status": "", "macro_id": "", "solve_reason": ""}
    data = form.data
    return {
        # The version the agent wrote against stays, so a re-sent draft is still checked.
        "version": data.get("expected_version", ""),
        "body": data.get("body", ""),
        "mode": "note" if data.get("mode") == "note" else "public",
        "status": data.get("status", ""),
        "macro_id": data.get("macro_id", ""),
        "solve_reason": data.get("solve_reason", ""),
    }


def _context(
    request: HttpRequest,
    ticket: Ticket,
    *,
    composer: ComposerForm | None = None,
    fields_form: TicketFieldsForm | None = None,
    **extra: Any,
) -> dict[str, Any]:
    user = _user(request)
    perms = _permissions(user, ticket)
    ctx: dict[str, Any] = {
        "ticket": ticket,
        "entries": _with_mail(_entries(ticket_timeline(ticket, user=user))),
        "draft": _draft(composer),
        "fields_form": fields_form or TicketFieldsForm(ticket=ticket),
        "macros": list(macros_for(user)) if perms["can_comment"] else [],
        **perms,
    }
    ctx.update(extra)
    return ctx


def _sidebar_context(request: HttpRequest, ticket: Ticket) -> dict[str, Any]:
    return {"other_tickets": requester_other_tickets(ticket, user=_user(request))}


def _render_page(
    request: HttpRequest, ticket: Ticket, *, status: int = 200, **kwargs: Any
) -> HttpResponse:
    ctx = _context(request, ticket, **kwargs)
    ctx.update(_sidebar_context(request, ticket))
    return render(request, "web/ticket/detail.html", ctx, status=status)


def _retarget(response: HttpResponse, target: str, swap: str = "innerHTML") -> HttpResponse:
    response["HX-Retarget"] = target
    response["HX-Reswap"] = swap
    return response


def _reload_ticket(request: HttpRequest, ticket: Ticket) -> Ticket:
    return _ticket_or_404(request, ticket.number)


def _moved_away(request: HttpRequest, ticket: Ticket) -> HttpResponse | None:
    """After a write that moved the ticket out of the agent's sight (a team change, a
    macro), say so and go back to the queues instead of answering 404 for work that
    was saved."""
    user = request.user
    assert isinstance(user, User)
    if ticket_is_visible(user, Ticket.objects.get(pk=ticket.pk)):
        return None
    messages.info(
        request,
        _("Saved. Ticket #%(n)s now belongs to a team you are not in.") % {"n": ticket.number},
    )
    url = reverse("web:queue_default")
    if _is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# ---------------------------------------------------------------- the page


@login_required
@require_GET
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_or_404(request, number)
    return _render_page(request, ticket)


@login_required
@require_POST
def ticket_fields(request: HttpRequest, number: int) -> HttpResponse:
    """Save the header's field editor; stops on a stale version like the composer does."""
    ticket = _ticket_or_404(request, number)
    form = TicketFieldsForm(request.POST, ticket=ticket)
    if not form.is_valid():
        return _fields_failed(request, ticket, form, errors=_form_errors(form), status=400)
    changes = form.changed_values()
    version = form.cleaned_data["confirm_version"] or form.cleaned_data["expected_version"]
    if changes:
        try:
            services.ticket_update(
                actor=_user(request), ticket=ticket, expected_version=version, **changes
            )
        except services.TicketConflict as exc:
            return _fields_failed(
                request,
                ticket,
                form,
                conflict=_entries(list(exc.changes)),
                status=409,
            )
        except services.TicketClosedError as exc:
            return _fields_failed(request, ticket, form, errors=_error_messages(exc), status=409)
        except ValidationError as exc:
            return _fields_failed(request, ticket, form, errors=_error_messages(exc), status=400)
    moved = _moved_away(request, ticket)
    if moved is not None:
        return moved
    if not _is_htmx(request):
        return redirect("web:ticket", number=ticket.number)
    ticket = _reload_ticket(request, ticket)
    # The header is swapped in place; the conversation and the composer's version come
    # along out-of-band so the draft in the composer survives the agent's own edit.
    return render(request, "web/ticket/_fields_saved.html", _context(request, ticket))


def _form_errors(form: Any) -> list[str]:
    out: list[str] = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else None
        for error in errors:
            out.append(f"{label}: {error}" if label else str(error))
    return out


def _fields_failed(
    request: HttpRequest,
    ticket: Ticket,
    form: TicketFieldsForm,
    *,
    status: int,
    errors: list[str] | None = None,
    conflict: list[Entry] | None = None,
) -> HttpResponse:
    ticket = _reload_ticket(request, ticket)
    extra: dict[str, Any] = {
        "field_errors": errors or [],
        "field_conflict": conflict,
        "current_version": ticket.version,
    }
    if _is_htmx(request):
        response = render(
            request,
            "web/ticket/_header_alerts.html",
            {"ticket": ticket, **extra},
            status=status,
        )
        return _retarget(response, "#header-alerts")
    return _render_page(request, ticket, fields_form=form, status=status, **extra)


# ---------------------------------------------------------------- the composer


@login_required
@require_POST
def ticket_comment(request: HttpRequest, number: int) -> HttpResponse:
    """Send a reply or note, optionally with a macro, a status, or a solve action."""
    ticket = _ticket_or_404(request, number)
    user = _user(request)
    form = ComposerForm(request.POST)
    files = request.FILES.getlist("attachments")
    if not form.is_valid():
        return _composer_failed(request, ticket, form, errors=_form_errors(form), status=400)
    data = form.cleaned_data
    action = form.chosen_action
    version = form.chosen_version
    body = data["body"] or ""
    macro = None
    if data["macro_id"]:
        macro = macros_for(user).filter(pk=data["macro_id"]).first()
        if macro is None:
            return _composer_failed(
                request, ticket, form, errors=[_("That macro no longer exists.")], status=400
            )
    if action == "send" and not body.strip():
        return _composer_failed(
            request, ticket, form, errors=[_("Write a message before sending.")], status=400
        )
    if action == "solve" and not (data["solve_reason"] or "").strip():
        # Checked here too so a reply and its files are not written and rolled back.
        return _composer_failed(
            request,
            ticket,
            form,
            errors=[_("Say why this ticket is solved without the customer's confirmation.")],
            status=400,
        )
    if not body.strip() and files:
        return _composer_failed(
            request,
            ticket,
            form,
            errors=[_("Add a message to go with the attachments.")],
            status=400,
        )
    try:
        # One transaction: a reply sent with "ask to confirm" must not go out on its
        # own when the confirmation request is refused, and vice versa.
        with transaction.atomic():
            if body.strip():
                kwargs: dict[str, Any] = {}
                if action == "send" and data["status"]:
                    kwargs["status"] = data["status"]
                if macro is not None:
                    kwargs["macro"] = macro
                comment = services.comment_add_agent(
                    actor=user,
                    ticket=ticket,
                    body=body,
                    public=data["mode"] != "note",
                    attachments=files,
                    expected_version=version,
                    **kwargs,
                )
                # The comment passed the version check; what follows belongs to it.
                # (No visibility re-check here: a macro may have moved the ticket to
                # another team, and the reply must still be saved.)
                ticket = comment.ticket
                version = ticket.version
            if action == "confirm":
                services.ticket_request_confirmation(
                    actor=user, ticket=ticket, expected_version=version
                )
            elif action == "solve":
                services.ticket_solve(
                    actor=user,
                    ticket=ticket,
                    reason=data["solve_reason"] or "",
                    expected_version=version,
                )
    except services.TicketConflict as exc:
        return _composer_failed(
            request,
            ticket,
            form,
            conflict=_entries(list(exc.changes)),
            action=action,
            files_lost=bool(files),
            status=409,
        )
    except services.TicketClosedError as exc:
        return _composer_failed(request, ticket, form, errors=_error_messages(exc), status=409)
    except ValidationError as exc:
        return _composer_failed(request, ticket, form, errors=_error_messages(exc), status=400)
    moved = _moved_away(request, ticket)
    if moved is not None:
        return moved
    if not _is_htmx(request):
        return redirect(reverse("web:ticket", kwargs={"number": number}) + "#composer")
    ticket = _reload_ticket(request, ticket)
    return render(request, "web/ticket/_main.html", _context(request, ticket))


def _composer_failed(
    request: HttpRequest,
    ticket: Ticket,
    form: ComposerForm,
    *,
    status: int,
    errors: list[str] | None = None,
    conflict: list[Entry] | None = None,
    action: str = "send",
    files_lost: bool = False,
) -> HttpResponse:
    """Show what went wrong without losing the draft and without sending anything.

    With htmx only the alert box above the composer is replaced, so the typed text and
    the chosen files stay in the browser; without it the whole page comes back with
    the draft filled in.
    """
    ticket = _reload_ticket(request, ticket)
    extra: dict[str, Any] = {
        "composer_errors": errors or [],
        "conflict": conflict,
        "conflict_action": action,
        "current_version": ticket.version,
        "files_lost": files_lost and not _is_htmx(request),
    }
    if _is_htmx(request):
        ctx = _context(request, ticket, composer=form, **extra)
        ctx["oob_conversation"] = conflict is not None
        response = render(request, "web/ticket/_composer_alerts.html", ctx, status=status)
        return _retarget(response, "#composer-alerts")
    return _render_page(request, ticket, composer=form, status=status, **extra)


@login_required
@require_GET
def ticket_macro_preview(request: HttpRequest, number: int) -> HttpResponse:
    """What a macro would write and change, shown before anything is sent.

    The macro's text goes after whatever the agent typed, never over it. Picking
    another macro (or none) swaps out the text the previous pick inserted, so
    browsing the list does not pile up texts in the message box.
    """
    ticket = _ticket_or_404(request, number)
    user = _user(request)
    draft = _without_suffix(
        _lf(request.GET.get("body", "")), _lf(request.GET.get("macro_inserted", ""))
    )
    raw = request.GET.get("macro_id", "")
    ctx: dict[str, Any] = {"ticket": ticket, "body": draft, "inserted": ""}
    if raw.isdigit():
        macro = get_object_or_404(macros_for(user), pk=int(raw))
        preview = services.macro_preview(actor=user, ticket=ticket, macro=macro)
        inserted = _lf(preview.body)
        ctx.update(
            macro=macro,
            preview=preview,
            inserted=inserted,
            body=f"{draft.rstrip()}\n\n{inserted}" if draft.strip() else inserted,
            mode="public" if preview.public else "note",
        )
    return render(request, "web/ticket/_macro_preview.html", ctx)


def _lf(text: str) -> str:
    # Browsers submit textareas with CRLF line ends.
    return text.replace("\r\n", "\n")


def _without_suffix(text: str, suffix: str) -> str:
    """``text`` minus a trailing ``suffix`` (what the last macro inserted), if it is
    still there unchanged; an edited insertion is the agent's text now and stays."""
    stripped, tail = text.rstrip(), suffix.rstrip()
    if tail and stripped.endswith(tail):
        return stripped[: -len(tail)].rstrip()
    return text


@login_required
@require_GET
def ticket_activity(request: HttpRequest, number: int) -> HttpResponse:
    """Polled by the open page: who else changed or answered the ticket meanwhile."""
    ticket = _ticket_or_404(request, number)
    user = _user(request)
    try:
        seen = int(request.GET.get("expected_version", ""))
    except ValueError:
        seen = ticket.version
    others = [e for e in _entries(ticket_changes_since(ticket, seen)) if not _is_own(e, user)]
    return render(request, "web/ticket/_activity.html", {"ticket": ticket, "activity": others})


def _is_own(entry: Entry, user: User) -> bool:
    item = entry.item
    if isinstance(item, Comment):
        return item.author_user_id == user.pk
    return item.actor_id == user.pk


@login_required
@require_GET
def attachment_download(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    """Serve a ticket attachment to staff who can see the ticket, never inline."""
    ticket = _ticket_or_404(request, number)
    attachment = get_object_or_404(Attachment, pk=attachment_id, ticket=ticket)
    content_type = attachment.content_type or "application/octet-stream"
    if content_type.split(";")[0].strip().lower() in ACTIVE_CONTENT_TYPES:
        content_type = "application/octet-stream"
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The file is missing.")) from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.filename, content_type=content_type
    )
    response["X-Content-Type-Options"] = "nosniff"
    # Belt and braces should a browser ever render it anyway.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    return response


# ---------------------------------------------------------------- new ticket


@login_required
@require_http_methods(["GET", "POST"])
def ticket_new(request: HttpRequest) -> HttpResponse:
    user = _user(request)
    if not user.has_perm("desk.add_ticket"):
        raise PermissionDenied(_("You do not have permission to do that."))
    form = TicketCreateForm(request.POST or None, request.FILES or None)
    errors: list[str] = []
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        kwargs = {
            k: data[k] for k in ("team", "assignee", "product_area", "feature") if data.get(k)
        }
        try:
            ticket = services.ticket_create(
                actor=user,
                subject=data["subject"],
                description=data["description"],
                requester_email=data["requester_email"],
                requester_name=data["requester_name"],
                channel=data["channel"],
                priority=data["priority"],
                type=data["type"],
                tags=parse_tags(data["tags"]),
                attachments=request.FILES.getlist("attachments"),
                **kwargs,
            )
        except ValidationError as exc:
            errors = _error_messages(exc)
        else:
            return redirect("web:ticket", number=ticket.number)
    status = 400 if request.method == "POST" else 200
    return render(request, "web/ticket/new.html", {"form": form, "errors": errors}, status=status)


urlpatterns = [
    path("tickets/new/", ticket_new, name="ticket_new"),
    path("tickets/<int:number>/", ticket_detail, name="ticket"),
    path("tickets/<int:number>/fields/", ticket_fields, name="ticket_fields"),
    path("tickets/<int:number>/comments/", ticket_comment, name="ticket_comment"),
    path("tickets/<int:number>/macro-preview/", ticket_macro_preview, name="ticket_macro_preview"),
    path("tickets/<int:number>/activity/", ticket_activity, name="ticket_activity"),
    path(
        "tickets/<int:number>/attachments/<int:attachment_id>/",
        attachment_download,
        name="attachment_download",
    ),
    *macro_urlpatterns,
]
