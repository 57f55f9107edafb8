"""NPS as a health measure: an account's NPS over its survey answers of the 180 days to
the scored day feeds the score, shows in the explanation, and is missing (its weight
shared out) when nobody answered."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.template import Context, Template
from django.test import RequestFactory

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.models import Account, Contact
from tend.health import scoring
from tend.health.selectors import account_health
from tend.health.services import health_model_create, health_recompute
from tend.health.tests.factories import (
    DAY,
    make_account,
    make_contact,
    make_metric,
    metric_config,
    noon,
    set_value,
)
from tend.surveys.models import Channel, Invitation, Response, Survey, SurveyKind, Trigger

pytestmark = pytest.mark.django_db


def _nps_survey() -> Survey:
    return Survey.objects.create(
        kind=SurveyKind.NPS,
        name="Relationship NPS",
        question="How likely are you to recommend us?",
        trigger=Trigger.RELATIONSHIP,
        interval_days=90,
    )


def answered(survey: Survey, contact: Contact, score: int, on: date) -> Response:
    invitation = Invitation.objects.create(
        survey=survey,
        contact=contact,
        account=contact.account,
        channel=Channel.EMAIL,
        nonce="n",
        expires_at=noon(on) + timedelta(days=14),
    )
    response = Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind=SurveyKind.NPS,
        score=score,
        scale_max=10,
        contact=contact,
        account=contact.account,
    )
    # created_at is set to now on insert; the measure reads "as of" the scored day.
    Response.objects.filter(pk=response.pk).update(created_at=noon(on), updated_at=noon(on))
    return response


def _scored(account: Account) -> dict[str, dict[str, object]]:
    snap = account_health(account)
    assert snap is not None
    return {row["key"]: row for row in snap.explanation["measures"]}


def test_nps_is_a_measure_with_a_source() -> None:
    assert scoring.NPS not in scoring.MISSING_SOURCE_KINDS
    assert scoring.ONBOARDING in scoring.MISSING_SOURCE_KINDS


def test_the_accounts_nps_of_the_last_180_days_feeds_its_score() -> None:
    # Given logins 50 %, urgent tickets 25 %, NPS 25 % (linear: −100 → 0, 100 → 100)
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    account = make_account()
    set_value(metric, account, 5)  # 50 points; no urgent ticket: 100 points
    survey = _nps_survey()
    # and answers 10, 9 and 3 within the window: 2 promoters, 1 detractor → NPS 33.3
    for score, days_ago in ((10, 1), (9, 60), (3, 179)):
        answered(survey, make_contact(account), score, DAY - timedelta(days=days_ago))
    # and answers outside it, which must not count
    answered(survey, make_contact(account), 0, DAY - timedelta(days=200))
    answered(survey, make_contact(account), 0, DAY + timedelta(days=1))

    # When the day is scored
    health_recompute(day=DAY)

    # Then NPS has its value and its full weight in the explanation
    rows = _scored(account)
    assert rows["nps"]["value"] == pytest.approx(33.33, abs=0.01)
    assert rows["nps"]["points"] == pytest.approx(66.67, abs=0.01)
    assert rows["nps"]["effective_weight"] == 25
    snap = account_health(account)
    assert snap is not None
    # 50 × 0.5 + 100 × 0.25 + 66.67 × 0.25
    assert snap.score == pytest.approx(66.7)


def test_an_account_nobody_answered_for_shares_nps_weight_out() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    quiet, answering = make_account(), make_account()
    answered(_nps_survey(), make_contact(answering), 10, DAY)

    health_recompute(day=DAY)

    assert _scored(quiet)["nps"]["value"] is None
    assert _scored(quiet)["nps"]["effective_weight"] == 0
    assert _scored(answering)["nps"]["value"] == 100


def test_the_score_card_shows_the_nps_value() -> None:
    metric = make_metric()
    health_model_create(actor=None, name="Default", config=metric_config(metric))
    account = make_account()
    answered(_nps_survey(), make_contact(account), 3, DAY)  # one detractor: −100
    health_recompute(day=DAY)
    request = RequestFactory().get("/")
    request.user = make_staff("carol", Role.CSM)

    html = Template('{% include "web/health/_score_card.html" %}').render(
        Context({"request": request, "account": account})
    )

    assert "NPS" in html and "-100" in html
