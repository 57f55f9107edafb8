"""Reads of product usage shared by views, the API, health (H5) and risks (H6).

Days are UTC days, like the rollups; a window "of N days ending on D" is D-N+1 … D,
both inclusive. Bulk functions take account ids and run one query for all of them —
call those from daily jobs rather than the one-account helpers in a loop.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet, Sum

from tend.core.models import User
from tend.crm.models import Account, Contact
from tend.usage.metrics import CONTACT_KINDS, metric_default, today_utc
from tend.usage.models import DailyRollup, Metric, MetricKind, MetricValue

__all__ = [
    "AccountMetric",
    "account_metrics",
    "active_users",
    "active_users_by_account",
    "contact_metric_values",
    "contact_metric_values_for_accounts",
    "last_seen",
    "metric_averages",
    "metric_history",
    "metric_values",
    "metric_values_for_accounts",
    "metrics_visible_to",
    "rollup_counts",
    "weekly_counts",
]


def _ids(account_ids: Iterable[int] | None) -> list[int] | None:
    return None if account_ids is None else list(account_ids)


# --- rollups -------------------------------------------------------------------------


def rollup_counts(
    account_ids: Iterable[int] | None, since: date, until: date, event: str | None = None
) -> dict[int, int]:
    """``{account_id: events on days since … until (inclusive)}``, of one event name or
    of all. ``account_ids`` None means every account. Accounts without events are
    absent (read them as 0)."""
    qs = DailyRollup.objects.filter(day__gte=since, day__lte=until, account__isnull=False)
    ids = _ids(account_ids)
    if ids is not None:
        qs = qs.filter(account_id__in=ids)
    if event:
        qs = qs.filter(event=event)
    rows = qs.order_by().values_list("account_id").annotate(n=Sum("count"))
    return {account_id: int(n) for account_id, n in rows if n}


def weekly_counts(
    account_ids: Iterable[int] | None,
    weeks: int = 2,
    day: date | None = None,
    event: str | None = None,
) -> dict[int, list[int]]:
    """``{account_id: [events in the oldest week, …, events in the week ending on day]}``
    — ``weeks`` consecutive 7-day blocks, the last one ending on ``day`` (default today)
    inclusive. For "usage down ≥ X % week over week": compare ``[-2]`` with ``[-1]``.
    Accounts with no events in any of the weeks are absent (read as all zeros)."""
    day = day or today_utc()
    starts = [day - timedelta(days=7 * (weeks - i) - 1) for i in range(weeks)]
    qs = DailyRollup.objects.filter(day__gte=starts[0], day__lte=day, account__isnull=False)
    ids = _ids(account_ids)
    if ids is not None:
        qs = qs.filter(account_id__in=ids)
    if event:
        qs = qs.filter(event=event)
    sums = {
        f"w{i}": Sum("count", filter=Q(day__gte=start, day__lte=start + timedelta(days=6)))
        for i, start in enumerate(starts)
    }
    rows = qs.order_by().values("account_id").annotate(**sums).values_list("account_id", *sums)
    return {account_id: [int(n or 0) for n in counts] for account_id, *counts in rows}


def active_users_by_account(
    account_ids: Iterable[int] | None, days: int, day: date | None = None, event: str | None = None
) -> dict[int, int]:
    """``{account_id: distinct contacts with any event (or ``event``) in the ``days``-day
    window ending on ``day``}``. Accounts with nobody active are absent."""
    day = day or today_utc()
    qs = DailyRollup.objects.filter(
        day__gte=day - timedelta(days=days - 1),
        day__lte=day,
        account__isnull=False,
        contact__isnull=False,
    )
    ids = _ids(account_ids)
    if ids is not None:
        qs = qs.filter(account_id__in=ids)
    if event:
        qs = qs.filter(event=event)
    rows = qs.order_by().values_list("account_id").annotate(n=Count("contact_id", distinct=True))
    return dict(rows)


def active_users(
    account_id: int, days: int, day: date | None = None, event: str | None = None
) -> int:
    """Distinct contacts of the account active in the ``days``-day window ending on ``day``."""
    return active_users_by_account([account_id], days, day, event).get(account_id, 0)


def last_seen(contact_ids: Iterable[int]) -> dict[int, datetime | None]:
    """``{contact_id: newest event time (Contact.last_seen_at, kept by ingestion) or None}``."""
    rows = Contact.objects.filter(pk__in=list(contact_ids)).values_list("pk", "last_seen_at")
    return dict(rows)


# --- metric values --------------------------------------------------------------------


def metrics_visible_to(user: User) -> QuerySet[Metric]:
    if not (user.is_active and user.has_perm("usage.view_metric")):
        return Metric.objects.none()
    return Metric.objects.all()


def _latest_day(account_ids: list[int] | None, day: date | None) -> date | None:
    """The newest computed day on or before ``day`` (default today)."""
    qs = MetricValue.objects.filter(day__lte=day or today_utc(), contact__isnull=True)
    if account_ids is not None:
        qs = qs.filter(account_id__in=account_ids)
    return qs.aggregate(latest=Max("day"))["latest"]


def metric_values_for_accounts(
    account_ids: Iterable[int] | None, day: date | None = None
) -> dict[int, dict[int, float]]:
    """``{account_id: {metric_id: value}}`` of active metrics on the newest computed day
    on or before ``day`` (default today). Two queries. A metric is absent for an account
    when it has no value — e.g. seat share without seats."""
    ids = _ids(account_ids)
    day = _latest_day(ids, day)
    if day is None:
        return {}
    qs = MetricValue.objects.filter(day=day, contact__isnull=True, metric__is_active=True)
    if ids is not None:
        qs = qs.filter(account_id__in=ids)
    out: dict[int, dict[int, float]] = defaultdict(dict)
    for account_id, metric_id, value in qs.values_list("account_id", "metric_id", "value"):
        out[account_id][metric_id] = value
    return dict(out)


def metric_values(account: Account, day: date | None = None) -> dict[int, float]:
    """``{metric_id: value}`` of the account's active metrics on the newest day computed
    for it on or before ``day`` (default today)."""
    return metric_values_for_accounts([account.pk], day).get(account.pk, {})


def contact_metric_values_for_accounts(
    account_ids: Iterable[int], day: date | None = None
) -> dict[int, dict[int, dict[int, float]]]:
    """``{account_id: {contact_id: {metric_id: value}}}`` for every contact of the
    accounts (Contact.account) and every active per-contact metric (counts, active
    users, days since — not seat share) on the newest computed day on or before ``day``
    (default today). Contacts without a stored value get the metric's default (0, or the
    window length for days since). Four queries whatever the number of accounts."""
    ids = list(account_ids)
    day = _latest_day(ids, day)
    metrics = list(Metric.objects.filter(is_active=True, kind__in=CONTACT_KINDS))
    out: dict[int, dict[int, dict[int, float]]] = {account_id: {} for account_id in ids}
    if not metrics or not ids:
        return out
    defaults = {m.pk: float(metric_default(m) or 0.0) for m in metrics}
    for contact_id, account_id in Contact.objects.filter(account_id__in=ids).values_list(
        "pk", "account_id"
    ):
        out[account_id][contact_id] = dict(defaults)
    if day is None:
        return out
    stored = MetricValue.objects.filter(
        day=day, account_id__in=ids, contact__isnull=False, metric_id__in=list(defaults)
    ).values_list("account_id", "contact_id", "metric_id", "value")
    for account_id, contact_id, metric_id, value in stored:
        # A value recorded under the account (the contact has since moved) still shows
        # what that person did there.
        out[account_id].setdefault(contact_id, dict(defaults))[metric_id] = value
    return out


def contact_metric_values(account: Account, day: date | None = None) -> dict[int, dict[int, float]]:
    """``{contact_id: {metric_id: value}}`` for the account's people; see
    contact_metric_values_for_accounts."""
    return contact_metric_values_for_accounts([account.pk], day)[account.pk]


def metric_history(
    metric: Metric, account: Account, days: int = 180, day: date | None = None
) -> list[tuple[date, float]]:
    """``[(day, value), …]`` oldest first, the account's value of ``metric`` on each
    computed day of the ``days`` days ending on ``day`` (default today). Days that were
    not computed are missing, not zero."""
    until = day or today_utc()
    rows = MetricValue.objects.filter(
        metric=metric,
        account=account,
        contact__isnull=True,
        day__gt=until - timedelta(days=days),
        day__lte=until,
    ).order_by("day")
    return list(rows.values_list("day", "value"))


def metric_averages(metrics: Iterable[Metric]) -> dict[int, float]:
    """``{metric_id: mean over accounts}`` on each metric's newest computed day (for the
    metric list). Metrics never computed are absent."""
    ids = [m.pk for m in metrics]
    latest = dict(
        MetricValue.objects.filter(metric_id__in=ids, contact__isnull=True)
        .order_by()
        .values_list("metric_id")
        .annotate(last=Max("day"))
    )
    if not latest:
        return {}
    on_day = Q()
    for metric_id, last in latest.items():
        on_day |= Q(metric_id=metric_id, day=last)
    rows = (
        MetricValue.objects.filter(on_day, contact__isnull=True)
        .order_by()
        .values_list("metric_id")
        .annotate(total=Sum("value"), n=Count("id"))
    )
    return {metric_id: total / n for metric_id, total, n in rows if n}


@dataclass(frozen=True)
class AccountMetric:
    """One line of an account's metric panel."""

    metric: Metric
    value: float | None  # None: no value (not computed yet, or seat share without seats)
    day: date | None  # the day ``value`` is for
    history: list[tuple[date, float]]  # oldest first

    @property
    def is_share(self) -> bool:
        return self.metric.kind == MetricKind.SEAT_SHARE

    @property
    def percent(self) -> float | None:
        return None if self.value is None else self.value * 100


def account_metrics(user: User, account: Account, days: int = 90) -> list[AccountMetric]:
    """Every active metric with the account's newest value and ``days`` days of history;
    empty when the user may not see metrics. Two queries."""
    metrics = list(metrics_visible_to(user).filter(is_active=True))
    if not metrics:
        return []
    since = today_utc() - timedelta(days=days - 1)
    history: dict[int, list[tuple[date, float]]] = defaultdict(list)
    rows = (
        MetricValue.objects.filter(
            account=account, contact__isnull=True, day__gte=since, metric__in=metrics
        )
        .order_by("day")
        .values_list("metric_id", "day", "value")
    )
    for metric_id, day, value in rows:
        history[metric_id].append((day, value))
    out = []
    for metric in metrics:
        points = history.get(metric.pk, [])
        last_day, last_value = points[-1] if points else (None, None)
        out.append(AccountMetric(metric, last_value, last_day, points))
    return out
