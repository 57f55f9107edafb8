"""Pure scoring: measure values → points → weighted score → band → overrides.

No database here. ``health_recompute`` (services.py) gathers the inputs set-based and
calls these functions per account, so the rules can be tested on plain numbers and the
explanation an account shows is exactly what produced its score.

Config shape (validated by ``services.config_validate``)::

    {"measures": [{"key": "logins", "kind": "metric", "metric": 12, "weight": 40,
                   "scale": "steps", "thresholds": [[0, 0], [5, 50], [20, 100]]},
                  {"key": "urgent", "kind": "urgent_tickets", "weight": 20,
                   "scale": "steps", "thresholds": [[0, 100], [1, 40], [3, 0]]}],
     "bands": {"red_below": 40, "green_from": 70},
     "overrides": [{"when": "champion_gone", "band": "red"}]}

Thresholds are ``[value, points]`` pairs with strictly increasing values and points in
0..100. ``steps``: a value earns the points of the last pair whose value it reaches
(below the first pair: the first pair's points). ``linear``: points are interpolated
between neighbouring pairs and held at the ends.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tend.health.models import Band

# Measure kinds. NPS is the account's score over its survey answers of the last 180
# days (missing when nobody answered). Onboarding is known but has no source yet: it is
# always missing, so its weight is shared out among the measures that have a value.
METRIC = "metric"
URGENT_TICKETS = "urgent_tickets"
TICKET_VOLUME_30D = "ticket_volume_30d"
NPS = "nps"
ONBOARDING = "onboarding"
MEASURE_KINDS = (METRIC, URGENT_TICKETS, TICKET_VOLUME_30D, NPS, ONBOARDING)
MISSING_SOURCE_KINDS = frozenset({ONBOARDING})

SCALES = ("steps", "linear")

# Override conditions (see services._override_facts for how each is decided).
CHAMPION_GONE = "champion_gone"
NO_ACTIVITY_30D = "no_activity_30d"
URGENT_TICKET_OPEN = "urgent_ticket_open"
OVERRIDE_CONDITIONS = (CHAMPION_GONE, NO_ACTIVITY_30D, URGENT_TICKET_OPEN)


def points_for(value: float, thresholds: Sequence[Sequence[float]], scale: str) -> float:
    """Points (0..100) a value earns on a measure's thresholds."""
    values = [float(t[0]) for t in thresholds]
    points = [float(t[1]) for t in thresholds]
    i = bisect_right(values, value)  # pairs whose value is ≤ value
    if i == 0:
        return points[0]
    if i == len(values) or scale != "linear":
        return points[i - 1]
    lo_v, hi_v, lo_p, hi_p = values[i - 1], values[i], points[i - 1], points[i]
    return lo_p + (hi_p - lo_p) * (value - lo_v) / (hi_v - lo_v)


@dataclass(frozen=True)
class Scored:
    score: float | None
    rows: list[dict[str, Any]]


def score_measures(
    measures: Sequence[Mapping[str, Any]], values: Mapping[str, float | None]
) -> Scored:
    """Weighted score over the measures that have a value; the weight of the missing ones
    is redistributed in proportion to the present ones' weights. Each explanation row
    carries value, points, raw and effective weight and contribution (score points)."""
    present = [m for m in measures if values.get(m["key"]) is not None]
    present_weight = sum(float(m["weight"]) for m in present)
    rows: list[dict[str, Any]] = []
    total = 0.0
    for m in measures:
        value = values.get(m["key"])
        row: dict[str, Any] = {
            "key": m["key"],
            "kind": m["kind"],
            "label": m.get("label") or m["key"],
            "value": value,
            "points": None,
            "weight": float(m["weight"]),
            "effective_weight": 0.0,
            "contribution": 0.0,
        }
        if value is not None and present_weight > 0:
            points = points_for(float(value), m["thresholds"], m.get("scale", "steps"))
            effective = float(m["weight"]) * 100.0 / present_weight
            contribution = points * effective / 100.0
            row.update(
                points=round(points, 2),
                effective_weight=round(effective, 2),
                contribution=round(contribution, 2),
            )
            total += contribution
        rows.append(row)
    score = round(total, 1) if present and present_weight > 0 else None
    return Scored(score, rows)


def band_for(score: float | None, bands: Mapping[str, float]) -> str:
    if score is None:
        return ""
    if score < float(bands["red_below"]):
        return Band.RED
    if score >= float(bands["green_from"]):
        return Band.GREEN
    return Band.YELLOW


def first_override(
    overrides: Sequence[Mapping[str, str]], facts: Mapping[str, bool]
) -> Mapping[str, str] | None:
    """The first override (in configured order) whose condition holds."""
    for override in overrides:
        if facts.get(override["when"]):
            return override
    return None
