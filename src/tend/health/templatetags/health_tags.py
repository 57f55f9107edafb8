"""Template tags behind the health partials the account page includes
(``web/health/_score_card.html``, ``web/health/_grades.html``): each partial loads its own
data, so the page including it only passes ``account``."""

from __future__ import annotations

from typing import Any

from django import template

from tend.crm.models import Account
from tend.health import selectors
from tend.health.labels import KIND_LABELS, OVERRIDE_LABELS
from tend.health.models import HealthSnapshot
from tend.usage.models import Metric

register = template.Library()

CHART_DAYS = 180
CHART_HEIGHT = 100


def _user_may(context: template.Context, perm: str) -> bool:
    request = context.get("request")
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_active and user.has_perm(perm))


def chart(history: list[HealthSnapshot], days: int = CHART_DAYS) -> dict[str, Any]:
    """Polyline segments for an inline SVG: x = day within the window, y = 100 − score.
    A day scored without any data (score None) breaks the line; a missing day (no
    snapshot) is bridged. Lone points are drawn as dots."""
    if not history:
        return {"segments": [], "dots": [], "width": days}
    last = history[-1].day
    segments: list[list[tuple[int, float, str]]] = [[]]
    for snap in history:
        if snap.score is None:
            segments.append([])
            continue
        x = days - 1 - (last - snap.day).days
        segments[-1].append((x, round(CHART_HEIGHT - snap.score, 1), snap.band))
    lines = [" ".join(f"{x},{y}" for x, y, _b in s) for s in segments if len(s) > 1]
    dots = [{"x": x, "y": y, "band": b} for s in segments if len(s) == 1 for x, y, b in s]
    if segments[-1] and len(segments[-1]) > 1:
        x, y, b = segments[-1][-1]
        dots.append({"x": x, "y": y, "band": b})  # today's point, coloured by band
    return {
        "segments": lines,
        "dots": dots,
        "width": days,
        "first_day": history[0].day,
        "last_day": last,
    }


@register.simple_tag(takes_context=True)
def health_card(context: template.Context, account: Account) -> dict[str, Any] | None:
    """Everything the score card shows, or None when the viewer may not see health."""
    if not _user_may(context, "health.view_healthsnapshot"):
        return None
    snapshot = selectors.account_health(account)
    if snapshot is None:
        return {"snapshot": None}
    before = selectors.health_week_ago(account)
    history = selectors.health_history(account, days=CHART_DAYS)
    config = snapshot.version.config if snapshot.version else {}
    bands = config.get("bands", {})
    metric_names = dict(
        Metric.objects.filter(
            pk__in=[m.get("metric") for m in config.get("measures", []) if m.get("metric")]
        ).values_list("pk", "name")
    )
    by_key = {m["key"]: m for m in config.get("measures", [])}
    rows = []
    for row in snapshot.explanation.get("measures", []):
        measure = by_key.get(row["key"], {})
        name = measure.get("label") or metric_names.get(measure.get("metric")) or row["key"]
        rows.append({**row, "name": name, "kind_label": KIND_LABELS.get(row["kind"], "")})
    override = snapshot.explanation.get("override")
    return {
        "snapshot": snapshot,
        "trend": selectors.trend_between(snapshot.score, before.score if before else None),
        "before": before,
        "rows": rows,
        "override": override,
        "override_label": OVERRIDE_LABELS.get(override["when"], "") if override else "",
        "score_band": snapshot.explanation.get("score_band", ""),
        "chart": chart(history),
        "red_y": CHART_HEIGHT - float(bands.get("red_below", 0)),
        "green_y": CHART_HEIGHT - float(bands.get("green_from", 100)),
        "version": snapshot.version,
    }


@register.simple_tag(takes_context=True)
def health_grades(context: template.Context, account: Account) -> dict[str, Any] | None:
    """Grade → count for the account (with bar widths), or None when not allowed."""
    if not _user_may(context, "health.view_contactgrade"):
        return None
    distribution = selectors.grade_distribution(account)
    total = sum(distribution.values())
    top = max(distribution.values(), default=0) or 1
    return {
        "total": total,
        "rows": [
            {"grade": g, "count": n, "width": round(100 * n / top)} for g, n in distribution.items()
        ],
        "focus": distribution.get("B-", 0) + distribution.get("C", 0),
    }
