"""Survey results: exact score and split, filters by period / account / CSM / segment,
the table grouped by account, CSM or segment, the monthly trend and the answers list."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import make_staff
from tend.core.models import User
from tend.core.roles import Role
from tend.crm.models import Account
from tend.surveys.models import SurveyKind
from tend.web.tests.surveys_helpers import answered, contact, survey
from tend.web.views_surveys import trend_chart

pytestmark = pytest.mark.django_db


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("carla", Role.CSM, first_name="Carla", last_name="Chen")


@pytest.fixture
def acme(csm: User) -> Account:
    return Account.objects.create(name="Acme", owner=csm, segment="Enterprise")


@pytest.fixture
def globex(db: Any) -> Account:
    return Account.objects.create(name="Globex", segment="SMB")


def _score(html: str) -> str:
    found = re.search(r'class="survey-score" data-score="([^"]*)">\s*([^<]*?)\s*<', html)
    assert found, "no score on the page"
    return found.group(2)


def _days_ago(n: int) -> dt.datetime:
    return timezone.now() - dt.timedelta(days=n)


def test_csat_vendor_vector_scores_70(client: Client, acme: Account, manager: User) -> None:
    # Given answers 40×5, 30×4, 10×3, 5×2, 15×1
    csat = survey(SurveyKind.CSAT)
    person = contact(acme)
    for score, times in ((5, 40), (4, 30), (3, 10), (2, 5), (1, 15)):
        for _ in range(times):
            answered(csat, person, score)
    client.force_login(manager)

    # When the results page is opened for CSAT
    html = client.get(reverse("web:survey_results"), {"kind": "csat"}).content.decode()

    # Then the score is 70 from 100 answers, split 70 / 10 / 20
    assert _score(html) == "70"
    assert "100 answers" in html
    assert re.search(r"Positive</th><td class=\"num\">70<", html)
    assert re.search(r"Negative</th><td class=\"num\">20<", html)


def test_nps_can_be_negative_and_filters_by_account(
    client: Client, acme: Account, globex: Account, manager: User
) -> None:
    nps = survey()
    for score in (0, 3, 9):  # Acme: 1 promoter, 2 detractors → −33
        answered(nps, contact(acme), score)
    answered(nps, contact(globex), 10)
    client.force_login(manager)

    everyone = client.get(reverse("web:survey_results"), {"kind": "nps"}).content.decode()
    only_acme = client.get(
        reverse("web:survey_results"), {"kind": "nps", "account": acme.pk}
    ).content.decode()

    assert _score(everyone) == "0"  # 2 promoters, 2 detractors of 4
    assert _score(only_acme) == "-33"


def test_the_period_filter(client: Client, acme: Account, manager: User) -> None:
    nps = survey()
    answered(nps, contact(acme), 10, when=_days_ago(5))
    answered(nps, contact(acme), 0, when=_days_ago(60))
    client.force_login(manager)
    url = reverse("web:survey_results")

    assert _score(client.get(url, {"kind": "nps", "period": "30"}).content.decode()) == "100"
    assert _score(client.get(url, {"kind": "nps", "period": "90"}).content.decode()) == "0"
    between = {
        "kind": "nps",
        "period": "custom",
        "since": (timezone.localdate() - dt.timedelta(days=70)).isoformat(),
        "until": (timezone.localdate() - dt.timedelta(days=50)).isoformat(),
    }
    assert _score(client.get(url, between).content.decode()) == "-100"


def test_grouped_by_csm_and_by_segment(
    client: Client, acme: Account, globex: Account, manager: User
) -> None:
    nps = survey()
    answered(nps, contact(acme), 10)
    answered(nps, contact(globex), 2)
    client.force_login(manager)
    url = reverse("web:survey_results")

    by_csm = client.get(url, {"kind": "nps", "by": "csm"}).content.decode()
    by_segment = client.get(url, {"kind": "nps", "by": "segment"}).content.decode()
    filtered = client.get(url, {"kind": "nps", "segment": "SMB"}).content.decode()

    assert "Carla Chen" in by_csm
    assert "Enterprise" in by_segment and "SMB" in by_segment
    assert _score(filtered) == "-100"


def test_the_monthly_trend_is_drawn(client: Client, acme: Account, manager: User) -> None:
    nps = survey()
    today = timezone.now()
    answered(nps, contact(acme), 10, when=today)
    answered(nps, contact(acme), 0, when=today - dt.timedelta(days=35))
    answered(nps, contact(acme), 10, when=today - dt.timedelta(days=70))
    client.force_login(manager)

    html = client.get(reverse("web:survey_results"), {"kind": "nps"}).content.decode()

    assert "<polyline" in html
    assert html.count('class="dot"') == 3


def test_trend_chart_scales_nps_and_breaks_at_empty_months() -> None:
    months = [dt.date(2026, m, 1) for m in (1, 2, 3, 4)]
    chart = trend_chart("nps", list(zip(months, [100.0, -100.0, None, 0.0], strict=True)))

    assert chart["segments"] == ["5,0.0 15,100.0"]  # top = 100, bottom = −100
    assert chart["dots"][-1] == {"x": 35, "y": 50.0}  # the lone month after the gap
    assert chart["zero_y"] == 50.0
    csat = trend_chart("csat", [(months[0], 70.0)])
    assert csat["dots"] == [{"x": 5, "y": 30.0}] and csat["zero_y"] is None


def test_answers_list_with_comment_and_filter(client: Client, acme: Account, manager: User) -> None:
    li = contact(acme, name="Li Wei")
    answered(survey(), li, 4, comment="Reports are too slow")
    answered(survey(SurveyKind.CSAT), li, 5, comment="Quick answer, thanks")
    client.force_login(manager)
    url = reverse("web:survey_responses")

    everything = client.get(url).content.decode()
    only_nps = client.get(url, {"kind": "nps"}).content.decode()

    assert "Reports are too slow" in everything and "Quick answer, thanks" in everything
    assert "Li Wei" in everything and "Acme" in everything
    assert "Reports are too slow" in only_nps and "Quick answer" not in only_nps


def test_results_need_permission(client: Client, acme: Account) -> None:
    answered(survey(), contact(acme), 10, comment="secret praise")
    nobody = make_staff("nobody", Role.AGENT)
    nobody.groups.clear()
    client.force_login(nobody)

    assert client.get(reverse("web:survey_results")).status_code == 403
    assert client.get(reverse("web:survey_responses")).status_code == 403


def test_read_only_staff_see_results(client: Client, acme: Account, readonly: User) -> None:
    answered(survey(), contact(acme), 10, comment="Lovely")
    client.force_login(readonly)

    assert client.get(reverse("web:survey_results")).status_code == 200
    assert "Lovely" in client.get(reverse("web:survey_responses")).content.decode()


def test_results_of_one_survey(client: Client, acme: Account, manager: User) -> None:
    relationship, onboarding = survey(name="Relationship"), survey(name="Onboarding")
    answered(relationship, contact(acme), 10)
    answered(onboarding, contact(acme), 0)
    client.force_login(manager)
    url = reverse("web:survey_results")

    one = client.get(url, {"kind": "nps", "survey": relationship.pk}).content.decode()
    wrong_type = client.get(url, {"kind": "csat", "survey": relationship.pk})

    assert _score(one) == "100"
    assert wrong_type.status_code == 400
