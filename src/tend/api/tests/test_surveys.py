"""GET /api/v1/surveys/results and /api/v1/surveys/responses (issue 5, point 9)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone

from tend.api.tests.conftest import ApiClient
from tend.core.models import User
from tend.surveys.models import Response, SurveyKind
from tend.surveys.services import response_record
from tend.surveys.tests.helpers import account, contact, invited, survey

pytestmark = pytest.mark.django_db


@pytest.fixture
def api_get(api_as: Callable[[User], ApiClient]) -> Callable[..., Any]:
    def get(user: User, path: str, **params: Any) -> Any:
        return api_as(user).get(path, **params)

    return get


@pytest.fixture
def answers(manager: User) -> None:
    csat = survey(SurveyKind.CSAT)
    acme = account("Acme", owner=manager, segment="Enterprise")
    for score, times in ((5, 40), (4, 30), (3, 10), (2, 5), (1, 15)):
        for _ in range(times):
            response_record(invitation=invited(csat, contact(acme)), score=score)
    nps = survey()
    globex = account("Globex", segment="SMB")
    for score in (10, 0, 7):
        response_record(invitation=invited(nps, contact(globex)), score=score, comment="hi")


def test_results_give_the_score_and_its_split(
    answers: None, readonly: User, api_get: Callable[..., Any]
) -> None:
    csat = api_get(readonly, "/api/v1/surveys/results", type="csat")
    nps = api_get(readonly, "/api/v1/surveys/results", type="nps")

    assert csat.status_code == 200
    assert csat.json() == {
        "type": "csat",
        "score": 70.0,
        "responses": 100,
        "positive": 70,
        "neutral": 10,
        "negative": 20,
        "promoters": None,
        "passives": None,
        "detractors": None,
    }
    body = nps.json()
    assert (body["score"], body["promoters"], body["passives"], body["detractors"]) == (
        0.0,
        1,
        1,
        1,
    )


def test_results_take_the_ui_filters(
    answers: None, manager: User, api_get: Callable[..., Any]
) -> None:
    acme_id = Response.objects.filter(kind="csat").first().account_id  # type: ignore[union-attr]
    assert (
        api_get(manager, "/api/v1/surveys/results", type="csat", account=acme_id).json()[
            "responses"
        ]
        == 100
    )
    assert api_get(manager, "/api/v1/surveys/results", type="csat", csm="me").json()["score"] == 70
    assert (
        api_get(manager, "/api/v1/surveys/results", type="nps", segment="SMB").json()["responses"]
        == 3
    )
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    empty = api_get(manager, "/api/v1/surveys/results", type="nps", since=tomorrow).json()
    assert (empty["score"], empty["responses"]) == (None, 0)


@pytest.mark.parametrize(
    "params",
    [{}, {"type": "xyz"}, {"type": "nps", "stauts": "x"}, {"type": "nps", "since": "soon"}],
)
def test_bad_result_queries_are_422(
    manager: User, params: dict[str, str], api_get: Callable[..., Any]
) -> None:
    reply = api_get(manager, "/api/v1/surveys/results", **params)
    assert reply.status_code == 422
    assert "detail" in reply.json()


def test_responses_are_listed_newest_first_and_paginated(
    answers: None, readonly: User, api_get: Callable[..., Any]
) -> None:
    page = api_get(readonly, "/api/v1/surveys/responses", type="nps", limit=2).json()

    assert page["count"] == 3
    assert len(page["items"]) == 2
    item = page["items"][0]
    assert set(item) >= {"id", "type", "score", "comment", "contact", "account", "created_at"}
    assert item["type"] == "nps" and item["comment"] == "hi"
    assert item["contact"]["email"].endswith("@customer.test")


def test_staff_without_survey_access_get_403(answers: None, api_get: Callable[..., Any]) -> None:
    nobody = User.objects.create_user(username="nobody", password="x")
    assert api_get(nobody, "/api/v1/surveys/results", type="nps").status_code == 403
    assert api_get(nobody, "/api/v1/surveys/responses").status_code == 403
