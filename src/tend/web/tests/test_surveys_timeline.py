"""Survey answers on the account 360 timeline, and the contact page's "advocate
candidate" badge."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from conftest import make_staff
from tend.core.models import User
from tend.core.roles import Role
from tend.crm.models import Account, Contact
from tend.surveys.models import Channel, Invitation, Response, Survey, SurveyKind, Trigger
from tend.web.selectors_timeline import SURVEY_COMMENT_EXCERPT, account_timeline

pytestmark = pytest.mark.django_db


@pytest.fixture
def csm(db: Any) -> User:
    return make_staff("carla", Role.CSM, first_name="Carla")


@pytest.fixture
def account(csm: User) -> Account:
    return Account.objects.create(name="Acme", owner=csm)


@pytest.fixture
def li(account: Account) -> Contact:
    return Contact.objects.create(name="Li Wei", email="li@acme.cn", account=account)


def answered(contact: Contact, kind: str, score: int, comment: str = "") -> Response:
    survey = Survey.objects.create(
        kind=kind, name=kind, question="?", trigger=Trigger.MANUAL, scale_max=5
    )
    invitation = Invitation.objects.create(
        survey=survey,
        contact=contact,
        account=contact.account,
        channel=Channel.EMAIL,
        nonce="n",
        expires_at=timezone.now() + dt.timedelta(days=14),
    )
    return Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind=kind,
        score=score,
        scale_max=survey.scale_top,
        comment=comment,
        contact=contact,
        account=contact.account,
    )


def test_answers_appear_on_the_account_timeline(account: Account, li: Contact, csm: User) -> None:
    # Given a detractor's NPS answer with a long comment, and a happy CSAT
    long_comment = "The export keeps failing. " * 40
    answered(li, SurveyKind.NPS, 4, comment=long_comment)
    answered(li, SurveyKind.CSAT, 5)

    # When the CSM reads the timeline
    entries = [e for e in account_timeline(account, user=csm) if e.kind == "survey_response"]

    # Then both answers are there, newest first, with score, type, person and comment start
    csat, nps = entries
    assert csat.title == "CSAT 5/5 from Li Wei" and csat.tone == "good"
    assert nps.title == "NPS 4/10 from Li Wei" and nps.tone == "bad"
    assert nps.detail.startswith("The export keeps failing.")
    assert len(nps.detail) <= SURVEY_COMMENT_EXCERPT and nps.detail.endswith("…")
    assert nps.link == reverse("web:contact", args=[li.pk])


def test_answers_are_hidden_from_who_may_not_read_them(account: Account, li: Contact) -> None:
    answered(li, SurveyKind.NPS, 10)
    stranger = make_staff("nosy", Role.CSM)
    stranger.groups.clear()
    stranger.user_permissions.clear()

    assert not [e for e in account_timeline(account, user=stranger) if e.kind == "survey_response"]


def test_the_account_page_shows_the_answer(
    client: Client, account: Account, li: Contact, csm: User
) -> None:
    answered(li, SurveyKind.NPS, 9, comment="Great onboarding")
    client.force_login(csm)

    html = client.get(reverse("web:account", args=[account.pk])).content.decode()

    assert 'data-kind="survey_response"' in html
    assert "NPS 9/10 from Li Wei" in html and "Great onboarding" in html


def test_the_contact_page_shows_an_advocate_candidate(
    client: Client, li: Contact, csm: User
) -> None:
    client.force_login(csm)
    page = reverse("web:contact", args=[li.pk])
    assert "Advocate candidate" not in client.get(page).content.decode()

    li.advocate_candidate_at = timezone.now()
    li.save()

    assert "Advocate candidate" in client.get(page).content.decode()
