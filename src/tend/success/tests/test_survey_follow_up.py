"""Closing the loop: an unhappy survey answer gives the account's CSM a follow-up task
(once per answer) and, when the survey says so, opens a ticket for the contact."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tend.core.models import User
from tend.crm.models import Account, Contact
from tend.desk.models import Ticket
from tend.success.models import Task, TaskType
from tend.success.services import survey_follow_up, survey_score_is_low
from tend.surveys.models import Channel, Invitation, Response, Survey, SurveyKind, Trigger
from tend.surveys.services import invitation_create, response_record

MakeContact = Callable[..., Contact]


def _survey(kind: str = SurveyKind.NPS, *, open_ticket: bool = False, scale_max: int = 5) -> Survey:
    return Survey.objects.create(
        kind=kind,
        name=f"{kind} survey",
        question="How likely are you to recommend us?",
        scale_max=scale_max,
        trigger=Trigger.MANUAL,
        open_ticket_on_low_score=open_ticket,
    )


def answer(survey: Survey, contact: Contact, score: int, comment: str = "") -> Response:
    """An answer as stored: invitation + response, with the account and its CSM."""
    invitation = Invitation.objects.create(
        survey=survey,
        contact=contact,
        account=contact.account,
        channel=Channel.EMAIL,
        nonce="n",
        expires_at=timezone.now() + timedelta(days=14),
    )
    account = contact.account
    return Response.objects.create(
        invitation=invitation,
        survey=survey,
        kind=survey.kind,
        score=score,
        scale_max=survey.scale_top,
        comment=comment,
        contact=contact,
        account=account,
        csm=account.owner if account else None,
        segment=account.segment if account else "",
    )


@pytest.mark.parametrize(
    ("kind", "score", "scale_max", "low"),
    [
        (SurveyKind.NPS, 0, 10, True),
        (SurveyKind.NPS, 6, 10, True),
        (SurveyKind.NPS, 7, 10, False),
        (SurveyKind.NPS, 10, 10, False),
        (SurveyKind.CSAT, 1, 5, True),
        (SurveyKind.CSAT, 2, 5, True),
        (SurveyKind.CSAT, 3, 5, False),
        (SurveyKind.CES, 2, 7, True),
        (SurveyKind.CES, 3, 7, False),
    ],
)
def test_which_answers_are_unhappy(kind: str, score: int, scale_max: int, low: bool) -> None:
    assert survey_score_is_low(kind, score, scale_max) is low


def test_a_detractor_raises_one_task_for_the_accounts_csm(
    account: Account, csm: User, make_contact: MakeContact
) -> None:
    # Given a detractor's answer with a comment
    li = make_contact("Li Wei")
    response = answer(_survey(), li, 3, comment="Too slow since the upgrade.")

    # When the loop is closed, twice (the answer was edited within its 24 hours)
    first = survey_follow_up(response_id=response.pk)
    again = survey_follow_up(response_id=response.pk)

    # Then the CSM has exactly one follow-up task, naming the person, score and comment
    (task,) = Task.objects.filter(type=TaskType.SURVEY_FOLLOW_UP)
    assert first.task == again.task == task
    assert task.owner == csm and task.account == account and task.contact == li
    assert "Li Wei answered NPS with 3/10." in task.reason
    assert "Too slow since the upgrade." in task.reason
    assert first.ticket_id is None and Ticket.objects.count() == 0


def test_each_unhappy_answer_gets_its_own_task(account: Account, make_contact: MakeContact) -> None:
    survey = _survey(SurveyKind.CSAT)
    survey_follow_up(response_id=answer(survey, make_contact(), 1).pk)
    survey_follow_up(response_id=answer(survey, make_contact(), 2).pk)

    assert Task.objects.filter(type=TaskType.SURVEY_FOLLOW_UP).count() == 2


def test_happy_and_passive_answers_raise_nothing(
    account: Account, make_contact: MakeContact
) -> None:
    nps, csat = _survey(), _survey(SurveyKind.CSAT)
    for response in (answer(nps, make_contact(), 7), answer(csat, make_contact(), 3)):
        assert survey_follow_up(response_id=response.pk).task is None

    assert not Task.objects.exists()


def test_a_low_ces_on_a_seven_point_scale(account: Account, make_contact: MakeContact) -> None:
    survey = _survey(SurveyKind.CES, scale_max=7)
    assert survey_follow_up(response_id=answer(survey, make_contact(), 2).pk).task is not None
    assert survey_follow_up(response_id=answer(survey, make_contact(), 3).pk).task is None


def test_the_survey_can_also_open_a_ticket_once(
    account: Account, make_contact: MakeContact
) -> None:
    # Given a survey that opens a ticket on a low score
    li = make_contact("Li Wei")
    response = answer(_survey(open_ticket=True), li, 2, comment="Nobody answers.")

    # When the answer comes in and is then edited (still low)
    first = survey_follow_up(response_id=response.pk)
    survey_follow_up(response_id=response.pk)

    # Then one ticket is open for the contact, on the account, quoting the answer
    (ticket,) = Ticket.objects.all()
    assert first.ticket_id == ticket.pk
    assert ticket.requester == li and ticket.account == account
    assert "NPS" in ticket.subject and "2/10" in ticket.subject
    assert "Nobody answers." in ticket.description


def test_no_ticket_for_a_contact_without_an_address(
    account: Account, make_contact: MakeContact
) -> None:
    person = make_contact()
    person.email = ""
    person.external_id = "u-42"
    person.save()

    result = survey_follow_up(response_id=answer(_survey(open_ticket=True), person, 0).pk)

    assert result.task is not None and result.ticket_id is None
    assert not Ticket.objects.exists()


def test_an_answer_without_an_account_raises_nothing(db: None) -> None:
    loner = Contact.objects.create(name="Loner", email="loner@example.test")
    response = answer(_survey(open_ticket=True), loner, 0)

    assert survey_follow_up(response_id=response.pk).task is None
    assert not Task.objects.exists() and not Ticket.objects.exists()


def test_an_answer_recorded_by_the_survey_closes_the_loop_after_commit(
    account: Account, csm: User, make_contact: MakeContact, django_capture_on_commit_callbacks: Any
) -> None:
    # Given an NPS survey that opens tickets, and a contact asked through the service
    survey = _survey(open_ticket=True)
    li = make_contact("Li Wei")
    invitation = invitation_create(survey=survey, contact=li, channel=Channel.EMAIL)
    assert invitation is not None

    # When they answer 2, then change it to 4 within the editing window
    with django_capture_on_commit_callbacks(execute=True):
        response_record(invitation=invitation, score=2, comment="Support is slow")
    with django_capture_on_commit_callbacks(execute=True):
        response_record(invitation=invitation, score=4)

    # Then the CSM has one follow-up task and the contact one ticket
    (task,) = Task.objects.filter(type=TaskType.SURVEY_FOLLOW_UP)
    assert task.owner == csm and "Support is slow" in task.reason
    (ticket,) = Ticket.objects.all()
    assert ticket.requester == li


def test_a_promoter_raises_nothing_and_is_flagged_as_advocate(
    account: Account, make_contact: MakeContact, django_capture_on_commit_callbacks: Any
) -> None:
    li = make_contact("Li Wei")
    invitation = invitation_create(survey=_survey(), contact=li, channel=Channel.EMAIL)
    assert invitation is not None

    with django_capture_on_commit_callbacks(execute=True):
        response_record(invitation=invitation, score=10)

    assert not Task.objects.exists()
    li.refresh_from_db()
    assert li.advocate_candidate_at is not None
