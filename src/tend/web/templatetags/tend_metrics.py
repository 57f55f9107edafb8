"""Template helpers for usage metrics: the account panel's lines, value display, sparklines.

``{% account_metric_lines account as lines %}`` lets a partial that only receives
``account`` read the metrics itself (with the permission of the user viewing it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from django import template
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from tend.core.models import User
from tend.crm.models import Account
from tend.usage.models import Metric, MetricKind
from tend.usage.selectors import AccountMetric, account_metrics

register = template.Library()

SPARK_WIDTH = 120
SPARK_HEIGHT = 24


@dataclass(frozen=True)
class MetricLine:
    line: AccountMetric
    display: str
    sparkline: str  # SVG polyline points, "" with fewer than two points
    previous: float | None  # the value a week before the newest, for a trend arrow


@register.filter
def metric_display(value: float | None, metric: Metric) -> str:
    """A value as people read it: a count, a percentage of seats, or days."""
    if value is None:
        return "—"
    if metric.kind == MetricKind.SEAT_SHARE:
        return f"{value * 100:.0f}%"
    if metric.kind == MetricKind.DAYS_SINCE_ACTIVITY:
        days = round(value)
        if days >= metric.window_days:
            return _("%(days)s+ days") % {"days": metric.window_days}
        return ngettext("%(days)s day", "%(days)s days", days) % {"days": days}
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.1f}"


def sparkline_points(history: list[tuple[date, float]]) -> str:
    """Polyline points scaled into a SPARK_WIDTH × SPARK_HEIGHT box (y grows downwards)."""
    if len(history) < 2:
        return ""
    first, last = history[0][0], history[-1][0]
    span_days = max((last - first).days, 1)
    values = [value for _day, value in history]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    points = []
    for day, value in history:
        x = (day - first).days / span_days * SPARK_WIDTH
        y = SPARK_HEIGHT - 1 - (value - low) / span * (SPARK_HEIGHT - 2)
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def _week_before(history: list[tuple[date, float]]) -> float | None:
    if not history:
        return None
    newest = history[-1][0]
    earlier = [value for day, value in history if (newest - day).days >= 7]
    return earlier[-1] if earlier else None


@register.simple_tag(takes_context=True)
def account_metric_lines(
    context: dict[str, Any], account: Account, days: int = 90
) -> list[MetricLine]:
    user = context.get("user")
    if not isinstance(user, User):
        return []
    return [
        MetricLine(
            line=line,
            display=metric_display(line.value, line.metric),
            sparkline=sparkline_points(line.history),
            previous=_week_before(line.history),
        )
        for line in account_metrics(user, account, days=days)
    ]
