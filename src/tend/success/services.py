"""Writes of customer-success tasks (calls to action) and of the risk thresholds.

A risk signal raises a task with ``task_raise``: at most one task per account + type +
reason key is alive (open or snoozed) at a time; the database's partial unique
constraint on ``Task.dedupe_key`` makes that hold even when the daily evaluation and a
receiver (say, a new urgent ticket) raise the same signal at the same moment.

Re-raising after a close: a CSM who closes a task has dealt with it, so the same signal
(same dedupe key) stays quiet for ``RAISE_COOLDOWN_DAYS`` after the close, counted in
whole days (never the same day). After that, if the condition still holds, it comes
back as a new task. Signals that name an episode in their reason key (an inactive user
keyed by the day they were last seen, a renewal by its date, an urgent ticket by its
id) never come back for the same episode anyway; the cool-down matters for standing
conditions such as under-used seats or a ticket spike.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Case, TextField, Value, When
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Account, Contact
from tend.desk.models import Channel
from tend.desk.services import ticket_create
from tend.success.models import RiskSettings, Task, TaskOutcome, TaskStatus, TaskType
from tend.surveys.models import Response, SurveyKind

# Days a closed signal stays quiet before the same condition may raise it again.
RAISE_COOLDOWN_DAYS = 7

_TITLE_MAX = 300
# Tasks per UPDATE when Tend closes tasks itself: each brings two parameters to a CASE,
# which keeps a statement well under SQLite's parameter limit.
_AUTO_CLOSE_CHUNK = 300


# --- risk settings ----------------------------------------------------------------


def risk_settings_get() -> RiskSettings:
    """The one settings row, made with the defaults on first use."""
    row = RiskSettings.objects.order_by("pk").first()
    if row is None:
        row, _created = RiskSettings.objects.get_or_create(pk=1)
    return row


RISK_SETTINGS_FIELDS = (
    "user_inactive_days",
    "account_inactive_days",
    "usage_drop_percent",
    "champion_inactive_days",
    "seats_underused_percent",
    "ticket_spike_count",
    "renewal_days",
    "task_due_days",
)


@transaction.atomic
def risk_settings_update(*, actor: User, **changes: Any) -> RiskSettings:
    require_perm(actor, "success.change_risksettings")
    unknown = sorted(set(changes) - set(RISK_SETTINGS_FIELDS))
    if unknown:
        raise ValidationError(_("Unknown settings: %(names)s") % {"names": ", ".join(unknown)})
    row = risk_settings_get()
    errors: dict[str, str] = {}
    for name, value in changes.items():
        if isinstance(value, bool) or not isinstance(value, int):
            errors[name] = _("Enter a whole number.")
            continue
        setattr(row, name, value)
    for name in ("usage_drop_percent", "seats_underused_percent"):
        if name in changes and name not in errors and not 1 <= getattr(row, name) <= 100:
            errors[name] = _("Enter a percentage between 1 and 100.")
    for name in RISK_SETTINGS_FIELDS:
        if name in changes and name not in errors and getattr(row, name) < 1:
            errors[name] = _("Enter a number of at least 1.")
    if errors:
        raise ValidationError(errors)
    row.full_clean()
    row.save()
    return row


# --- raising tasks from signals -------------------------------------------------


def dedupe_key_for(account_id: int, type: str, reason_key: str) -> str:
    return f"{account_id}:{type}:{reason_key}"[:300]


@dataclass(frozen=True)
class Raised:
    task: Task
    created: bool


def _owner_language(owner: User | None) -> str | None:
    return owner.language if owner is not None and owner.language else None


def _render(owner: User | None, text: Callable[[], str]) -> str:
    """Tasks are read by their owner: write the words in the owner's language."""
    language = _owner_language(owner)
    if language is None:
        return text()
    with translation.override(language):
        return text()


def _title(type: str, account: Account, contact: Contact | None) -> str:
    label = str(TaskType(type).label)
    about = contact.display_name if contact is not None else account.name
    return f"{label}: {about}"[:_TITLE_MAX]


def task_raise_full(
    *,
    account: Account,
    type: str,
    reason: str | Callable[[], str],
    reason_key: str,
    contact: Contact | None = None,
    today: date | None = None,
) -> Raised:
    """``task_raise``, also saying whether a new task was made (risks_evaluate counts).

    ``reason`` may be a callable so it is rendered in the owner's language."""
    if type not in TaskType.values or type == TaskType.MANUAL:
        raise ValueError(f"not a risk task type: {type!r}")
    key = dedupe_key_for(account.pk, type, reason_key)
    live = Task.objects.exclude(status=TaskStatus.CLOSED).filter(dedupe_key=key).first()
    if live is not None:
        return Raised(live, False)
    today = today or timezone.localdate()
    quiet_since = today - timedelta(days=RAISE_COOLDOWN_DAYS)
    recent = (
        Task.objects.filter(
            dedupe_key=key,
            status=TaskStatus.CLOSED,
            closed_at__date__gt=quiet_since,
        )
        .order_by("-closed_at")
        .first()
    )
    if recent is not None:
        return Raised(recent, False)
    owner = account.owner
    settings_row = risk_settings_get()
    text: Callable[[], str] = (lambda: reason) if isinstance(reason, str) else reason
    task = Task(
        account=account,
        contact=contact,
        type=type,
        title=_render(owner, lambda: _title(type, account, contact)),
        reason=_render(owner, text),
        dedupe_key=key,
        owner=owner,
        due_on=today + timedelta(days=settings_row.task_due_days),
        status=TaskStatus.OPEN,
    )
    try:
        # A savepoint: losing the race must not break the caller's transaction.
        with transaction.atomic():
            task.save()
    except IntegrityError:
        # Someone else raised the same signal between our read and our insert.
        winner = Task.objects.exclude(status=TaskStatus.CLOSED).get(dedupe_key=key)
        return Raised(winner, False)
    return Raised(task, True)


def task_raise(
    *,
    account: Account,
    type: str,
    reason: str | Callable[[], str],
    reason_key: str,
    contact: Contact | None = None,
) -> Task:
    """Raise the task of a risk signal, or return the one already alive for it (or the
    one closed within the cool-down; see the module docstring). Owned by the account's
    CSM and due ``RiskSettings.task_due_days`` from today."""
    return task_raise_full(
        account=account, type=type, reason=reason, reason_key=reason_key, contact=contact
    ).task


# --- staff actions -----------------------------------------------------------------


def _check_owner(owner: User | None) -> None:
    if owner is not None and not (owner.is_active and owner.has_perm("success.change_task")):
        raise ValidationError(
            {"owner": _("%(name)s cannot work on tasks.") % {"name": owner.display_name}}
        )


@transaction.atomic
def task_create(
    *,
    actor: User,
    account: Account,
    title: str,
    reason: str = "",
    due_on: date | None = None,
    owner: User | None = None,
    contact: Contact | None = None,
) -> Task:
    """A task made by hand (no dedupe: people may well want two similar tasks)."""
    require_perm(actor, "success.add_task")
    title = " ".join((title or "").split())[:_TITLE_MAX]
    if not title:
        raise ValidationError({"title": _("A task needs a title.")})
    if contact is not None and contact.account_id != account.pk:
        raise ValidationError({"contact": _("This contact belongs to another account.")})
    if owner is None:
        owner = account.owner or actor
    _check_owner(owner)
    if due_on is None:
        due_on = timezone.localdate() + timedelta(days=risk_settings_get().task_due_days)
    return Task.objects.create(
        account=account,
        contact=contact,
        type=TaskType.MANUAL,
        title=title,
        reason=reason or "",
        owner=owner,
        due_on=due_on,
        status=TaskStatus.OPEN,
    )


def _lock(task: Task) -> Task:
    return Task.objects.select_for_update().get(pk=task.pk)


def _check_not_closed(task: Task) -> None:
    if task.status == TaskStatus.CLOSED:
        raise ValidationError(_("This task is already closed."))


@transaction.atomic
def task_snooze(*, actor: User, task: Task, until: date) -> Task:
    """Put a task away until a day; it comes back (open) that morning (tasks_wake)."""
    require_perm(actor, "success.change_task")
    task = _lock(task)
    _check_not_closed(task)
    if until <= timezone.localdate():
        raise ValidationError({"until": _("Snooze until a day after today.")})
    task.status = TaskStatus.SNOOZED
    task.snoozed_until = until
    task.save(update_fields=["status", "snoozed_until"])
    return task


@transaction.atomic
def task_close(*, actor: User, task: Task, outcome: str, note: str = "") -> Task:
    require_perm(actor, "success.change_task")
    if outcome not in TaskOutcome.values:
        raise ValidationError({"outcome": _("Choose an outcome.")})
    task = _lock(task)
    _check_not_closed(task)
    task.status = TaskStatus.CLOSED
    task.outcome = outcome
    task.outcome_note = (note or "").strip()
    task.snoozed_until = None
    task.closed_at = timezone.now()
    task.save(update_fields=["status", "outcome", "outcome_note", "snoozed_until", "closed_at"])
    return task


@transaction.atomic
def task_reopen(*, actor: User, task: Task) -> Task:
    """Bring a snoozed task back now."""
    require_perm(actor, "success.change_task")
    task = _lock(task)
    _check_not_closed(task)
    task.status = TaskStatus.OPEN
    task.snoozed_until = None
    task.save(update_fields=["status", "snoozed_until"])
    return task


@transaction.atomic
def task_reassign(*, actor: User, task: Task, owner: User | None) -> Task:
    require_perm(actor, "success.change_task")
    _check_owner(owner)
    task = _lock(task)
    _check_not_closed(task)
    task.owner = owner
    task.save(update_fields=["owner"])
    return task


def tasks_close_automatically(*, notes: Mapping[int, str], outcome: str) -> int:
    """Close tasks whose condition Tend saw go away by itself: ``notes`` maps each task
    id to its outcome note. Nobody acted, so nobody's permission is checked and no actor
    is recorded. A task a person closed meanwhile keeps their outcome and note.

    One UPDATE per 300 tasks, whatever their notes; returns how many were closed."""
    if outcome not in TaskOutcome.values:
        raise ValueError(f"not a task outcome: {outcome!r}")
    ids = list(notes)
    now = timezone.now()
    closed = 0
    with transaction.atomic():
        for start in range(0, len(ids), _AUTO_CLOSE_CHUNK):
            chunk = ids[start : start + _AUTO_CLOSE_CHUNK]
            note = Case(
                *[When(pk=pk, then=Value(notes[pk])) for pk in chunk],
                default=Value(""),
                output_field=TextField(),
            )
            closed += (
                Task.objects.filter(pk__in=chunk)
                .exclude(status=TaskStatus.CLOSED)
                .update(
                    status=TaskStatus.CLOSED,
                    outcome=outcome,
                    outcome_note=note,
                    snoozed_until=None,
                    closed_at=now,
                )
            )
    return closed


def tasks_wake(*, day: date | None = None) -> int:
    """Open again the snoozed tasks whose day has come; returns how many."""
    day = day or timezone.localdate()
    return Task.objects.filter(status=TaskStatus.SNOOZED, snoozed_until__lte=day).update(
        status=TaskStatus.OPEN, snoozed_until=None
    )


# --- closing the loop on survey answers ---------------------------------------------


def survey_score_is_low(kind: str, score: int, scale_max: int) -> bool:
    """An answer someone should call back about: an NPS detractor (0–6), a CSAT of 1–2,
    or a CES in the bottom two points of its scale (1–2 on 1–5 and on 1–7)."""
    if kind == SurveyKind.NPS:
        return score <= 6
    return score <= 2 if kind in (SurveyKind.CSAT, SurveyKind.CES) else False


@dataclass(frozen=True)
class FollowUp:
    task: Task | None
    ticket_id: int | None


def survey_follow_up(*, response_id: int) -> FollowUp:
    """Close the loop on one survey answer: a low score raises a SURVEY_FOLLOW_UP task for
    the account's CSM (one per response, however often the answer is edited within its
    24 hours) and, when the survey says so, opens a ticket for the contact, once, with
    the task that first noticed it. Answers that are not low, or that belong to no
    account, do nothing."""
    response = (
        Response.objects.select_related("survey", "contact", "account__owner", "ticket")
        .filter(pk=response_id)
        .first()
    )
    if response is None or response.account is None:
        return FollowUp(None, None)
    if not survey_score_is_low(response.kind, response.score, response.scale_max):
        return FollowUp(None, None)
    account, contact = response.account, response.contact
    kind_label = str(response.get_kind_display())
    score = f"{response.score}/{response.scale_max}"
    comment = " ".join(response.comment.split())

    def reason() -> str:
        text = _("%(name)s answered %(kind)s with %(score)s.") % {
            "name": contact.display_name,
            "kind": kind_label,
            "score": score,
        }
        if comment:
            text += " " + _("Comment: “%(comment)s”") % {"comment": comment[:500]}
        return text

    with transaction.atomic():
        raised = task_raise_full(
            account=account,
            type=TaskType.SURVEY_FOLLOW_UP,
            reason=reason,
            reason_key=f"response:{response.pk}",
            # The person may have moved on since answering: link them only if still here.
            contact=contact if contact.account_id == account.pk else None,
        )
        ticket_id: int | None = None
        # Only with the task that was just made: an edited answer must not open a second
        # ticket. Without an address there is nobody to write back to.
        if raised.created and response.survey.open_ticket_on_low_score and contact.email:
            ticket = ticket_create(
                actor=None,
                subject=_("Follow up on a low %(kind)s answer (%(score)s)")
                % {"kind": kind_label, "score": score},
                description=reason(),
                requester_email=contact.email,
                requester_name=contact.name,
                channel=Channel.API,
                follow_up_of=response.ticket,
            )
            ticket_id = ticket.pk
    return FollowUp(raised.task, ticket_id)
