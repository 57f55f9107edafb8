"""Who is asked and when (send rules, throttle), the survey email, and recording answers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tend.core.models import User
from tend.desk import services as desk
from tend.desk.models import Ticket
from tend.surveys import events
from tend.surveys.models import (
    Invitation,
    InvitationStatus,
    Response,
    SurveyKind,
    SurveySettings,
    Trigger,
)
from tend.surveys.services import (
    invitation_create,
    invitation_send,
    invitations_send_due,
    response_record,
    survey_save,
    surveys_due,
)
from tend.surveys.tests.helpers import account, contact, invited, started, survey

pytestmark = pytest.mark.django_db

NOW = timezone.now()


@pytest.fixture
def recorded() -> Iterator[list[dict[str, Any]]]:
    """What response_recorded carried, in order."""
    seen: list[dict[str, Any]] = []

    def receiver(sender: Any, **kwargs: Any) -> None:
        kwargs.pop("signal", None)
        seen.append(kwargs)

    events.response_recorded.connect(receiver, dispatch_uid="test-surveys-recorded")
    yield seen
    events.response_recorded.disconnect(dispatch_uid="test-surveys-recorded")


def _ticket(agent: User, email: str = "li.wei@acme.test") -> Ticket:
    return desk.ticket_create(
        actor=agent,
        subject="Cannot export invoices",
        description="The export button does nothing.",
        requester_email=email,
        requester_name="Li Wei",
    )


# --- throttle ----------------------------------------------------------------------------


def test_nobody_is_asked_twice_within_the_throttle_window_across_surveys() -> None:
    # Given a contact asked an NPS today
    person = contact(account())
    invited(survey(SurveyKind.NPS), person)
    csat = survey(SurveyKind.CSAT)

    # When another survey wants to ask them 29 days later, then 31 days later
    soon = invitation_create(
        survey=csat, contact=person, channel="email", now=NOW + dt.timedelta(days=29)
    )
    later = invitation_create(
        survey=csat, contact=person, channel="email", now=NOW + dt.timedelta(days=31)
    )

    # Then only the second ask goes ahead
    assert soon is None
    assert later is not None


def test_the_throttle_is_configurable() -> None:
    SurveySettings.objects.update_or_create(pk=1, defaults={"throttle_days": 7})
    person = contact(account())
    invited(survey(), person)

    again = invitation_create(
        survey=survey(SurveyKind.CES), contact=person, channel="in_app", now=NOW + dt.timedelta(8)
    )

    assert again is not None


def test_contacts_without_an_address_are_not_emailed() -> None:
    person = contact(account(), email="")

    assert invitation_create(survey=survey(), contact=person, channel="email") is None
    assert not Invitation.objects.exists()


# --- CSAT when a ticket is solved ----------------------------------------------------------


def test_solving_a_ticket_emails_one_csat_with_one_click_score_links(
    agent: User,
    django_capture_on_commit_callbacks: Any,
    deliver_mail: Callable[[], list[Any]],
) -> None:
    # Given a CSAT survey sent when tickets are solved
    survey(SurveyKind.CSAT, Trigger.TICKET_SOLVED)
    ticket = _ticket(agent)

    # When the agent solves it, and later the customer confirms the solution
    with django_capture_on_commit_callbacks(execute=True):
        desk.ticket_solve(actor=agent, ticket=ticket, reason="Fixed in 2.3")
    with django_capture_on_commit_callbacks(execute=True):
        desk.ticket_confirm_solution(ticket=Ticket.objects.get(pk=ticket.pk))

    # Then exactly one invitation was sent, for this ticket
    invitation = Invitation.objects.get()
    assert invitation.ticket_id == ticket.pk
    assert invitation.status == InvitationStatus.SENT
    # and the email has a text part and an HTML part, both with links for 1..5
    sent = [m for m in deliver_mail() if "How did we do" in m.subject]
    assert len(sent) == 1
    message = sent[0]
    assert message.to == ["li.wei@acme.test"]
    assert f"#{ticket.number}" in message.subject
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    for score in range(1, 6):
        assert f"?score={score}" in message.body
        assert f"?score={score}" in html
    assert "?score=6" not in html
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    # ids never appear in the links: only the signed token
    assert f"/s/{invitation.pk}/" not in html


def test_a_ticket_solved_within_the_throttle_window_is_skipped_for_good(agent: User) -> None:
    csat = survey(SurveyKind.CSAT, Trigger.TICKET_SOLVED)
    ticket = _ticket(agent)
    invited(survey(), ticket.requester)  # asked an NPS today

    from tend.surveys.services import ticket_solved_survey

    assert ticket_solved_survey(ticket_id=ticket.pk) == []
    # a skipped row records the decision: solving it again later asks nothing
    skipped = Invitation.objects.get(survey=csat)
    assert skipped.status == InvitationStatus.SKIPPED
    later = NOW + dt.timedelta(days=40)
    assert ticket_solved_survey(ticket_id=ticket.pk, now=later) == []


def test_a_csat_can_wait_days_after_the_solve(agent: User) -> None:
    survey(SurveyKind.CSAT, Trigger.TICKET_SOLVED, delay_days=2)
    ticket = _ticket(agent)

    from tend.surveys.services import ticket_solved_survey

    [invitation] = ticket_solved_survey(ticket_id=ticket.pk)
    assert invitation.status == InvitationStatus.PENDING
    solved = invitation.created_at
    assert invitations_send_due(now=solved + dt.timedelta(days=1)) == 0
    assert invitations_send_due(now=solved + dt.timedelta(days=2, minutes=1)) == 1
    assert Invitation.objects.get().status == InvitationStatus.SENT


def test_the_email_is_in_the_contacts_language(deliver_mail: Callable[[], list[Any]]) -> None:
    person = contact(account(), traits={"language": "zh-CN"})
    invitation_send(invitation=invited(survey(), person))

    [message] = deliver_mail()
    assert "您有多大可能向朋友推荐我们？" in message.body
    assert "?score=0" in message.body and "?score=10" in message.body


# --- recording answers -----------------------------------------------------------------


@pytest.mark.parametrize(("kind", "bad"), [("nps", 11), ("nps", -1), ("csat", 0), ("csat", 6)])
def test_scores_out_of_range_are_refused_and_nothing_is_stored(kind: str, bad: int) -> None:
    invitation = invited(survey(kind), contact(account()))

    with pytest.raises(ValidationError) as caught:
        response_record(invitation=invitation, score=bad)

    assert "Choose a score from" in str(caught.value)
    assert not Response.objects.exists()


def test_a_score_that_is_not_a_number_is_refused() -> None:
    invitation = invited(survey(), contact(account()))
    with pytest.raises(ValidationError):
        response_record(invitation=invitation, score="9; DROP TABLE")
    assert not Response.objects.exists()


def test_ces_on_seven_points_takes_seven() -> None:
    invitation = invited(survey(SurveyKind.CES, scale_max=7), contact(account()))
    response = response_record(invitation=invitation, score=7)
    assert (response.score, response.scale_max) == (7, 7)


def test_one_answer_per_invitation_editable_for_24_hours(
    django_capture_on_commit_callbacks: Any, recorded: list[dict[str, Any]]
) -> None:
    invitation = invited(survey(SurveyKind.CSAT), contact(account()))

    with django_capture_on_commit_callbacks(execute=True):
        first = response_record(invitation=invitation, score=2, comment="Slow answer")
        # a double submit of the same answer changes nothing and says nothing
        response_record(invitation=invitation, score=2, comment="Slow answer")
        # a one-click score link later the same day changes the score, keeps the comment
        response_record(invitation=invitation, score=4, now=timezone.now() + dt.timedelta(hours=3))

    answer = Response.objects.get()
    assert answer.pk == first.pk
    assert (answer.score, answer.comment) == (4, "Slow answer")
    assert [(e["score"], e["low"], e["created"]) for e in recorded] == [
        (2, True, True),
        (4, False, False),
    ]
    assert recorded[0]["kind"] == "csat" and recorded[0]["response_id"] == answer.pk

    # After 24 hours the answer is final
    with pytest.raises(ValidationError) as caught:
        response_record(invitation=invitation, score=1, now=timezone.now() + dt.timedelta(hours=25))
    assert "can no longer be changed" in str(caught.value)
    assert Response.objects.get().score == 4
    assert Invitation.objects.get().status == InvitationStatus.ANSWERED


def test_an_expired_invitation_takes_no_answer() -> None:
    invitation = invited(survey(), contact(account()))
    with pytest.raises(ValidationError) as caught:
        response_record(invitation=invitation, score=9, now=NOW + dt.timedelta(days=15))
    assert caught.value.code == "expired"
    assert not Response.objects.exists()


def test_a_huge_comment_is_refused_with_a_clear_message() -> None:
    invitation = invited(survey(), contact(account()))
    with pytest.raises(ValidationError) as caught:
        response_record(invitation=invitation, score=9, comment="x" * 5001)
    assert "under 5000 characters" in str(caught.value)


def test_the_answer_keeps_the_csm_and_segment_of_its_day(manager: User, agent: User) -> None:
    acme = account("Acme", owner=manager, segment="Enterprise")
    invitation = invited(survey(), contact(acme))

    response_record(invitation=invitation, score=8)
    acme.owner, acme.segment = agent, "SMB"
    acme.save()

    answer = Response.objects.get()
    assert (answer.csm, answer.segment, answer.account) == (manager, "Enterprise", acme)


def test_a_promoter_becomes_an_advocate_candidate_until_they_change_their_mind() -> None:
    person = contact(account())
    invitation = invited(survey(), person)

    response_record(invitation=invitation, score=10)
    person.refresh_from_db()
    assert person.advocate_candidate_at is not None

    response_record(invitation=invitation, score=6)  # within the 24 hours
    person.refresh_from_db()
    assert person.advocate_candidate_at is None


def test_a_csat_promoter_score_does_not_flag_an_advocate() -> None:
    person = contact(account())
    response_record(invitation=invited(survey(SurveyKind.CSAT), person), score=5)
    person.refresh_from_db()
    assert person.advocate_candidate_at is None


# --- the daily send rules ----------------------------------------------------------------


def test_relationship_nps_asks_every_n_days_per_contact(
    deliver_mail: Callable[[], list[Any]],
) -> None:
    SurveySettings.objects.update_or_create(pk=1, defaults={"throttle_days": 30})
    survey(SurveyKind.NPS, Trigger.RELATIONSHIP, interval_days=90)
    acme = account()
    ann, ben = contact(acme), contact(acme)
    contact(None)  # no account: not a customer relationship
    contact(acme, email="")  # no address

    assert surveys_due(now=NOW) == 2
    assert set(Invitation.objects.values_list("contact_id", flat=True)) == {ann.pk, ben.pk}
    assert len(deliver_mail()) == 2
    # the next day nobody is due; 91 days later both are asked again
    assert surveys_due(now=NOW + dt.timedelta(days=1)) == 0
    assert surveys_due(now=NOW + dt.timedelta(days=91)) == 2


def test_relationship_nps_waits_for_the_throttle() -> None:
    nps = survey(SurveyKind.NPS, Trigger.RELATIONSHIP, interval_days=90)
    person = contact(account())
    invitation_send(invitation=invited(survey(SurveyKind.CSAT), person))  # asked a CSAT today

    assert surveys_due(now=NOW + dt.timedelta(days=10)) == 0
    assert surveys_due(now=NOW + dt.timedelta(days=31)) == 1
    assert Invitation.objects.filter(survey=nps).count() == 1


def test_nps_n_days_after_the_accounts_start_date() -> None:
    nps = survey(SurveyKind.NPS, Trigger.AFTER_START, delay_days=60)
    today = timezone.localdate(NOW)
    new = account("New")
    started(new, today - dt.timedelta(days=59))
    started(new, today - dt.timedelta(days=10))  # a later add-on: the start stays
    due = account("Due")
    started(due, today - dt.timedelta(days=60))
    started(due, today - dt.timedelta(days=5))
    old = account("Old")
    started(old, today - dt.timedelta(days=400))  # long past: a new rule mails nobody old
    newcomer, customer, veteran = contact(new), contact(due), contact(old)

    assert surveys_due(now=NOW) == 1
    assert list(Invitation.objects.filter(survey=nps).values_list("contact", flat=True)) == [
        customer.pk
    ]
    # the next day the new account is due; the one asked is never asked again by this rule
    assert surveys_due(now=NOW + dt.timedelta(days=1)) == 1
    assert Invitation.objects.filter(survey=nps, contact=newcomer).exists()
    assert not Invitation.objects.filter(contact=veteran).exists()


def test_disabled_surveys_ask_nobody() -> None:
    survey(SurveyKind.NPS, Trigger.RELATIONSHIP, interval_days=90, enabled=False)
    contact(account())
    assert surveys_due(now=NOW) == 0


# --- survey rules ---------------------------------------------------------------------


def test_survey_save_checks_the_send_rule(manager: User, readonly: User) -> None:
    with pytest.raises(ValidationError) as caught:
        survey_save(
            actor=manager, kind="nps", name="R", question="Q?", trigger=Trigger.RELATIONSHIP
        )
    assert "interval_days" in caught.value.message_dict
    with pytest.raises(ValidationError):
        survey_save(
            actor=manager, kind="ces", name="E", question="Q", trigger="in_app", scale_max=10
        )
    saved = survey_save(
        actor=manager, kind="ces", name="E", question="Easy?", trigger="in_app", scale_max=7
    )
    assert saved.scale_top == 7

    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        survey_save(actor=readonly, kind="csat", name="C", question="Q", trigger="manual")
