"""Survey links: signed, single-purpose, voidable, with a database expiry."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.utils import timezone

from tend.desk.services import confirmation_token_make
from tend.surveys.models import Invitation
from tend.surveys.services import response_record
from tend.surveys.tests.helpers import account, contact, invited, survey
from tend.surveys.tokens import (
    TokenExpired,
    TokenInvalid,
    invitation_from_token,
    invitation_token,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def invitation() -> Invitation:
    return invited(survey(), contact(account()))


def test_a_token_opens_its_invitation(invitation: Invitation) -> None:
    assert invitation_from_token(invitation_token(invitation)) == invitation


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # signature changed
        lambda t: t[:10],  # truncated
        lambda t: "x" + t,  # payload changed
        lambda t: "",
        lambda t: "../../etc/passwd",
    ],
)
def test_tampered_tokens_are_refused(invitation: Invitation, mangle: object) -> None:
    with pytest.raises(TokenInvalid):
        invitation_from_token(mangle(invitation_token(invitation)))  # type: ignore[operator]


def test_a_token_for_another_purpose_or_another_invitation_is_refused(
    invitation: Invitation, agent: object
) -> None:
    forged = signing.dumps({"i": invitation.pk + 1, "n": invitation.nonce}, salt="other")
    with pytest.raises(TokenInvalid):
        invitation_from_token(forged)
    from tend.desk.services import ticket_create

    ticket = ticket_create(
        actor=agent,  # type: ignore[arg-type]
        subject="S",
        description="D",
        requester_email="a@b.test",
    )
    with pytest.raises(TokenInvalid):
        invitation_from_token(confirmation_token_make(ticket))


def test_changing_the_nonce_voids_old_links(invitation: Invitation) -> None:
    token = invitation_token(invitation)
    Invitation.objects.filter(pk=invitation.pk).update(nonce="rotated")
    with pytest.raises(TokenInvalid):
        invitation_from_token(token)


def test_expired_unless_answered(invitation: Invitation) -> None:
    token = invitation_token(invitation)
    later = timezone.now() + dt.timedelta(days=15)
    with pytest.raises(TokenExpired) as caught:
        invitation_from_token(token, now=later)
    assert caught.value.status == 410

    response_record(invitation=invitation, score=9)
    assert invitation_from_token(token, now=later) == invitation  # shows the answer
