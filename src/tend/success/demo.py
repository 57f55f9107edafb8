"""Demo data for customer success: the day's risk tasks, raised from the seeded usage,
tickets, subscriptions and health, exactly as the daily job would."""

from __future__ import annotations

from datetime import date

from tend.success.risks import risks_evaluate
from tend.success.services import risk_settings_get


def seed_success(*, day: date | None = None) -> int:
    """Call after accounts, usage, tickets and health snapshots are seeded; returns the
    number of tasks raised."""
    risk_settings_get()  # the settings row exists, so the settings page shows defaults
    return risks_evaluate(day=day)
