"""Health scores: configuration rules, weights, bands, overrides, explanation, versions."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.models import Lifecycle
from tend.health import scoring
from tend.health.events import band_changed
from tend.health.models import HealthSnapshot
from tend.health.selectors import (
    account_health,
    account_health_many,
    health_history,
    health_trend,
)
from tend.health.services import (
    health_model_create,
    health_model_update,
    health_recompute,
    health_version_create,
)
from tend.health.tests.factories import (
    DAY,
    days_before,
    make_account,
    make_contact,
    make_metric,
    make_ticket,
    metric_config,
    noon,
    set_value,
)

pytestmark = pytest.mark.django_db


def test_points_follow_steps_and_linear_ranges() -> None:
    steps = [[0, 0], [5, 50], [20, 100]]
    assert scoring.points_for(4.9, steps, "steps") == 0
    assert scoring.points_for(5, steps, "steps") == 50
    assert scoring.points_for(100, steps, "steps") == 100
    assert scoring.points_for(12.5, steps, "linear") == 75
    assert scoring.points_for(-3, steps, "linear") == 0


def test_config_rejects_weights_not_adding_to_100_and_bad_thresholds() -> None:
    metric = make_metric()
    config = metric_config(metric)
    config["measures"][0]["weight"] = 40
    with pytest.raises(ValidationError, match="add up to 100"):
        health_model_create(actor=None, name="Default", config=config)

    config = metric_config(metric)
    config["measures"][0]["thresholds"] = [[5, 0], [1, 100]]
    with pytest.raises(ValidationError, match="increase"):
        health_model_create(actor=None, name="Default", config=config)

    config = metric_config(metric)
    config["measures"][0]["metric"] = metric.pk + 999
    with pytest.raises(ValidationError, match="existing metric"):
        health_model_create(actor=None, name="Default", config=config)


def test_missing_measures_weight_is_shared_out_and_explained() -> None:
    # Given logins 50 %, urgent tickets 25 % and NPS 25 % — NPS has no source yet
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    account = make_account()
    set_value(metric, account, 5)  # 50 points
    make_ticket(account, priority="urgent")  # one open urgent ticket: 40 points

    # When the day is scored
    assert health_recompute(day=DAY) == 1

    # Then NPS's 25 is split 2:1, so logins weigh 66.67 and urgent 33.33
    snap = account_health(account)
    assert snap is not None
    rows = {row["key"]: row for row in snap.explanation["measures"]}
    assert rows["logins"]["value"] == 5
    assert rows["logins"]["points"] == 50
    assert rows["logins"]["weight"] == 50
    assert rows["logins"]["effective_weight"] == pytest.approx(66.67)
    assert rows["logins"]["contribution"] == pytest.approx(33.33)
    assert rows["urgent"]["value"] == 1
    assert rows["urgent"]["points"] == 40
    assert rows["urgent"]["effective_weight"] == pytest.approx(33.33)
    assert rows["nps"]["value"] is None
    assert rows["nps"]["effective_weight"] == 0
    assert snap.score == pytest.approx(46.7)
    assert snap.band == "yellow"
    assert snap.explanation["override"] is None


@pytest.mark.parametrize(("logins", "band"), [(0, "red"), (5, "yellow"), (20, "green")])
def test_band_follows_the_thresholds(logins: int, band: str) -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    account = make_account()
    set_value(metric, account, logins)
    health_recompute(day=DAY)
    snap = account_health(account)
    assert snap is not None and snap.band == band


def test_champion_gone_overrides_a_green_score_to_red() -> None:
    metric = make_metric()
    config = metric_config(metric, overrides=[{"when": "champion_gone", "band": "red"}])
    health_model_create(actor=None, name="Default", config=config)
    kept, lost, never = make_account(), make_account(), make_account()
    for account in (kept, lost, never):
        set_value(metric, account, 20)
    make_contact(kept, roles=["champion"], last_seen_at=noon(days_before(3)))
    make_contact(lost, roles=["champion", "user"], last_seen_at=noon(days_before(45)))

    health_recompute(day=DAY)

    kept_snap, lost_snap, never_snap = (account_health(a) for a in (kept, lost, never))
    assert kept_snap is not None and kept_snap.band == "green"
    assert lost_snap is not None and lost_snap.band == "red"
    assert lost_snap.score == 100
    assert lost_snap.explanation["override"] == {"when": "champion_gone", "band": "red"}
    assert lost_snap.explanation["score_band"] == "green"
    # An account that never named a champion has lost no one.
    assert never_snap is not None and never_snap.band == "green"


def test_champion_removed_keeps_the_override_on_later_days() -> None:
    metric = make_metric()
    config = metric_config(metric, overrides=[{"when": "champion_gone", "band": "red"}])
    health_model_create(actor=None, name="Default", config=config)
    account = make_account()
    champion = make_contact(account, roles=["champion"], last_seen_at=noon(DAY))
    for day in (days_before(1), DAY):
        set_value(metric, account, 20, day=day)
    health_recompute(day=days_before(1))
    champion.roles = ["user"]
    champion.save()

    health_recompute(day=DAY)

    snap = account_health(account)
    assert snap is not None and snap.band == "red"


def test_band_change_is_signalled_after_commit(django_capture_on_commit_callbacks: Any) -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    account, steady = make_account(), make_account()
    set_value(metric, account, 20, day=days_before(1))
    set_value(metric, steady, 20, day=days_before(1))
    set_value(metric, account, 0)
    set_value(metric, steady, 20)
    received: list[tuple[int, str, str]] = []

    def on_change(sender: object, account_id: int, old: str, new: str, **kw: object) -> None:
        received.append((account_id, old, new))

    band_changed.connect(on_change)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            health_recompute(day=days_before(1))  # first snapshots: nothing to differ from
        assert received == []
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            health_recompute(day=DAY)
            assert received == []  # not before commit
        assert callbacks
        assert received == [(account.pk, "green", "red")]
        received.clear()
        with django_capture_on_commit_callbacks(execute=True):
            health_recompute(day=DAY)  # the same day again: no change, no signal
        assert received == []
    finally:
        band_changed.disconnect(on_change)


def test_old_snapshots_keep_the_version_that_made_them() -> None:
    metric = make_metric()
    model = health_model_create(actor=None, name="Default", config=metric_config(metric))
    account = make_account()
    for day in (days_before(1), DAY):
        set_value(metric, account, 5, day=day)
    health_recompute(day=days_before(1))
    v1 = model.versions.get()

    stricter = metric_config(metric, bands={"red_below": 70, "green_from": 90})
    v2 = health_version_create(actor=None, model=model, config=stricter)
    health_recompute(day=DAY)

    assert v2.number == 2
    old, new = HealthSnapshot.objects.filter(account=account).order_by("day")
    assert (old.version_id, old.band) == (v1.pk, "yellow")
    assert (new.version_id, new.band) == (v2.pk, "red")
    v1.refresh_from_db()
    assert v1.config["bands"] == {"red_below": 40, "green_from": 70}


def test_the_most_specific_active_model_scores_an_account() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Everyone", config=metric_config(metric))
    strict = metric_config(metric, bands={"red_below": 90, "green_from": 95})
    enterprise = health_model_create(
        actor=None, name="Enterprise", segment="enterprise", config=strict
    )
    onboarding = health_model_create(
        actor=None, name="Onboarding", lifecycle=Lifecycle.ONBOARDING, config=strict
    )
    big = make_account(segment="enterprise", lifecycle=Lifecycle.MATURE)
    new = make_account(segment="smb", lifecycle=Lifecycle.ONBOARDING)
    plain = make_account(segment="smb", lifecycle=Lifecycle.MATURE)

    health_recompute(day=DAY)

    by_account = account_health_many([big.pk, new.pk, plain.pk])
    assert by_account[big.pk].version.model_id == enterprise.pk  # type: ignore[union-attr]
    assert by_account[new.pk].version.model_id == onboarding.pk  # type: ignore[union-attr]
    assert by_account[plain.pk].version.model.name == "Everyone"  # type: ignore[union-attr]

    # Deactivating a model hands its accounts back to the next most specific one.
    health_model_update(actor=None, model=enterprise, is_active=False)
    health_recompute(day=DAY)
    snap = account_health(big)
    assert snap is not None and snap.version is not None
    assert snap.version.model.name == "Everyone"


def test_two_active_models_may_not_share_a_scope() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="A", segment="smb", config=metric_config(metric))
    with pytest.raises(ValidationError, match="already covers"):
        health_model_create(actor=None, name="B", segment="smb", config=metric_config(metric))


def test_recompute_of_some_accounts_leaves_the_others_alone() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    one, two = make_account(), make_account()
    assert health_recompute(day=DAY, account_ids=[one.pk]) == 1
    assert account_health(one) is not None
    assert account_health(two) is None


def test_history_and_trend() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    account = make_account()
    set_value(metric, account, 0, day=days_before(7))
    set_value(metric, account, 20)
    health_recompute(day=days_before(7))
    health_recompute(day=DAY)

    assert [s.day for s in health_history(account)] == [days_before(7), DAY]
    assert health_trend(account) == "up"
    assert health_history(account, days=3)[0].day == DAY


def test_only_managers_may_change_health_models() -> None:
    metric = make_metric()
    csm = make_staff("carol", Role.CSM)
    manager = make_staff("mona", Role.MANAGER)
    with pytest.raises(PermissionDenied):
        health_model_create(actor=csm, name="Default", config=metric_config(metric))
    model = health_model_create(actor=manager, name="Default", config=metric_config(metric))
    with pytest.raises(PermissionDenied):
        health_version_create(actor=csm, model=model, config=metric_config(metric))
    version = health_version_create(actor=manager, model=model, config=metric_config(metric))
    assert version.created_by == manager


def test_the_editor_starting_rules_are_valid() -> None:
    from tend.health.services import DEFAULT_CONFIG, config_validate

    assert config_validate(DEFAULT_CONFIG)["bands"] == {"red_below": 40.0, "green_from": 70.0}


def test_ticket_measures_count_open_urgent_and_the_last_30_days() -> None:
    config = {
        "measures": [
            {"key": "urgent", "kind": "urgent_tickets", "weight": 50, "thresholds": [[0, 100]]},
            {
                "key": "volume",
                "kind": "ticket_volume_30d",
                "weight": 50,
                "scale": "linear",
                "thresholds": [[0, 100], [10, 0]],
            },
        ],
        "bands": {"red_below": 40, "green_from": 70},
        "overrides": [{"when": "urgent_ticket_open", "band": "yellow"}],
    }
    health_model_create(actor=None, name="Tickets", config=config)
    account = make_account()
    make_ticket(account, priority="urgent", status="open")
    make_ticket(account, priority="urgent", status="solved")  # solved: not open
    make_ticket(account)
    make_ticket(account, created=days_before(45))

    health_recompute(day=DAY)

    snap = account_health(account)
    assert snap is not None
    rows = {row["key"]: row for row in snap.explanation["measures"]}
    assert rows["urgent"]["value"] == 1
    assert rows["volume"]["value"] == 3  # the 45-day-old ticket is outside the window
    assert snap.band == "yellow"
    assert snap.explanation["override"] == {"when": "urgent_ticket_open", "band": "yellow"}
