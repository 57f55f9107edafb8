"""Survey answers for the staff survey screen tests, stored as response_record leaves
them (invitation + response with the account's CSM and segment at the time)."""

from __future__ import annotations

import datetime as dt
import itertools

from django.utils import timezone

from tend.crm.models import Contact
from tend.surveys.models import Channel, Invitation, Response, Survey, SurveyKind, Trigger

_seq = itertools.count(1)


def survey(kind: str = SurveyKind.NPS, **fields: object) -> Survey:
    fields.setdefault("name", f"{kind} survey {next(_seq)}")
    fields.setdefault("question", "How likely are you to recommend us?")
    fields.setdefault("trigger", Trigger.MANUAL)
    return Survey.objects.create(kind=kind, **fields)  # type: ignore[arg-type]


def answered(
    on: Survey,
    contact: Contact,
    score: int,
    *,
    comment: str = "",
    when: dt.datetime | None = None,
) -> Response:
    invitation = Invitation.objects.create(
        survey=on,
        contact=contact,
        account=contact.account,
        channel=Channel.EMAIL,
        nonce=f"n{next(_seq)}",
        expires_at=timezone.now() + dt.timedelta(days=14),
    )
    account = contact.account
    response = Response.objects.create(
        invitation=invitation,
        survey=on,
        kind=on.kind,
        score=score,
        scale_max=on.scale_top,
        comment=comment,
        contact=contact,
        account=account,
        csm=account.owner if account else None,
        segment=account.segment if account else "",
    )
    if when is not None:
        Response.objects.filter(pk=response.pk).update(created_at=when, updated_at=when)
        response.refresh_from_db()
    return response


def contact(account: object = None, name: str = "") -> Contact:
    n = next(_seq)
    return Contact.objects.create(
        name=name or f"Person {n}", email=f"person{n}@example.test", account=account
    )
