"""What health scoring reads, gathered set-based: one query per kind of input for all the
accounts in scope (never a query per account), so a daily recompute of thousands of
accounts costs a handful of queries.

``account_ids=None`` means every account. Callers with an explicit list pass at most a
few hundred ids at a time (``health_recompute`` chunks), which keeps ``IN (...)`` lists
inside every database's parameter limit.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import Count, Q

from tend.crm.models import Account, Contact, Role
from tend.desk.models import UNRESOLVED_STATUSES, Priority, Ticket
from tend.health.models import HealthSnapshot
from tend.surveys.selectors import account_survey_score
from tend.usage.models import Metric, MetricValue

INACTIVE_DAYS = 30
# The NPS measure reads the answers of this many days up to the scoring day.
NPS_DAYS = 180


def end_of(day: date) -> datetime:
    """The first instant after ``day`` (UTC): "as of day" reads everything before it."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)


def inactive_before(day: date) -> datetime:
    """Last seen before this instant = inactive for ``INACTIVE_DAYS`` days as of ``day``."""
    return end_of(day) - timedelta(days=INACTIVE_DAYS)


def _scoped(qs: Any, field: str, account_ids: Sequence[int] | None) -> Any:
    return qs if account_ids is None else qs.filter(**{f"{field}__in": list(account_ids)})


def _raw_rows(qs: Any) -> list[tuple[Any, ...]]:
    """The rows of a ``values_list`` queryset as plain tuples, skipping Django's per-row
    conversion: for hundreds of thousands of ints and floats it is most of the cost."""
    sql, params = qs.query.get_compiler(using=qs.db).as_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def accounts(account_ids: Sequence[int] | None) -> list[tuple[int, str, str, datetime | None]]:
    """(id, segment, lifecycle, last_seen_at) of the accounts in scope."""
    qs = _scoped(Account.objects.order_by("pk"), "pk", account_ids)
    return list(qs.values_list("pk", "segment", "lifecycle", "last_seen_at"))


def metric_values(
    day: date, metric_ids: Iterable[int], account_ids: Sequence[int] | None
) -> dict[int, dict[int, float]]:
    """account id → metric id → the account's value on ``day`` (contact rows excluded)."""
    ids = list(metric_ids)
    out: dict[int, dict[int, float]] = defaultdict(dict)
    if not ids:
        return out
    qs = MetricValue.objects.filter(day=day, metric_id__in=ids, contact__isnull=True)
    for account_id, metric_id, value in _scoped(qs, "account_id", account_ids).values_list(
        "account_id", "metric_id", "value"
    ):
        out[account_id][metric_id] = value
    return out


def contact_metric_values(
    day: date, metric_ids: Iterable[int], account_ids: Sequence[int] | None
) -> dict[int, dict[int, float]]:
    """contact id → metric id → the contact's stored value on ``day``. Contacts without
    activity have no row: callers fill in ``metric_defaults``."""
    ids = list(metric_ids)
    out: dict[int, dict[int, float]] = defaultdict(dict)
    if not ids:
        return out
    qs = MetricValue.objects.filter(day=day, metric_id__in=ids, contact__isnull=False)
    rows = _raw_rows(
        _scoped(qs, "account_id", account_ids)
        .order_by()
        .values_list("contact_id", "metric_id", "value")
    )
    for contact_id, metric_id, value in rows:
        out[contact_id][metric_id] = value
    return out


def metric_defaults(metric_ids: Iterable[int]) -> dict[int, float | None]:
    """A contact's value for a metric when no row was stored (usage.metrics' rule: 0 for
    counts and active users, the window for days-since, none for seat share)."""
    from tend.usage.metrics import metric_default

    return {m.pk: metric_default(m) for m in Metric.objects.filter(pk__in=list(metric_ids))}


def ticket_counts(day: date, account_ids: Sequence[int] | None) -> dict[int, tuple[int, int]]:
    """account id → (open urgent tickets now, tickets created in the 30 days to ``day``)."""
    since = end_of(day) - timedelta(days=30)
    urgent = Q(priority=Priority.URGENT, status__in=list(UNRESOLVED_STATUSES))
    recent = Q(created_at__gte=since, created_at__lt=end_of(day))
    qs = _scoped(Ticket.objects.filter(account__isnull=False), "account_id", account_ids)
    rows = (
        qs.filter(urgent | recent)
        .values("account_id")
        .annotate(urgent=Count("pk", filter=urgent), volume=Count("pk", filter=recent))
        .order_by()
        .values_list("account_id", "urgent", "volume")
    )
    return {account_id: (n_urgent, n_volume) for account_id, n_urgent, n_volume in rows}


def champions(account_ids: Sequence[int] | None) -> dict[int, list[datetime | None]]:
    """account id → last-seen times of its contacts with the champion role."""
    # A text match narrows the rows on both databases (JSON containment is not portable
    # to SQLite); the exact role check happens on the decoded list.
    qs = Contact.objects.filter(account__isnull=False, roles__icontains=f'"{Role.CHAMPION}"')
    out: dict[int, list[datetime | None]] = defaultdict(list)
    for account_id, roles, last_seen in _scoped(qs, "account_id", account_ids).values_list(
        "account_id", "roles", "last_seen_at"
    ):
        if Role.CHAMPION in (roles or []):
            out[account_id].append(last_seen)
    return out


def nps_scores(day: date, account_ids: Sequence[int] | None) -> dict[int, float]:
    """account id → its NPS (−100..100) over the answers of the ``NPS_DAYS`` days to
    ``day``; accounts nobody answered for are left out (the measure is missing)."""
    ids = None if account_ids is None else list(account_ids)
    # As every other input: the UTC day, through its last instant.
    return account_survey_score(ids, kind="nps", as_of=end_of(day), days=NPS_DAYS)


def contacts_by_account(account_ids: Sequence[int] | None) -> dict[int, list[int]]:
    """account id → ids of its contacts (everyone gets a grade, active or not)."""
    qs = _scoped(Contact.objects.filter(account__isnull=False), "account_id", account_ids)
    out: dict[int, list[int]] = defaultdict(list)
    for contact_id, account_id in _raw_rows(qs.order_by().values_list("pk", "account_id")):
        out[account_id].append(contact_id)
    return out


def previous_snapshots(
    day: date, account_ids: Sequence[int] | None
) -> dict[int, tuple[str, dict[str, Any]]]:
    """account id → (band, explanation) of its latest snapshot on or before ``day``."""
    table = HealthSnapshot._meta.db_table
    where = "WHERE day <= %s"
    params: list[Any] = [connection.ops.adapt_datefield_value(day)]
    if account_ids is not None:
        ids = list(account_ids)
        if not ids:
            return {}
        where += f" AND account_id IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    # Only the table name and placeholders are formatted in; values are parameters.
    sql = (
        f"SELECT s.account_id, s.band, s.explanation FROM {table} s "  # noqa: S608
        f"JOIN (SELECT account_id, MAX(day) AS d FROM {table} {where} GROUP BY account_id) m "
        "ON s.account_id = m.account_id AND s.day = m.d"
    )
    out: dict[int, tuple[str, dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for account_id, band, explanation in cursor.fetchall():
            if isinstance(explanation, str):  # SQLite hands JSON back as text
                explanation = json.loads(explanation)
            out[account_id] = (band, explanation or {})
    return out
