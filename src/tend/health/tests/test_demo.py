"""The demo seed's health models validate and score accounts."""

from __future__ import annotations

import pytest

from tend.health.demo import seed_health
from tend.health.models import HealthModel, HealthSnapshot
from tend.health.tests.factories import make_account, make_metric

pytestmark = pytest.mark.django_db


def test_seed_health_creates_models_once_and_scores_accounts() -> None:
    make_metric(name="Logins", kind="event_count")
    make_metric(name="Last seen", kind="days_since")
    make_account()
    make_account(lifecycle="onboarding")

    assert seed_health() == 2
    assert seed_health() == 2

    assert HealthModel.objects.count() == 2
    assert HealthSnapshot.objects.exclude(band="").count() == 2
