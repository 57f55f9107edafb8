"""Demo data for metrics: a few typical definitions and their history.

Call after the demo's rollups exist and before health is seeded (health models point at
these metrics): ``seed_metrics(days=90)``.
"""

from __future__ import annotations

from datetime import timedelta

from tend.usage.metrics import metric_create, metrics_compute, today_utc
from tend.usage.models import Metric

DEMO_METRICS = [
    {"name": "Logins (30 days)", "kind": "event_count", "event": "Login", "window_days": 30},
    {"name": "Active users (30 days)", "kind": "active_users", "window_days": 30},
    {"name": "Seats in use", "kind": "seat_share", "window_days": 30, "role": "outcome"},
    {"name": "Days since last activity", "kind": "days_since", "window_days": 30},
    {
        "name": "Reports viewed (7 days)",
        "kind": "event_count",
        "event": "Report Viewed",
        "window_days": 7,
        "role": "outcome",
    },
]


def seed_metrics(days: int = 90) -> int:
    """Define the demo metrics (those missing) and compute ``days`` days of history.
    Returns how many values were written."""
    existing = set(Metric.objects.values_list("name", flat=True))
    for definition in DEMO_METRICS:
        if definition["name"] not in existing:
            metric_create(actor=None, **definition)  # type: ignore[arg-type]
    today = today_utc()
    return sum(metrics_compute(day=today - timedelta(days=n)) for n in range(days - 1, -1, -1))
