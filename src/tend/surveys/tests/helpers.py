"""Builders for survey tests: customers, surveys, and invitations made by the service."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from tend.core.models import User
from tend.crm.models import Account, Contact, Subscription
from tend.surveys.models import Invitation, Survey, SurveyKind, Trigger
from tend.surveys.services import invitation_create

_seq = itertools.count(1)

QUESTIONS = {
    SurveyKind.NPS: ("How likely are you to recommend us?", "您有多大可能向朋友推荐我们？"),
    SurveyKind.CSAT: ("How satisfied are you with our help?", "您对我们的帮助满意吗？"),
    SurveyKind.CES: ("It was easy to get my problem solved.", "解决我的问题很容易。"),
}


def account(name: str = "", *, owner: User | None = None, segment: str = "SMB") -> Account:
    return Account.objects.create(
        name=name or f"Customer {next(_seq)}", owner=owner, segment=segment
    )


def contact(on: Account | None = None, **fields: Any) -> Contact:
    n = next(_seq)
    fields.setdefault("name", f"Person {n}")
    fields.setdefault("email", f"person{n}@customer.test")
    return Contact.objects.create(account=on, **fields)


def survey(kind: str = SurveyKind.NPS, trigger: str = Trigger.MANUAL, **fields: Any) -> Survey:
    en, zh = QUESTIONS[kind]
    fields.setdefault("name", f"{kind} {next(_seq)}")
    fields.setdefault("question", en)
    fields.setdefault("question_zh", zh)
    return Survey.objects.create(kind=kind, trigger=trigger, **fields)


def invited(on: Survey, person: Contact, channel: str = "email") -> Invitation:
    invitation = invitation_create(survey=on, contact=person, channel=channel)
    assert invitation is not None, "throttled"
    return invitation


def started(on: Account, starts_on: date) -> Subscription:
    return Subscription.objects.create(account=on, plan="Team", starts_on=starts_on)
