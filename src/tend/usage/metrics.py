"""Metric definitions (Managers define them) and the computation of their daily values.

A metric is computed for a window of 7, 30 or 90 days that ends on the given day
(inclusive; days are UTC days, like the rollups). ``metrics_compute`` works set-based:
one GROUP BY over the daily rollups for all accounts and all metrics at once (plus one
over raw events per property-filtered metric), then one batched upsert. It never runs a
query per account.

What is stored, per metric and day:

- one row per account in scope (contact null), always — so history charts have no gaps;
  seat share is skipped for accounts without seats;
- one row per contact only where it says something: a contact with no matching
  activity in the window has no row, and selectors read the kind's default
  (``metric_default``: 0 for counts and active users, the window length for days since).

Values:

- event_count: how many times the event happened in the window;
- active_users: distinct contacts with the event (or with any event, when none is set);
  a contact's own value is 1 when active;
- seat_share: active users ÷ seats of the account's trial/active/past-due subscriptions
  (a fraction; 1.0 = every seat used; may exceed 1); no value when there are no seats;
- days_since: whole days from the last matching activity to the day; when there was none
  in the window the value is the window length ("that long or longer").

Property-filtered metrics read raw events, which are only kept for
``TEND_EVENTS_KEEP_DAYS`` (90 by default), so their window may not be longer than that.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Max, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Account
from tend.crm.selectors import accounts_seats
from tend.usage.models import DailyRollup, Event, Metric, MetricKind, MetricRole, MetricValue

# One reading of TEND_EVENTS_KEEP_DAYS (setting or environment) for pruning and windows.
from tend.usage.services import events_keep_days

METRIC_FIELDS = (
    "name",
    "kind",
    "event",
    "property_name",
    "property_value",
    "window_days",
    "role",
    "is_active",
)
# Kinds that have a value per contact (a share of seats only means something per account).
CONTACT_KINDS = (MetricKind.EVENT_COUNT, MetricKind.ACTIVE_USERS, MetricKind.DAYS_SINCE_ACTIVITY)
_UPSERT_BATCH = 500
# At most this many accounts per IN (...) and per transaction.
_ACCOUNTS_PER_TRANSACTION = 500


def today_utc() -> date:
    return timezone.now().astimezone(UTC).date()


def metric_default(metric: Metric) -> float | None:
    """The value of a contact that has no stored row for ``metric`` on a computed day."""
    if metric.kind == MetricKind.DAYS_SINCE_ACTIVITY:
        return float(metric.window_days)
    if metric.kind == MetricKind.SEAT_SHARE:
        return None
    return 0.0


# --- definitions --------------------------------------------------------------------


def _clean(metric: Metric) -> None:
    for name in ("name", "event", "property_name", "property_value"):
        setattr(metric, name, (getattr(metric, name) or "").strip())
    errors: dict[str, list[str]] = {}
    try:
        metric.full_clean()
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if metric.kind == MetricKind.EVENT_COUNT and not metric.event:
        errors.setdefault("event", []).append(_("Name the event to count."))
    if bool(metric.property_name) != bool(metric.property_value):
        target = "property_value" if metric.property_name else "property_name"
        errors.setdefault(target, []).append(
            _("Give both the property and the value it must have, or neither.")
        )
    if metric.property_name and metric.window_days > events_keep_days():
        errors.setdefault("window_days", []).append(
            _(
                "A property filter reads raw events, which are kept for %(days)s days; "
                "choose a shorter window."
            )
            % {"days": events_keep_days()}
        )
    if errors:
        raise ValidationError(errors)


def _compute_soon(metric: Metric) -> None:
    # Values for today right away, so a new or changed metric does not read empty
    # until the nightly run. Enqueued after commit so the worker sees the row.
    if not metric.is_active:
        return

    def enqueue() -> None:
        from tend.usage.metrics_tasks import metric_compute_today

        metric_compute_today.enqueue(metric.pk)

    transaction.on_commit(enqueue)


@transaction.atomic
def metric_create(
    *,
    actor: User | None,
    name: str,
    kind: str,
    event: str = "",
    property_name: str = "",
    property_value: str = "",
    window_days: int = 30,
    role: str = MetricRole.LEADING,
    is_active: bool = True,
) -> Metric:
    """Define a metric. ``actor`` None means the system (demo seed, commands)."""
    if actor is not None:
        require_perm(actor, "usage.add_metric")
    metric = Metric(
        name=name,
        kind=kind,
        event=event,
        property_name=property_name,
        property_value=property_value,
        window_days=window_days,
        role=role,
        is_active=is_active,
    )
    _clean(metric)
    metric.save()
    _compute_soon(metric)
    return metric


@transaction.atomic
def metric_update(*, actor: User | None, metric: Metric, **changes: Any) -> Metric:
    """Change a metric's definition. Values already stored for earlier days keep what the
    old definition measured; from today on the new one applies."""
    if actor is not None:
        require_perm(actor, "usage.change_metric")
    unknown = set(changes) - set(METRIC_FIELDS)
    if unknown:
        raise TypeError(f"metric_update() got unknown fields: {sorted(unknown)}")
    metric = Metric.objects.select_for_update().get(pk=metric.pk)
    changed = [name for name, value in changes.items() if getattr(metric, name) != value]
    for name in changed:
        setattr(metric, name, changes[name])
    if not changed:
        return metric
    _clean(metric)
    metric.save(update_fields=changed)
    _compute_soon(metric)
    return metric


# --- computation --------------------------------------------------------------------


@dataclass
class _Activity:
    """Per (account, contact|None): matching count and the last day it happened."""

    rows: dict[tuple[int, int | None], tuple[int, date | None]] = field(default_factory=dict)


def _window_start(day: date, window_days: int) -> date:
    return day - timedelta(days=window_days - 1)


def _rollup_activity(
    metrics: Sequence[Metric], day: date, account_ids: Sequence[int] | None
) -> dict[tuple[str, int], _Activity]:
    """One GROUP BY account, contact over the rollups of the longest window, with a
    conditional SUM and MAX per distinct (event, window) the metrics need."""
    signatures = sorted({(m.event, m.window_days) for m in metrics})
    if not signatures:
        return {}
    # The last active day costs a second CASE per row; only days-since needs it.
    wants_last = {
        (m.event, m.window_days) for m in metrics if m.kind == MetricKind.DAYS_SINCE_ACTIVITY
    }
    longest = max(window for _event, window in signatures)
    qs = DailyRollup.objects.filter(
        day__gte=_window_start(day, longest), day__lte=day, account__isnull=False
    )
    if account_ids is not None:
        qs = qs.filter(account_id__in=account_ids)
    if all(event for event, _window in signatures):
        qs = qs.filter(event__in={event for event, _window in signatures})
    aggregates: dict[str, Any] = {}
    for i, (event, window) in enumerate(signatures):
        condition = Q(day__gte=_window_start(day, window)) if window < longest else Q()
        if event:
            condition &= Q(event=event)
        aggregates[f"n{i}"] = Sum("count", filter=condition) if condition else Sum("count")
        if (event, window) in wants_last:
            aggregates[f"d{i}"] = Max("day", filter=condition) if condition else Max("day")
    names = list(aggregates)
    rows = (
        qs.order_by()
        .values("account_id", "contact_id")
        .annotate(**aggregates)
        .values_list("account_id", "contact_id", *names)
    )
    found = {sig: _Activity() for sig in signatures}
    for account_id, contact_id, *values in rows.iterator(chunk_size=5000):
        got = dict(zip(names, values, strict=True))
        for i, sig in enumerate(signatures):
            count = got[f"n{i}"]
            if count:
                found[sig].rows[(account_id, contact_id)] = (count, got.get(f"d{i}"))
    return found


def _property_q(metric: Metric) -> Q:
    """Events whose property equals the value, whether the product sent it as a string,
    a number or a boolean (a definition made in a form only has the text)."""
    key = f"properties__{metric.property_name}"
    raw = metric.property_value
    q = Q(**{key: raw})
    if raw.lower() in ("true", "false"):
        q |= Q(**{key: raw.lower() == "true"})
    else:
        try:
            number = float(raw)
        except ValueError:
            pass
        else:
            q |= Q(**{key: int(number) if number.is_integer() else number})
    return q


def _event_activity(metric: Metric, day: date, account_ids: Sequence[int] | None) -> _Activity:
    start = datetime.combine(_window_start(day, metric.window_days), time.min, tzinfo=UTC)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
    qs = Event.objects.filter(timestamp__gte=start, timestamp__lt=end, account__isnull=False)
    if account_ids is not None:
        qs = qs.filter(account_id__in=account_ids)
    if metric.event:
        qs = qs.filter(name=metric.event)
    qs = qs.filter(_property_q(metric))
    rows = (
        qs.order_by()
        .values("account_id", "contact_id")
        .annotate(n=Count("id"), last=Max("timestamp"))
        .values_list("account_id", "contact_id", "n", "last")
    )
    activity = _Activity()
    for account_id, contact_id, n, last in rows.iterator(chunk_size=5000):
        activity.rows[(account_id, contact_id)] = (n, last.astimezone(UTC).date())
    return activity


def _values_for(
    metric: Metric,
    activity: _Activity,
    day: date,
    account_ids: Sequence[int],
    seats: dict[int, int],
) -> list[tuple[int, int | None, float]]:
    """(account_id, contact_id|None, value) rows to store for one metric."""
    total: dict[int, int] = defaultdict(int)
    active: dict[int, int] = defaultdict(int)
    last: dict[int, date] = {}
    out: list[tuple[int, int | None, float]] = []
    kind = metric.kind
    for (account_id, contact_id), (count, last_day) in activity.rows.items():
        total[account_id] += count
        if last_day is not None and (account_id not in last or last_day > last[account_id]):
            last[account_id] = last_day
        if contact_id is None:
            continue
        active[account_id] += 1
        if kind == MetricKind.EVENT_COUNT:
            out.append((account_id, contact_id, float(count)))
        elif kind == MetricKind.ACTIVE_USERS:
            out.append((account_id, contact_id, 1.0))
        elif kind == MetricKind.DAYS_SINCE_ACTIVITY and last_day is not None:
            out.append((account_id, contact_id, float((day - last_day).days)))
    for account_id in account_ids:
        if kind == MetricKind.EVENT_COUNT:
            out.append((account_id, None, float(total.get(account_id, 0))))
        elif kind == MetricKind.ACTIVE_USERS:
            out.append((account_id, None, float(active.get(account_id, 0))))
        elif kind == MetricKind.SEAT_SHARE:
            if seats.get(account_id):
                out.append((account_id, None, active.get(account_id, 0) / seats[account_id]))
        elif kind == MetricKind.DAYS_SINCE_ACTIVITY:
            seen = last.get(account_id)
            value = (day - seen).days if seen is not None else metric.window_days
            out.append((account_id, None, float(value)))
    return out


def _upsert(rows: list[tuple[int, int, int | None, date, float]]) -> None:
    """Insert or replace values; the conflict target is the unique index
    ``metricvalue_unique_key`` (contact null counts as one value)."""
    table = connection.ops.quote_name(MetricValue._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(rows), _UPSERT_BATCH):
            batch = rows[start : start + _UPSERT_BATCH]
            placeholders = ", ".join(["(%s, %s, %s, %s, %s)"] * len(batch))
            params: list[Any] = []
            for metric_id, account_id, contact_id, day, value in batch:
                params += [metric_id, account_id, contact_id, day, value]
            cursor.execute(
                f"INSERT INTO {table} (metric_id, account_id, contact_id, day, value) "  # noqa: S608
                f"VALUES {placeholders} "
                "ON CONFLICT (metric_id, account_id, COALESCE(contact_id, 0), day) "
                "DO UPDATE SET value = excluded.value",
                params,
            )


def metrics_compute(
    *,
    day: date | None = None,
    account_ids: Iterable[int] | None = None,
    metric_ids: Iterable[int] | None = None,
) -> int:
    """Compute every active metric (or those in ``metric_ids``) for the window ending on
    ``day`` (default: today, UTC) for all accounts (or those in ``account_ids``), and
    store the values for that day. Returns how many values were written. Idempotent:
    running it again for the same day replaces that day's values."""
    day = day or today_utc()
    metrics_qs = Metric.objects.filter(is_active=True)
    if metric_ids is not None:
        metrics_qs = metrics_qs.filter(pk__in=list(metric_ids))
    metrics = list(metrics_qs)
    scope = list(account_ids) if account_ids is not None else None
    accounts_qs = Account.objects.order_by("pk")
    if scope is not None:
        accounts_qs = accounts_qs.filter(pk__in=scope)
    in_scope = list(accounts_qs.values_list("pk", flat=True))
    if not metrics or not in_scope:
        return 0

    from_rollups = [m for m in metrics if not m.property_name]
    activity = _rollup_activity(from_rollups, day, scope)
    seats: dict[int, int] = {}
    if any(m.kind == MetricKind.SEAT_SHARE for m in metrics):
        for start in range(0, len(in_scope), _ACCOUNTS_PER_TRANSACTION):
            seats.update(accounts_seats(in_scope[start : start + _ACCOUNTS_PER_TRANSACTION]))
    rows: list[tuple[int, int, int | None, date, float]] = []
    for metric in metrics:
        if metric.property_name:
            found = _event_activity(metric, day, scope)
        else:
            found = activity[(metric.event, metric.window_days)]
        for account_id, contact_id, value in _values_for(metric, found, day, in_scope, seats):
            rows.append((metric.pk, account_id, contact_id, day, value))
    # One transaction per slice of accounts, not one for everything: on SQLite a write
    # transaction blocks ingestion, and a slice is a few hundred milliseconds at most.
    # Each account's values still change all at once.
    by_account: dict[int, list[tuple[int, int, int | None, date, float]]] = defaultdict(list)
    for row in rows:
        by_account[row[1]].append(row)
    metric_ids = [m.pk for m in metrics]
    for start in range(0, len(in_scope), _ACCOUNTS_PER_TRANSACTION):
        chunk = in_scope[start : start + _ACCOUNTS_PER_TRANSACTION]
        with transaction.atomic():
            _stale_contact_values_delete(metric_ids, day, chunk)
            _upsert([row for account_id in chunk for row in by_account.get(account_id, ())])
    return len(rows)


def _stale_contact_values_delete(metric_ids: list[int], day: date, accounts: list[int]) -> None:
    # Contact rows exist only where there was activity; when a day is computed again
    # (the definition changed, a person's events were re-attributed) a row from the
    # earlier run must not outlive it. Naming the accounts lets both databases probe
    # the (account, metric, day) index instead of scanning the whole history.
    MetricValue.objects.filter(
        account_id__in=accounts, metric_id__in=metric_ids, day=day, contact__isnull=False
    ).delete()
