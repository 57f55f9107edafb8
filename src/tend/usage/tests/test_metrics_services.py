"""Defining metrics: who may, and what a definition must say."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from tend.usage.metrics import metric_create, metric_update
from tend.usage.models import Metric

pytestmark = pytest.mark.django_db


def test_manager_defines_a_metric(manager):
    metric = metric_create(
        actor=manager,
        name="  Reports (30 d) ",
        kind="event_count",
        event="Report Viewed",
        window_days=30,
        role="outcome",
    )
    assert Metric.objects.get(pk=metric.pk).name == "Reports (30 d)"
    assert metric.role == "outcome"


@pytest.mark.parametrize("who", ["agent", "readonly"])
def test_agents_and_read_only_users_may_not_define_or_change_metrics(who, request, manager):
    user = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied):
        metric_create(actor=user, name="Logins", kind="active_users")
    metric = metric_create(actor=manager, name="Logins", kind="active_users")
    with pytest.raises(PermissionDenied):
        metric_update(actor=user, metric=metric, window_days=7)
    assert Metric.objects.get(pk=metric.pk).window_days == 30


def test_admin_changes_a_metric(admin_user, manager):
    metric = metric_create(actor=manager, name="Logins", kind="active_users")
    metric_update(actor=admin_user, metric=metric, window_days=7, role="outcome")
    metric.refresh_from_db()
    assert (metric.window_days, metric.role) == (7, "outcome")


def errors_of(excinfo: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return excinfo.value.message_dict


def test_an_event_count_needs_an_event(manager):
    with pytest.raises(ValidationError) as excinfo:
        metric_create(actor=manager, name="Count", kind="event_count", event=" ")
    assert "event" in errors_of(excinfo)


def test_a_property_filter_needs_both_name_and_value(manager):
    with pytest.raises(ValidationError) as excinfo:
        metric_create(actor=manager, name="Pro", kind="active_users", property_name="plan")
    assert "property_value" in errors_of(excinfo)


def test_a_property_filter_window_must_fit_the_raw_event_retention(manager, settings):
    settings.TEND_EVENTS_KEEP_DAYS = 30
    with pytest.raises(ValidationError) as excinfo:
        metric_create(
            actor=manager,
            name="Pro",
            kind="active_users",
            property_name="plan",
            property_value="pro",
            window_days=90,
        )
    assert "window_days" in errors_of(excinfo)
    metric_create(
        actor=manager,
        name="Pro",
        kind="active_users",
        property_name="plan",
        property_value="pro",
        window_days=30,
    )


def test_unknown_kind_window_and_duplicate_name_are_refused(manager):
    with pytest.raises(ValidationError) as excinfo:
        metric_create(actor=manager, name="X", kind="vibes", window_days=14)
    assert {"kind", "window_days"} <= set(errors_of(excinfo))
    metric_create(actor=manager, name="Logins", kind="active_users")
    with pytest.raises(ValidationError) as excinfo:
        metric_create(actor=manager, name="Logins", kind="active_users")
    assert "name" in errors_of(excinfo)


def test_an_invalid_change_leaves_the_metric_as_it_was(manager):
    metric = metric_create(actor=manager, name="Logins", kind="active_users")
    with pytest.raises(ValidationError):
        metric_update(actor=manager, metric=metric, kind="event_count")
    assert Metric.objects.get(pk=metric.pk).kind == "active_users"


def test_the_retention_from_the_environment_limits_windows_as_it_limits_pruning(
    manager, monkeypatch
):
    # TEND_EVENTS_KEEP_DAYS set only in the environment (as docs/settings.md says).
    monkeypatch.setenv("TEND_EVENTS_KEEP_DAYS", "30")
    with pytest.raises(ValidationError) as excinfo:
        metric_create(
            actor=manager,
            name="Pro",
            kind="active_users",
            property_name="plan",
            property_value="pro",
            window_days=90,
        )
    assert "window_days" in errors_of(excinfo)
