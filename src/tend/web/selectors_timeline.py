"""The account 360 timeline: one newest-first list merged from every app that records
something about an account.

Each source is read with its own bounded query (at most ``limit`` rows before
``before``), then the lists are merged; a source the viewer may not read is skipped,
so the timeline never shows more than the rest of the UI would.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from itertools import pairwise
from typing import Literal

from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.models import User
from tend.crm.models import Account, Touchpoint, TouchpointKind
from tend.crm.selectors import touchpoint_can_delete
from tend.desk.selectors import tickets_visible_to
from tend.health.models import Band, HealthSnapshot
from tend.success.models import Task, TaskStatus
from tend.surveys.models import Response, SurveyKind
from tend.usage.models import DailyRollup

Kind = Literal[
    "ticket_opened",
    "ticket_solved",
    "usage_change",
    "note",
    "call",
    "meeting",
    "email",
    "task_raised",
    "task_closed",
    "health_change",
    "survey_response",
]

# A week's event count that moves at least this much from the week before is news.
USAGE_CHANGE_RATIO = 0.30
# A survey comment is shown up to this many characters on the timeline.
SURVEY_COMMENT_EXCERPT = 300
# How far back the derived entries (usage weeks, band changes) look per page.
USAGE_WEEKS = 26
HEALTH_DAYS = 366


@dataclass(frozen=True)
class TimelineEntry:
    kind: Kind
    when: dt.datetime
    title: str
    link: str = ""
    detail: str = ""
    # "up"/"down" for a usage change, the new band for a band change.
    tone: str = ""
    # Who wrote a note or logged a call.
    actor: str = ""
    # Where the viewer may take the entry off the timeline (touchpoints).
    remove_url: str = ""


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def account_timeline(
    account: Account, *, user: User, limit: int = 100, before: dt.datetime | None = None
) -> list[TimelineEntry]:
    """Newest first, at most ``limit`` entries strictly older than ``before``."""
    end = before or timezone.now() + dt.timedelta(seconds=1)
    entries: list[TimelineEntry] = []
    entries += _tickets(account, user, limit, end)
    if user.has_perm("crm.view_touchpoint"):
        entries += _touchpoints(account, user, limit, end)
    if user.has_perm("success.view_task"):
        entries += _tasks(account, limit, end)
    if user.has_perm("usage.view_dailyrollup") or user.has_perm("usage.view_metricvalue"):
        entries += _usage_changes(account, end)
    if user.has_perm("health.view_healthsnapshot"):
        entries += _band_changes(account, end)
    if user.has_perm("surveys.view_response"):
        entries += _survey_responses(account, limit, end)
    entries = [e for e in entries if e.when < end]
    # Kind as a tie-breaker keeps entries of the same instant in a stable order.
    entries.sort(key=lambda e: (e.when, e.kind), reverse=True)
    return entries[:limit]


def _tickets(account: Account, user: User, limit: int, end: dt.datetime) -> list[TimelineEntry]:
    tickets = tickets_visible_to(user).filter(account=account)
    out: list[TimelineEntry] = []
    opened = tickets.filter(created_at__lt=end).order_by("-created_at")
    for number, subject, created_at, requester in opened.values_list(
        "number", "subject", "created_at", "requester__name"
    )[:limit]:
        out.append(
            TimelineEntry(
                kind="ticket_opened",
                when=created_at,
                title=_("Ticket #%(number)d opened: %(subject)s")
                % {"number": number, "subject": subject},
                link=reverse("web:ticket", args=[number]),
                detail=requester or "",
            )
        )
    solved = tickets.filter(solved_at__isnull=False, solved_at__lt=end).order_by("-solved_at")
    for number, subject, solved_at in solved.values_list("number", "subject", "solved_at")[:limit]:
        if solved_at is None:  # excluded by the filter; this tells the type checker
            continue
        out.append(
            TimelineEntry(
                kind="ticket_solved",
                when=solved_at,
                title=_("Ticket #%(number)d solved: %(subject)s")
                % {"number": number, "subject": subject},
                link=reverse("web:ticket", args=[number]),
            )
        )
    return out


def _touchpoints(account: Account, user: User, limit: int, end: dt.datetime) -> list[TimelineEntry]:
    rows = (
        Touchpoint.objects.filter(account=account, happened_at__lt=end)
        .select_related("author", "contact")
        .order_by("-happened_at", "-pk")[:limit]
    )
    out = []
    for tp in rows:
        kind = TouchpointKind(tp.kind)
        who = tp.author.get_full_name() or tp.author.get_username() if tp.author else ""
        with_whom = tp.contact.display_name if tp.contact else ""
        title = tp.subject or str(kind.label)
        if with_whom:
            title = _("%(title)s (with %(contact)s)") % {"title": title, "contact": with_whom}
        out.append(
            TimelineEntry(
                kind=kind.value,  # type: ignore[arg-type]
                when=tp.happened_at,
                title=title,
                detail=tp.body,
                actor=who,
                remove_url=reverse("web:account_touchpoint_delete", args=[tp.pk])
                if touchpoint_can_delete(user, tp)
                else "",
            )
        )
    return out


def _tasks(account: Account, limit: int, end: dt.datetime) -> list[TimelineEntry]:
    tasks = Task.objects.filter(account=account)
    out = []
    raised = tasks.filter(created_at__lt=end).order_by("-created_at")
    for title, reason, created_at in raised.values_list("title", "reason", "created_at")[:limit]:
        out.append(
            TimelineEntry(
                kind="task_raised",
                when=created_at,
                title=_("Task raised: %(title)s") % {"title": title},
                detail=reason,
            )
        )
    closed = tasks.filter(
        status=TaskStatus.CLOSED, closed_at__isnull=False, closed_at__lt=end
    ).order_by("-closed_at")
    for task in closed.only("title", "outcome", "outcome_note", "closed_at")[:limit]:
        assert task.closed_at is not None
        out.append(
            TimelineEntry(
                kind="task_closed",
                when=task.closed_at,
                title=_("Task closed: %(title)s") % {"title": task.title},
                detail=" — ".join(x for x in (task.get_outcome_display(), task.outcome_note) if x),
            )
        )
    return out


def _usage_changes(account: Account, end: dt.datetime) -> list[TimelineEntry]:
    """Completed weeks (Monday to Sunday) whose event count moved ≥ 30% from the week
    before; dated at the moment the week ended."""
    last_day = (end - dt.timedelta(microseconds=1)).date()
    # The newest complete week ends on the Sunday before the week ``last_day`` is in.
    this_monday = last_day - dt.timedelta(days=last_day.weekday())
    first_monday = this_monday - dt.timedelta(weeks=USAGE_WEEKS + 1)
    weekly: dict[dt.date, int] = defaultdict(int)
    rows = (
        DailyRollup.objects.filter(account=account, day__gte=first_monday, day__lt=this_monday)
        .values("day")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for row in rows:
        day: dt.date = row["day"]
        weekly[day - dt.timedelta(days=day.weekday())] += row["n"] or 0
    out = []
    monday = first_monday + dt.timedelta(weeks=1)
    while monday < this_monday:
        previous, current = weekly.get(monday - dt.timedelta(weeks=1), 0), weekly.get(monday, 0)
        if previous or current:
            change = (current - previous) / previous if previous else 1.0
            if abs(change) >= USAGE_CHANGE_RATIO:
                up = current > previous
                if not previous:
                    title = _("Product use began or resumed: %(now)d events in the week") % {
                        "now": current
                    }
                else:
                    title = (
                        _("Weekly product events up %(percent)d%%: %(before)d → %(now)d")
                        if up
                        else _("Weekly product events down %(percent)d%%: %(before)d → %(now)d")
                    ) % {"percent": round(abs(change) * 100), "before": previous, "now": current}
                out.append(
                    TimelineEntry(
                        kind="usage_change",
                        when=_day_start(monday + dt.timedelta(weeks=1)),
                        title=title,
                        tone="up" if up else "down",
                    )
                )
        monday += dt.timedelta(weeks=1)
    return out


def _band_changes(account: Account, end: dt.datetime) -> list[TimelineEntry]:
    """Days whose snapshot band differs from the snapshot before it."""
    last_day = (end - dt.timedelta(microseconds=1)).date()
    rows = list(
        HealthSnapshot.objects.filter(
            account=account,
            day__lte=last_day,
            day__gt=last_day - dt.timedelta(days=HEALTH_DAYS),
        )
        .exclude(band="")
        .order_by("day")
        .values_list("day", "band", "score")
    )
    out = []
    for (_day, old, _score), (day, new, score) in pairwise(rows):
        if old == new:
            continue
        out.append(
            TimelineEntry(
                kind="health_change",
                when=_day_start(day),
                title=_("Health changed from %(old)s to %(new)s")
                % {"old": Band(old).label, "new": Band(new).label},
                detail=_("Score %(score).0f") % {"score": score} if score is not None else "",
                tone=new,
            )
        )
    return out


def _survey_responses(account: Account, limit: int, end: dt.datetime) -> list[TimelineEntry]:
    """Survey answers given for the account: score, type, who, and the comment's start."""
    rows = (
        Response.objects.filter(account=account, created_at__lt=end)
        .select_related("contact")
        .order_by("-created_at", "-pk")[:limit]
    )
    out = []
    for response in rows:
        comment = " ".join(response.comment.split())
        if len(comment) > SURVEY_COMMENT_EXCERPT:
            comment = comment[: SURVEY_COMMENT_EXCERPT - 1].rstrip() + "…"
        out.append(
            TimelineEntry(
                kind="survey_response",
                when=response.created_at,
                title=_("%(kind)s %(score)d/%(top)d from %(contact)s")
                % {
                    "kind": response.get_kind_display(),
                    "score": response.score,
                    "top": response.scale_max,
                    "contact": response.contact.display_name,
                },
                link=reverse("web:contact", args=[response.contact_id]),
                detail=comment,
                tone=_survey_tone(response.kind, response.score, response.scale_max),
            )
        )
    return out


def _survey_tone(kind: str, score: int, scale_max: int) -> str:
    """good / neutral / bad, as the results page splits answers."""
    if kind == SurveyKind.NPS:
        return "good" if score >= 9 else "neutral" if score >= 7 else "bad"
    top = scale_max if kind == SurveyKind.CES else 5
    return "good" if score >= top - 1 else "bad" if score <= 2 else "neutral"
