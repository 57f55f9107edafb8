"""Risk signals: find accounts that are quietly failing and raise a task for each.

``risks_evaluate`` runs daily (success/tasks.py) over every account, set-based: each
signal is one or two queries for all accounts (success/inputs.py), then only the
signals without a live task cost a write. Receivers (success/receivers.py) evaluate the
cheap signals at once when something happens (an urgent ticket, a band turning red, a
champion removed).

Reason keys decide what "the same signal" is (see success/services.py on dedupe and
the cool-down): inactivity is keyed by the day the person or account was last seen, so
one stretch of silence raises one task however long it lasts; a renewal by its date; an
urgent ticket by its id; standing conditions (usage drop, seats, ticket spike) by a
fixed key, so they come back after the cool-down if still true.

Inactivity tasks also clear themselves: when product activity arrives (usage's
``events_ingested``), ``risk_tasks_clear_on_activity`` closes the user- and
account-inactive tasks whose person or account has been seen since the task was raised.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import F, Q
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tend.crm.models import Account, Contact, Role
from tend.health.models import Band
from tend.success import inputs
from tend.success.models import RiskSettings, Task, TaskOutcome, TaskStatus, TaskType
from tend.success.services import (
    RAISE_COOLDOWN_DAYS,
    dedupe_key_for,
    risk_settings_get,
    task_raise_full,
    tasks_close_automatically,
)

# A week-over-week drop means little on a handful of events: the week before must have
# at least this many for the usage-drop signal to speak.
USAGE_DROP_MIN_EVENTS = 20
# Inactivity is raised when someone crosses the threshold; people gone much longer than
# that were raised back then (or predate Tend): do not flood a new install with them.
INACTIVE_LOOKBACK_DAYS = 90
# Seat use is measured over this window, and only for subscriptions at least this old.
SEATS_WINDOW_DAYS = 30
# "Champion or decision maker": the roles whose loss puts the renewal at risk.
KEY_ROLES = (Role.CHAMPION, Role.DECISION_MAKER)

SIGNALS = (
    TaskType.USER_INACTIVE,
    TaskType.ACCOUNT_INACTIVE,
    TaskType.USAGE_DROP,
    TaskType.CHAMPION_GONE,
    TaskType.SEATS_UNDERUSED,
    TaskType.TICKET_SPIKE,
    TaskType.URGENT_TICKET,
    TaskType.RENEWAL_AT_RISK,
)


@dataclass(frozen=True)
class Signal:
    account_id: int
    type: str
    reason_key: str
    reason: Callable[[], str]  # rendered later, in the task owner's language
    contact_id: int | None = None

    @property
    def dedupe_key(self) -> str:
        return dedupe_key_for(self.account_id, self.type, self.reason_key)


def _day_text(value: date) -> str:
    return date_format(value, "SHORT_DATE_FORMAT")


def _days_text(days: int) -> str:
    return ngettext("%(days)d day", "%(days)d days", days) % {"days": days}


def _roles_text(roles: Iterable[str]) -> str:
    return ", ".join(str(Role(r).label).lower() for r in roles)


# --- the signals -------------------------------------------------------------------


def _inactive_people(
    account_ids: Collection[int] | None, day: date, rules: RiskSettings
) -> list[Signal]:
    """Users, and champions/decision makers, silent for their thresholds. One query."""
    start = inputs.start_of(day)
    user_before = start - timedelta(days=rules.user_inactive_days)
    key_before = start - timedelta(days=rules.champion_inactive_days)
    before = max(user_before, key_before)
    since = start - timedelta(
        days=max(rules.user_inactive_days, rules.champion_inactive_days) + INACTIVE_LOOKBACK_DAYS
    )
    found: list[Signal] = []
    rows = inputs.contacts_last_seen_between(account_ids, since, before)
    for row in rows:
        seen_day = timezone.localdate(row.last_seen_at)
        days = (day - seen_day).days
        name = row.name  # blank: "A user", in the owner's language (see _who)
        key_roles = [str(r) for r in KEY_ROLES if r in row.roles]
        if key_roles and row.last_seen_at < key_before:
            found.append(
                Signal(
                    row.account_id,
                    TaskType.CHAMPION_GONE,
                    f"{row.id}:inactive:{seen_day.isoformat()}",
                    _reason_key_person_inactive(name, key_roles, days, seen_day),
                    row.id,
                )
            )
        elif Role.USER in row.roles and row.last_seen_at < user_before:
            found.append(
                Signal(
                    row.account_id,
                    TaskType.USER_INACTIVE,
                    f"{row.id}:{seen_day.isoformat()}",
                    _reason_user_inactive(name, days, seen_day),
                    row.id,
                )
            )
    return found


def _who(name: str) -> str:
    return name or _("A user")


def _reason_user_inactive(name: str, days: int, seen: date) -> Callable[[], str]:
    return lambda: (
        _("%(name)s has not used the product for %(days)s (last seen %(date)s).")
        % {
            "name": _who(name),
            "days": _days_text(days),
            "date": _day_text(seen),
        }
    )


def _reason_key_person_inactive(
    name: str, roles: list[str], days: int, seen: date
) -> Callable[[], str]:
    return lambda: (
        _("%(name)s (%(roles)s) has not used the product for %(days)s (last seen %(date)s).")
        % {
            "name": _who(name),
            "roles": _roles_text(roles),
            "days": _days_text(days),
            "date": _day_text(seen),
        }
    )


def _inactive_accounts(
    account_ids: Collection[int] | None, day: date, rules: RiskSettings
) -> list[Signal]:
    start = inputs.start_of(day)
    before = start - timedelta(days=rules.account_inactive_days)
    since = before - timedelta(days=INACTIVE_LOOKBACK_DAYS)
    found = []
    for account_id, seen_at in inputs.accounts_last_seen_between(
        account_ids, since, before
    ).items():
        seen_day = timezone.localdate(seen_at)
        days = (day - seen_day).days

        def reason(days: int = days, seen_day: date = seen_day) -> str:
            return _("No one has used the product for %(days)s (last seen %(date)s).") % {
                "days": _days_text(days),
                "date": _day_text(seen_day),
            }

        found.append(Signal(account_id, TaskType.ACCOUNT_INACTIVE, seen_day.isoformat(), reason))
    return found


def _usage_drops(
    account_ids: Collection[int] | None, day: date, rules: RiskSettings
) -> list[Signal]:
    found = []
    for account_id, (last_week, week_before) in inputs.weekly_counts(account_ids, day).items():
        if week_before < USAGE_DROP_MIN_EVENTS or last_week >= week_before:
            continue
        drop = round((week_before - last_week) * 100 / week_before)
        if drop < rules.usage_drop_percent:
            continue

        def reason(drop: int = drop, last: int = last_week, before: int = week_before) -> str:
            return _(
                "Usage fell %(drop)s%% week over week: %(last)s events in the last 7 days, "
                "%(before)s in the 7 before (alert at %(threshold)s%%)."
            ) % {
                "drop": drop,
                "last": last,
                "before": before,
                "threshold": rules.usage_drop_percent,
            }

        found.append(Signal(account_id, TaskType.USAGE_DROP, "weekly", reason))
    return found


def _underused_seats(
    account_ids: Collection[int] | None, day: date, rules: RiskSettings
) -> list[Signal]:
    paid = inputs.seats(account_ids, day, SEATS_WINDOW_DAYS)
    if not paid:
        return []
    active = inputs.active_users(list(paid), day, SEATS_WINDOW_DAYS)
    found = []
    for account_id, seats in paid.items():
        used = active.get(account_id, 0)
        share = round(used * 100 / seats)
        if used * 100 >= rules.seats_underused_percent * seats:
            continue

        def reason(used: int = used, seats: int = seats, share: int = share) -> str:
            return _(
                "%(used)s of %(seats)s seats active in 30 days (%(share)s%% < %(threshold)s%%)."
            ) % {
                "used": used,
                "seats": seats,
                "share": share,
                "threshold": rules.seats_underused_percent,
            }

        found.append(Signal(account_id, TaskType.SEATS_UNDERUSED, "seats", reason))
    return found


def _ticket_spikes(
    account_ids: Collection[int] | None, day: date, rules: RiskSettings
) -> list[Signal]:
    since = inputs.start_of(day - timedelta(days=6))
    found = []
    for account_id, count in inputs.tickets_since(account_ids, since).items():
        if count < rules.ticket_spike_count:
            continue

        def reason(count: int = count) -> str:
            return _("%(count)s tickets in the last 7 days (alert at %(threshold)s).") % {
                "count": count,
                "threshold": rules.ticket_spike_count,
            }

        found.append(Signal(account_id, TaskType.TICKET_SPIKE, "spike", reason))
    return found


def _urgent_tickets(
    account_ids: Collection[int] | None, day: date, rules: RiskSettings
) -> list[Signal]:
    since = inputs.start_of(day - timedelta(days=6))
    found = []
    for ticket in inputs.urgent_tickets_since(account_ids, since):

        def reason(number: int = ticket.number, subject: str = ticket.subject) -> str:
            return _("Urgent ticket #%(number)s: %(subject)s") % {
                "number": number,
                "subject": subject,
            }

        found.append(
            Signal(ticket.account_id, TaskType.URGENT_TICKET, f"ticket:{ticket.id}", reason)
        )
    return found


def _renewals_at_risk(
    account_ids: Collection[int] | None, day: date, rules: RiskSettings
) -> list[Signal]:
    found = []
    renewing = inputs.renewals_while(account_ids, day, rules.renewal_days, Band.RED)
    for account_id, renews_on in renewing.items():

        def reason(renews_on: date = renews_on) -> str:
            return _("Renews on %(date)s (in %(days)s) while health is red.") % {
                "date": _day_text(renews_on),
                "days": _days_text((renews_on - day).days),
            }

        found.append(Signal(account_id, TaskType.RENEWAL_AT_RISK, renews_on.isoformat(), reason))
    return found


_FINDERS: dict[str, Callable[[Collection[int] | None, date, RiskSettings], list[Signal]]] = {
    "people": _inactive_people,
    TaskType.ACCOUNT_INACTIVE: _inactive_accounts,
    TaskType.USAGE_DROP: _usage_drops,
    TaskType.SEATS_UNDERUSED: _underused_seats,
    TaskType.TICKET_SPIKE: _ticket_spikes,
    TaskType.URGENT_TICKET: _urgent_tickets,
    TaskType.RENEWAL_AT_RISK: _renewals_at_risk,
}
_PEOPLE = {TaskType.USER_INACTIVE, TaskType.CHAMPION_GONE}


def signals_find(
    *, day: date, account_ids: Collection[int] | None = None, only: Collection[str] | None = None
) -> list[Signal]:
    """Every signal that holds on ``day`` (before dedupe)."""
    rules = risk_settings_get()
    found: list[Signal] = []
    for name, finder in _FINDERS.items():
        types = _PEOPLE if name == "people" else {name}
        if only is not None and not types & set(only):
            continue
        found += [s for s in finder(account_ids, day, rules) if only is None or s.type in only]
    return found


def _already_handled(keys: list[str], day: date) -> set[str]:
    """Keys with a live task, or closed within the cool-down: two queries per 500 keys."""
    quiet_since = day - timedelta(days=RAISE_COOLDOWN_DAYS)
    handled: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i : i + 500]
        handled.update(
            Task.objects.filter(dedupe_key__in=chunk)
            .filter(~Q(status=TaskStatus.CLOSED) | Q(closed_at__date__gt=quiet_since))
            .values_list("dedupe_key", flat=True)
        )
    return handled


def signals_raise(signals: list[Signal], *, day: date) -> int:
    """Raise a task for each signal not already handled; returns how many were made."""
    if not signals:
        return 0
    handled = _already_handled(list({s.dedupe_key for s in signals}), day)
    fresh = [s for s in signals if s.dedupe_key not in handled]
    if not fresh:
        return 0
    accounts = Account.objects.select_related("owner").in_bulk({s.account_id for s in fresh})
    contact_ids = {s.contact_id for s in fresh if s.contact_id is not None}
    contacts = Contact.objects.in_bulk(contact_ids) if contact_ids else {}
    made = 0
    for signal in fresh:
        account = accounts.get(signal.account_id)
        if account is None:
            continue
        contact = contacts.get(signal.contact_id) if signal.contact_id else None
        raised = task_raise_full(
            account=account,
            type=signal.type,
            reason=signal.reason,
            reason_key=signal.reason_key,
            contact=contact,
            today=day,
        )
        made += raised.created
    return made


def risks_evaluate(
    *,
    day: date | None = None,
    account_ids: Collection[int] | None = None,
    only: Collection[str] | None = None,
) -> int:
    """Evaluate the risk signals (all, or ``only`` these task types) for every account
    (or ``account_ids``) as of ``day``; returns the number of tasks raised."""
    day = day or timezone.localdate()
    return signals_raise(signals_find(day=day, account_ids=account_ids, only=only), day=day)


# --- conditions that went away ------------------------------------------------------


def risk_tasks_clear_on_activity(*, account_ids: Collection[int] | None) -> int:
    """Close, as resolved, the live (open or snoozed) inactivity tasks of these accounts
    (None: of every account) whose account or person has been seen since the task was
    raised: the silence it was about has ended. Last-seen is the newest event's own
    time, so an old event arriving late does not count. Returns how many tasks were
    closed.

    One query finds the tasks with the last-seen times, one UPDATE closes them (per 300
    tasks), however many accounts there are. Other task types are never touched."""
    if account_ids is not None and not account_ids:
        return 0
    # An inactive account answers to the account's last-seen, an inactive user to the
    # last-seen of the person the task names; so does a champion or decision maker who
    # went quiet (reason key "<contact>:inactive:<day>"), but not one who lost the role
    # or was deleted: that needs a person to look.
    person_seen = Q(contact__last_seen_at__gt=F("created_at"))
    seen_since_raised = (
        Q(type=TaskType.ACCOUNT_INACTIVE, account__last_seen_at__gt=F("created_at"))
        | Q(person_seen, type=TaskType.USER_INACTIVE)
        | Q(person_seen, type=TaskType.CHAMPION_GONE, dedupe_key__contains=":inactive:")
    )
    rows = (
        Task.objects.filter(
            *([Q(account_id__in=list(account_ids))] if account_ids is not None else []),
            status__in=[TaskStatus.OPEN, TaskStatus.SNOOZED],
        )
        .filter(seen_since_raised)
        .values_list(
            "pk", "type", "account__last_seen_at", "contact__last_seen_at", "owner__language"
        )
    )
    notes: dict[int, str] = {}
    for pk, type, account_seen, contact_seen, language in rows:
        seen_at = account_seen if type == TaskType.ACCOUNT_INACTIVE else contact_seen
        notes[pk] = _in_language(language, _resumed_note(timezone.localdate(seen_at)))
    if not notes:
        return 0
    return tasks_close_automatically(notes=notes, outcome=TaskOutcome.RESOLVED)


def _resumed_note(day: date) -> Callable[[], str]:
    return lambda: _("Activity resumed on %(date)s.") % {"date": _day_text(day)}


def _in_language(language: str | None, text: Callable[[], str]) -> str:
    """The note is read by the task's owner: write it in their language."""
    if not language:
        return text()
    with translation.override(language):
        return text()
