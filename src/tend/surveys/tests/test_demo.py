"""The demo seed gives the surveys pages six believable months: three surveys, answers
of every kind from the demo's contacts, within the throttle rule."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.models import Account, Contact
from tend.desk.models import Ticket
from tend.surveys.demo import THROTTLE_DAYS, seed_surveys
from tend.surveys.models import Invitation, Response, Survey, SurveyKind

pytestmark = pytest.mark.django_db


def _customers() -> None:
    """12 accounts × 8 people (a third Chinese), each with a few tickets solved over the
    last six months."""
    make_staff("manager", Role.MANAGER)
    csm = make_staff("csm", Role.CSM)
    now = timezone.now()
    number = 0
    for a in range(12):
        account = Account.objects.create(
            name=f"Customer {a}", owner=csm, segment="SMB" if a % 3 else "Enterprise"
        )
        for p in range(8):
            chinese = a % 3 == 0
            contact = Contact.objects.create(
                name=f"王小{p}{a}" if chinese else f"Person {a}-{p}",
                email=f"p{a}-{p}@customer{a}.test",
                account=account,
            )
            for t in range(4):
                number += 1
                Ticket.objects.create(
                    number=number,
                    subject="Help",
                    requester=contact,
                    account=account,
                    status="solved",
                    solved_at=now - timedelta(days=5 + (number * 37 + t * 41) % 170),
                )


def test_seed_surveys_writes_six_months_of_answers_within_the_throttle() -> None:
    # Given customers who have had tickets solved over the last six months
    _customers()

    # When the demo seeds surveys
    answered = seed_surveys()

    # Then there are an NPS, a CSAT and a CES survey with answers of each kind
    assert set(Survey.objects.values_list("kind", flat=True)) == {"nps", "csat", "ces"}
    kinds = set(Response.objects.values_list("kind", flat=True))
    assert kinds == {"nps", "csat", "ces"}
    assert answered == Response.objects.count()
    assert 50 <= answered <= 800
    # spread over about six months, with real dates
    oldest = Response.objects.order_by("created_at").first()
    assert oldest is not None
    assert oldest.created_at < timezone.now() - timedelta(days=90)
    # scores in range for their kind, CSM and segment snapshotted
    for response in Response.objects.all():
        low = 0 if response.kind == SurveyKind.NPS else 1
        high = 10 if response.kind == SurveyKind.NPS else 5
        assert low <= response.score <= high
        assert response.csm is not None and response.segment
    # comments in both languages
    comments = list(Response.objects.exclude(comment="").values_list("comment", flat=True))
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in c) for c in comments)
    assert any(c.isascii() for c in comments)
    # CSAT invitations belong to a solved ticket
    assert not Invitation.objects.filter(survey__kind="csat", ticket__isnull=True).exists()
    # nobody asked twice within the throttle window
    last: dict[int, datetime] = {}
    for contact_id, sent_at in Invitation.objects.order_by("contact_id", "sent_at").values_list(
        "contact_id", "sent_at"
    ):
        assert sent_at is not None
        previous = last.get(contact_id)
        assert previous is None or sent_at - previous >= timedelta(days=THROTTLE_DAYS)
        last[contact_id] = sent_at
    # promoters are flagged as advocate candidates
    promoters = Response.objects.filter(kind="nps", score__gte=9).values("contact_id")
    assert Contact.objects.filter(pk__in=promoters, advocate_candidate_at__isnull=False).exists()


def test_seed_surveys_runs_once() -> None:
    _customers()
    first = seed_surveys()

    assert seed_surveys() == 0
    assert Response.objects.count() == first
