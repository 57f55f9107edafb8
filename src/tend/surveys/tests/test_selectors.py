"""Results from stored answers: exact scores and splits, filters, months, groups, health."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Account
from tend.surveys.models import Response, Survey, SurveyKind
from tend.surveys.selectors import (
    account_survey_score,
    responses_for,
    results,
    results_by_month,
    results_grouped,
)
from tend.surveys.services import response_record
from tend.surveys.tests.helpers import account, contact, invited, survey

pytestmark = pytest.mark.django_db


def _answer(on: Survey, customer: Account | None, score: int, *, days_ago: int = 0) -> Response:
    # A fresh contact per answer: the throttle allows one ask per person a month.
    response = response_record(invitation=invited(on, contact(customer)), score=score)
    if days_ago:
        when = timezone.now() - dt.timedelta(days=days_ago)
        Response.objects.filter(pk=response.pk).update(created_at=when)
    return response


def test_csat_vendor_vector_from_the_database() -> None:
    csat = survey(SurveyKind.CSAT)
    acme = account()
    for score, times in ((5, 40), (4, 30), (3, 10), (2, 5), (1, 15)):
        for _ in range(times):
            _answer(csat, acme, score)

    result = results(kind="csat")

    assert (result.score, result.responses) == (70, 100)
    assert (result.positive, result.neutral, result.negative) == (70, 10, 20)


def test_ces_vendor_vector_and_the_seven_point_scale_counted_per_answer() -> None:
    five = survey(SurveyKind.CES)
    for score in [1, 1, 2, 2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5]:
        _answer(five, None, score)
    assert results(kind="ces").score == 50

    seven = survey(SurveyKind.CES, scale_max=7)
    for score in (6, 7, 5, 5):  # 2 agree of 4 on 1–7
        _answer(seven, None, score)
    assert results(kind="ces", survey=seven).score == 50
    assert results(kind="ces").score == pytest.approx(100 * 12 / 24)


def test_nps_splits_and_filters(manager: User) -> None:
    nps = survey()
    acme = account("Acme", owner=manager, segment="Enterprise")
    globex = account("Globex", segment="SMB")
    for score in (10, 9, 8, 0):
        _answer(nps, acme, score)
    _answer(nps, globex, 3)
    _answer(nps, globex, 10, days_ago=40)

    everyone = results(kind="nps")
    assert (everyone.promoters, everyone.passives, everyone.detractors) == (3, 1, 2)
    assert everyone.score == pytest.approx(100 * (3 - 2) / 6)
    assert results(kind="nps", account=acme).score == 25
    assert results(kind="nps", csm=manager).responses == 4
    assert results(kind="nps", segment="SMB").score == 0
    recent = results(kind="nps", since=timezone.localdate() - dt.timedelta(days=30))
    assert recent.responses == 5
    assert results(kind="nps", until=timezone.localdate() - dt.timedelta(days=39)).responses == 1
    assert results(kind="csat").score is None
    assert everyone.as_dict()["promoters"] == 3 and "positive" not in everyone.as_dict()


def test_results_by_month_include_empty_months() -> None:
    nps = survey()
    _answer(nps, None, 10)
    _answer(nps, None, 0, days_ago=65)

    months = results_by_month(kind="nps", months=4)

    assert len(months) == 4
    assert months[-1][0] == timezone.localdate().replace(day=1)
    assert months[-1][1].score == 100
    assert sum(r.responses for _m, r in months) == 2
    assert any(r.score is None and r.responses == 0 for _m, r in months)


def test_results_grouped_by_account_csm_and_segment(manager: User) -> None:
    nps = survey()
    acme = account("Acme", owner=manager, segment="Enterprise")
    globex = account("Globex", segment="SMB")
    for score in (10, 10, 0):
        _answer(nps, acme, score)
    _answer(nps, globex, 6)

    by_account = results_grouped(kind="nps", by="account")
    assert [(r.label, r.result.responses) for r in by_account] == [("Acme", 3), ("Globex", 1)]
    assert by_account[1].result.score == -100
    by_csm = {r.key: r for r in results_grouped(kind="nps", by="csm")}
    assert by_csm[manager.pk].label == "Mia"
    assert by_csm[None].result.responses == 1
    assert {r.label for r in results_grouped(kind="nps", by="segment")} == {"Enterprise", "SMB"}


def test_account_survey_score_for_health() -> None:
    nps = survey()
    acme, quiet = account("Acme"), account("Quiet")
    _answer(nps, acme, 10)
    _answer(nps, acme, 0, days_ago=200)  # outside the 180 days

    scores = account_survey_score([acme.pk, quiet.pk], as_of=timezone.localdate())

    assert scores == {acme.pk: 100}  # nobody answered for Quiet: left out, not 0


def test_responses_need_the_view_permission(readonly: User) -> None:
    _answer(survey(), account(), 9)
    nobody = User.objects.create_user(username="nobody", password="x")

    assert responses_for(readonly).count() == 1
    assert responses_for(nobody).count() == 0
