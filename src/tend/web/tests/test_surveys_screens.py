"""The surveys list, the send-rule editor and the survey settings: managers edit, the rest
of the team reads, and the in-product secret can be rotated."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tend.core.models import User
from tend.surveys.models import Survey, SurveyKind, SurveySettings, Trigger
from tend.web.tests.surveys_helpers import survey

pytestmark = pytest.mark.django_db


def _rule(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "kind": SurveyKind.NPS,
        "name": "Relationship NPS",
        "question": "How likely are you to recommend us to a friend?",
        "question_zh": "您有多大可能向朋友推荐我们？",
        "scale_max": "5",
        "trigger": Trigger.RELATIONSHIP,
        "interval_days": "90",
        "delay_days": "",
        "enabled": "on",
        "open_ticket_on_low_score": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_the_team_sees_the_surveys_and_their_rules(client: Client, agent: User) -> None:
    survey(SurveyKind.CSAT, name="Support satisfaction", trigger=Trigger.TICKET_SOLVED)
    client.force_login(agent)

    page = client.get(reverse("web:surveys"))

    assert page.status_code == 200
    html = page.content.decode()
    assert "Support satisfaction" in html and "When a ticket is solved" in html
    assert reverse("web:survey_new") not in html  # agents read, managers edit


def test_a_manager_creates_a_relationship_nps(client: Client, manager: User) -> None:
    client.force_login(manager)

    response = client.post(reverse("web:survey_new"), _rule())

    assert response.status_code == 302
    saved = Survey.objects.get()
    assert saved.kind == SurveyKind.NPS and saved.trigger == Trigger.RELATIONSHIP
    assert saved.interval_days == 90 and saved.question_zh.startswith("您有多大")
    assert saved.enabled and saved.open_ticket_on_low_score


def test_a_ces_can_use_a_seven_point_scale(client: Client, manager: User) -> None:
    client.force_login(manager)

    client.post(
        reverse("web:survey_new"),
        _rule(kind=SurveyKind.CES, name="Effort", scale_max="7", trigger=Trigger.IN_APP),
    )

    assert Survey.objects.get().scale_max == 7


def test_a_rule_without_its_days_is_refused_with_a_message(client: Client, manager: User) -> None:
    client.force_login(manager)

    response = client.post(reverse("web:survey_new"), _rule(interval_days=""))

    assert response.status_code == 400
    assert "how often" in response.content.decode()
    assert not Survey.objects.exists()


def test_a_manager_edits_and_disables_a_survey(client: Client, manager: User) -> None:
    nps = survey(trigger=Trigger.RELATIONSHIP, interval_days=90)
    client.force_login(manager)

    client.post(
        reverse("web:survey_edit", args=[nps.pk]),
        _rule(name="Quarterly NPS", interval_days="120", enabled=None),
    )

    nps.refresh_from_db()
    assert nps.name == "Quarterly NPS" and nps.interval_days == 120 and not nps.enabled


def test_agents_may_not_change_surveys(client: Client, agent: User) -> None:
    nps = survey()
    client.force_login(agent)

    assert client.get(reverse("web:survey_new")).status_code == 403
    assert client.post(reverse("web:survey_new"), _rule()).status_code == 403
    edit = client.post(reverse("web:survey_edit", args=[nps.pk]), _rule(name="Hacked"))
    assert edit.status_code == 403
    nps.refresh_from_db()
    assert nps.name != "Hacked"


def test_a_manager_sets_the_throttle(client: Client, manager: User) -> None:
    client.force_login(manager)

    response = client.post(reverse("web:survey_settings"), {"throttle_days": "45"})

    assert response.status_code == 302
    assert SurveySettings.objects.get(pk=1).throttle_days == 45


def test_the_throttle_must_be_at_least_a_day(client: Client, manager: User) -> None:
    client.force_login(manager)

    response = client.post(reverse("web:survey_settings"), {"throttle_days": "0"})

    assert response.status_code == 400


def test_rotating_the_secret_voids_the_old_one_and_shows_the_snippet(
    client: Client, manager: User
) -> None:
    client.force_login(manager)
    client.post(reverse("web:survey_secret_rotate"))
    first = SurveySettings.objects.get(pk=1).in_app_secret

    client.post(reverse("web:survey_secret_rotate"))

    second = SurveySettings.objects.get(pk=1).in_app_secret
    assert first and second and first != second
    html = client.get(reverse("web:survey_settings")).content.decode()
    assert second in html and first not in html
    assert "/s/embed.js" in html


def test_only_managers_see_or_change_the_settings(client: Client, agent: User) -> None:
    client.force_login(agent)

    assert client.get(reverse("web:survey_settings")).status_code == 403
    assert client.post(reverse("web:survey_settings"), {"throttle_days": "1"}).status_code == 403
    assert client.post(reverse("web:survey_secret_rotate")).status_code == 403
    assert not SurveySettings.objects.exclude(in_app_secret="").exists()
