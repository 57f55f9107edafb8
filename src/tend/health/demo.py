"""Demo data for health: a model for everyone and one for onboarding accounts, then
today's scores. Called by the demo seed (tend.demo.seed) after metrics are defined and
computed:

    from tend.health.demo import seed_health
    seed_health()
"""

from __future__ import annotations

from typing import Any

from tend.health import scoring
from tend.health.models import Band, HealthModel
from tend.health.services import health_model_create, health_recompute
from tend.usage.models import Metric, MetricKind


def _metric_measure(metric: Metric, weight: int) -> dict[str, Any]:
    if metric.kind == MetricKind.DAYS_SINCE_ACTIVITY:
        thresholds: list[list[float]] = [[0, 100], [3, 80], [7, 50], [14, 20], [30, 0]]
        return {
            "key": f"m{metric.pk}",
            "kind": scoring.METRIC,
            "metric": metric.pk,
            "weight": weight,
            "scale": "linear",
            "thresholds": thresholds,
        }
    if metric.kind == MetricKind.SEAT_SHARE:
        thresholds = [[0, 0], [0.5, 60], [0.8, 100]]
    elif metric.kind == MetricKind.ACTIVE_USERS:
        thresholds = [[0, 0], [3, 50], [10, 100]]
    else:
        thresholds = [[0, 0], [20, 50], [100, 100]]
    measure = {
        "key": f"m{metric.pk}",
        "kind": scoring.METRIC,
        "metric": metric.pk,
        "weight": weight,
        "scale": "linear",
        "thresholds": thresholds,
    }
    if metric.kind == MetricKind.EVENT_COUNT:
        measure["contact_thresholds"] = [[0, 0], [5, 50], [25, 100]]
    elif metric.kind == MetricKind.ACTIVE_USERS:
        measure["contact_thresholds"] = [[0, 0], [1, 100]]
    return measure


def seed_health() -> int:
    """Create the demo health models (once) and score today. Returns snapshots written."""
    if not HealthModel.objects.exists():
        metrics = list(Metric.objects.filter(is_active=True).order_by("pk")[:3])
        measures: list[dict[str, Any]] = [_metric_measure(m, 20) for m in metrics]
        rest = 100 - 20 * len(measures)  # tickets, NPS and onboarding share the rest
        measures += [
            {
                "key": "urgent",
                "kind": scoring.URGENT_TICKETS,
                "weight": rest * 0.4,
                "thresholds": [[0, 100], [1, 40], [3, 0]],
            },
            {
                "key": "tickets_30d",
                "kind": scoring.TICKET_VOLUME_30D,
                "weight": rest * 0.3,
                "scale": "linear",
                "thresholds": [[0, 100], [5, 70], [20, 0]],
            },
            {
                "key": "nps",
                "kind": scoring.NPS,
                "weight": rest * 0.3,
                "scale": "linear",
                "thresholds": [[-100, 0], [0, 50], [50, 100]],
            },
        ]
        config = {
            "measures": measures,
            "bands": {"red_below": 40, "green_from": 70},
            "overrides": [
                {"when": scoring.CHAMPION_GONE, "band": Band.RED},
                {"when": scoring.NO_ACTIVITY_30D, "band": Band.RED},
            ],
        }
        health_model_create(actor=None, name="Everyone", config=config)
        onboarding = {**config, "bands": {"red_below": 30, "green_from": 60}}
        health_model_create(
            actor=None, name="Onboarding", lifecycle="onboarding", config=onboarding
        )
    return health_recompute()
