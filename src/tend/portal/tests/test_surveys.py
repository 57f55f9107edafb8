"""The public survey pages: one-click answers from an email, editing for 24 hours, bad
links, bad scores, double submits, rate limits, both languages, and the in-product
snippet's JSON endpoints."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tend.surveys.models import Invitation, Response, SurveyKind, SurveySettings, Trigger
from tend.surveys.services import in_app_user_hash
from tend.surveys.tests.helpers import account, contact, invited, survey
from tend.surveys.tokens import invitation_token

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation() -> Invitation:
    return invited(survey(SurveyKind.NPS), contact(account()))


def _url(invitation: Invitation, query: str = "") -> str:
    return f"/s/{invitation_token(invitation)}/{query}"


def test_one_click_records_the_score_and_offers_a_comment(
    client: Client, invitation: Invitation
) -> None:
    # When the customer clicks "9" in the email
    reply = client.get(_url(invitation, "?score=9"), follow=True)

    # Then the answer is stored, and the page shows 9 selected with a comment box
    assert reply.status_code == 200
    assert Response.objects.get().score == 9
    html = reply.content.decode()
    assert 'value="9" checked' in html
    assert 'name="comment"' in html
    assert "Your answer is saved" in html
    # the score is not left in the address bar (reloading must not answer again)
    final_url = reply.redirect_chain[-1][0]
    assert final_url.startswith("/s/") and "score" not in final_url


def test_the_comment_and_a_changed_score_are_saved_on_the_same_answer(
    client: Client, invitation: Invitation
) -> None:
    client.get(_url(invitation, "?score=3"))

    reply = client.post(_url(invitation), {"score": "7", "comment": "Good, but slow exports"})
    client.post(_url(invitation), {"score": "7", "comment": "Good, but slow exports"})  # again

    assert reply.status_code == 302
    answer = Response.objects.get()
    assert (answer.score, answer.comment) == (7, "Good, but slow exports")


def test_after_24_hours_the_answer_is_read_only(client: Client, invitation: Invitation) -> None:
    client.get(_url(invitation, "?score=10"))
    Response.objects.update(created_at=timezone.now() - dt.timedelta(hours=25))

    page = client.get(_url(invitation)).content.decode()
    refused = client.post(_url(invitation), {"score": "0"})

    assert 'name="comment"' not in page
    assert "can no longer be changed" in page
    assert refused.status_code == 400
    assert Response.objects.get().score == 10


@pytest.mark.parametrize("score", ["11", "-1", "nine", "9.5", "<script>"])
def test_scores_out_of_range_store_nothing(
    client: Client, invitation: Invitation, score: str
) -> None:
    reply = client.post(_url(invitation), {"score": score, "comment": "kept"})

    assert reply.status_code == 400
    html = reply.content.decode()
    assert "Choose a score from 0 to 10." in html
    assert "kept" in html  # what the person typed is not lost
    assert "<script>" not in html.split("<main", 1)[1].split("</main>")[0].replace(
        "&lt;script&gt;", ""
    )
    assert not Response.objects.exists()


def test_tampered_link_is_a_clear_400_page(client: Client, invitation: Invitation) -> None:
    token = invitation_token(invitation)
    reply = client.get(f"/s/{token[:-2]}xx/?score=10")

    assert reply.status_code == 400
    assert "This survey link is not valid" in reply.content.decode()
    assert not Response.objects.exists()


def test_expired_link_is_a_clear_410_page(client: Client, invitation: Invitation) -> None:
    Invitation.objects.filter(pk=invitation.pk).update(
        expires_at=timezone.now() - dt.timedelta(minutes=1)
    )
    reply = client.get(_url(invitation, "?score=10"))

    assert reply.status_code == 410
    assert "This survey has closed" in reply.content.decode()
    assert not Response.objects.exists()


def test_the_pages_are_translated(client: Client, invitation: Invitation) -> None:
    client.cookies["django_language"] = "zh-hans"

    page = client.get(_url(invitation)).content.decode()
    bad = client.get("/s/nonsense/").content.decode()

    assert "您有多大可能向朋友推荐我们？" in page
    assert 'lang="zh-hans"' in page
    assert "此问卷链接无效" in bad


def test_a_head_request_records_nothing(client: Client, invitation: Invitation) -> None:
    assert client.head(_url(invitation, "?score=0")).status_code == 200
    assert not Response.objects.exists()


def test_walking_through_tokens_is_rate_limited(client: Client, settings: Any) -> None:
    statuses = [client.get(f"/s/guess{n}/").status_code for n in range(125)]

    assert statuses[:120] == [400] * 120
    assert statuses[-1] == 429


def test_ids_never_appear_in_the_page(client: Client, invitation: Invitation) -> None:
    html = client.get(_url(invitation)).content.decode()
    assert invitation.contact.email not in html


# --- the in-product snippet --------------------------------------------------------------


SECRET = "s3cret-for-tests"


@pytest.fixture
def in_app() -> Any:
    SurveySettings.objects.update_or_create(pk=1, defaults={"in_app_secret": SECRET})
    survey(SurveyKind.NPS, Trigger.IN_APP)
    return contact(account(), external_id="user-42")


def _ask(client: Client, user_id: str, user_hash: str, lang: str = "en") -> Any:
    return client.get(
        "/s/api/ask",
        {"user_id": user_id, "user_hash": user_hash, "lang": lang},
        headers={"Origin": "https://app.customer.test"},
    )


def test_embed_js_is_served(client: Client) -> None:
    reply = client.get("/s/embed.js")
    assert reply.status_code == 200
    assert reply["Content-Type"].startswith("text/javascript")
    assert b"Tend.survey" in reply.content


def test_an_identified_user_is_asked_once_and_answers(client: Client, in_app: Any) -> None:
    good_hash = in_app_user_hash("user-42", SECRET)

    first = _ask(client, "user-42", good_hash, lang="zh-CN")
    assert first.status_code == 200
    assert first["Access-Control-Allow-Origin"] == "*"
    question = first.json()
    assert question["ask"] is True
    assert question["question"] == "您有多大可能向朋友推荐我们？"
    assert (question["scale_min"], question["scale_max"]) == (0, 10)

    # the question comes back until answered (a page reload does not lose it)
    assert _ask(client, "user-42", good_hash).json()["token"] == question["token"]

    answer = client.post(
        "/s/api/answer",
        json.dumps({"token": question["token"], "score": 10}),
        content_type="text/plain",
    )
    assert answer.status_code == 200 and answer.json()["ok"] is True
    client.post(
        "/s/api/answer",
        json.dumps({"token": question["token"], "score": 10, "comment": "Love it"}),
        content_type="text/plain",
    )
    stored = Response.objects.get()
    assert (stored.score, stored.comment, stored.contact) == (10, "Love it", in_app)
    assert stored.invitation.channel == "in_app"
    # answered, and throttled across all surveys from now on
    assert _ask(client, "user-42", good_hash).json() == {"ask": False}


def test_wrong_hash_unknown_user_and_no_secret_all_look_the_same(
    client: Client, in_app: Any
) -> None:
    wrong = _ask(client, "user-42", in_app_user_hash("user-42", "guess")).json()
    unknown = _ask(client, "user-99", in_app_user_hash("user-99", SECRET)).json()
    SurveySettings.objects.update(in_app_secret="")
    off = _ask(client, "user-42", in_app_user_hash("user-42", SECRET)).json()

    assert wrong == unknown == off == {"ask": False}
    assert not Invitation.objects.exists()


def test_in_app_respects_the_email_throttle(client: Client, in_app: Any) -> None:
    invited(survey(SurveyKind.CSAT), in_app)  # emailed a CSAT today

    assert _ask(client, "user-42", in_app_user_hash("user-42", SECRET)).json() == {"ask": False}


def test_in_app_bad_score_and_dismiss(client: Client, in_app: Any) -> None:
    token = _ask(client, "user-42", in_app_user_hash("user-42", SECRET)).json()["token"]

    bad = client.post(
        "/s/api/answer", json.dumps({"token": token, "score": 42}), content_type="text/plain"
    )
    assert bad.status_code == 422
    assert "Choose a score from 0 to 10." in bad.json()["detail"]
    garbage = client.post("/s/api/answer", "not json", content_type="text/plain")
    assert garbage.status_code == 400

    dismissed = client.post(
        "/s/api/dismiss", json.dumps({"token": token}), content_type="text/plain"
    )
    assert dismissed.status_code == 200
    assert _ask(client, "user-42", in_app_user_hash("user-42", SECRET)).json() == {"ask": False}
    late = client.post(
        "/s/api/answer", json.dumps({"token": token, "score": 9}), content_type="text/plain"
    )
    assert late.status_code == 410
    assert not Response.objects.exists()


def test_preflight_is_answered_for_any_origin(client: Client) -> None:
    reply = client.options("/s/api/answer", headers={"Origin": "https://app.customer.test"})
    assert reply.status_code == 204
    assert reply["Access-Control-Allow-Origin"] == "*"
    assert "POST" in reply["Access-Control-Allow-Methods"]
