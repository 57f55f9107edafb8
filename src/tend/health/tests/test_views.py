"""Health screens and API: the model editor's permissions and versioning, the focus
page, the account page's score card and grade partials."""

from __future__ import annotations

import json

import pytest
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.urls import reverse

from conftest import make_staff
from tend.core.roles import Role
from tend.health.models import HealthModel
from tend.health.services import health_model_create, health_recompute
from tend.health.tests.factories import (
    DAY,
    days_before,
    make_account,
    make_contact,
    make_metric,
    metric_config,
    set_value,
)

pytestmark = pytest.mark.django_db


def _post_model(client: Client, config: dict, **fields: object) -> object:
    data = {"name": "Default", "segment": "", "lifecycle": "", "is_active": "on"}
    data.update({k: str(v) for k, v in fields.items()})
    data["config"] = json.dumps(config)
    return client.post(reverse("web:health_model_new"), data)


def test_a_manager_creates_a_model_and_each_rule_change_is_a_new_version(client: Client) -> None:
    metric = make_metric()
    client.force_login(make_staff("mona", Role.MANAGER))

    response = _post_model(client, metric_config(metric))
    model = HealthModel.objects.get()
    assert response.status_code == 302
    edit = reverse("web:health_model_edit", args=[model.pk])
    page = client.get(edit)
    assert page.status_code == 200 and "v1" in page.content.decode()

    # Renaming alone keeps the rules (and the version)...
    base = {"name": "Everyone", "segment": "", "lifecycle": "", "is_active": "on"}
    client.post(edit, {**base, "config": json.dumps(metric_config(metric))})
    assert model.versions.count() == 1
    # ...changed bands make version 2.
    stricter = metric_config(metric, bands={"red_below": 50, "green_from": 80})
    response = client.post(edit, {**base, "config": json.dumps(stricter)})
    assert response.status_code == 302
    assert list(model.versions.values_list("number", flat=True)) == [2, 1]
    model.refresh_from_db()
    assert model.name == "Everyone"


def test_invalid_rules_are_explained_and_nothing_is_saved(client: Client) -> None:
    metric = make_metric()
    client.force_login(make_staff("mona", Role.MANAGER))
    config = metric_config(metric)
    config["measures"][0]["weight"] = 10

    response = _post_model(client, config)

    assert response.status_code == 400
    assert "add up to 100" in response.content.decode()
    assert not HealthModel.objects.exists()
    response = client.post(reverse("web:health_model_new"), {"name": "X", "config": "{not json"})
    assert response.status_code == 400 and "Not valid JSON" in response.content.decode()


def test_a_csm_reads_models_but_cannot_change_them(client: Client) -> None:
    metric = make_metric()
    model = health_model_create(actor=None, name="Default", config=metric_config(metric))
    client.force_login(make_staff("carol", Role.CSM))

    assert client.get(reverse("web:health_models")).status_code == 200
    assert client.get(reverse("web:health_model_new")).status_code == 403
    edit = reverse("web:health_model_edit", args=[model.pk])
    page = client.get(edit)
    assert page.status_code == 200 and "Managers change them" in page.content.decode()
    data = {"name": "Mine", "config": json.dumps(metric_config(metric))}
    assert client.post(edit, data).status_code == 403
    assert model.versions.count() == 1
    version = reverse("web:health_version", args=[model.pk, 1])
    assert client.get(version).status_code == 200


def test_an_agent_cannot_open_the_model_editor(client: Client) -> None:
    client.force_login(make_staff("alice", Role.AGENT))
    assert client.get(reverse("web:health_models")).status_code == 403


def test_focus_page_lists_my_b_minus_and_c_users(client: Client) -> None:
    metric = make_metric()
    config = metric_config(metric)
    config["measures"][0].update(scale="linear", thresholds=[[0, 0], [20, 100]])
    health_model_create(actor=None, name="Default", config=config)
    me = make_staff("carol", Role.CSM)
    account = make_account(owner=me)
    worth_it = make_contact(account, name="Wei Zhang")
    fine = make_contact(account, name="Ada Fine")
    set_value(metric, account, 10, contact=worth_it)
    set_value(metric, account, 20, contact=fine)
    health_recompute(day=DAY)
    client.force_login(me)

    page = client.get(reverse("web:health_focus")).content.decode()

    assert "Wei Zhang" in page and "Ada Fine" not in page


def _render(template: str, user: object, account: object) -> str:
    request = RequestFactory().get("/")
    request.user = user  # type: ignore[attr-defined]
    return Template(template).render(Context({"request": request, "account": account}))


def test_score_card_shows_score_trend_chart_and_explanation() -> None:
    metric = make_metric(name="Weekly logins")
    config = metric_config(metric, overrides=[{"when": "no_activity_30d", "band": "red"}])
    health_model_create(actor=None, name="Default", config=config)
    account = make_account()
    set_value(metric, account, 0, day=days_before(7))
    set_value(metric, account, 20)
    health_recompute(day=days_before(7))
    health_recompute(day=DAY)
    csm = make_staff("carol", Role.CSM)

    html = _render('{% include "web/health/_score_card.html" %}', csm, account)

    assert 'class="health-score">100<' in html
    assert "trend-up" in html
    assert "<polyline" in html
    assert "Weekly logins" in html and "no data" in html  # NPS has no source yet
    assert "66.7%" in html  # logins' weight once NPS's share is redistributed
    reader = make_staff("nobody", Role.AGENT)
    reader.groups.clear()
    assert "health-card" not in _render(
        '{% include "web/health/_score_card.html" %}', reader, account
    )


def test_grades_partial_shows_the_distribution() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    account = make_account()
    for value in (20, 20, 0):
        set_value(metric, account, value, contact=make_contact(account))
    health_recompute(day=DAY)

    html = _render(
        '{% include "web/health/_grades.html" %}', make_staff("carol", Role.CSM), account
    )

    assert "User grades" in html
    assert '<th scope="row">A</th>\n        <td class="num">2</td>' in html
    assert reverse("web:health_focus") in html
