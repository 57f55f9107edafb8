"""Every write of the surveys app: surveys and settings, invitations (who is asked, when,
and the throttle that keeps anyone from being asked too often), and answers.

Throttling: nobody is asked more than once per ``SurveySettings.throttle_days`` across
all surveys and channels. An ask counts from the moment its invitation exists (pending
ones included), so two rules firing on the same day cannot both ask the same person;
the contact's row is locked while deciding, so two workers cannot either.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Min, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tend.core.commit import after_commit
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Contact, Subscription
from tend.desk.models import Ticket
from tend.mail.models import OutboundKind
from tend.mail.outbound import outbound_queue_to_contact
from tend.surveys import events, scores
from tend.surveys.models import (
    Channel,
    Invitation,
    InvitationStatus,
    Response,
    Survey,
    SurveyKind,
    SurveySettings,
    Trigger,
)
from tend.surveys.tokens import invitation_token, nonce_new

logger = logging.getLogger(__name__)

# An emailed link stays open this long; an in-product ask, until the person closes it
# or this passes.
EMAIL_INVITATION_DAYS = 14
IN_APP_INVITATION_DAYS = 7
# An answer can be changed for this long after it was first given, then it is final.
EDIT_WINDOW = dt.timedelta(hours=24)
COMMENT_MAX = 5000
FLAG_SLACK = dt.timedelta(minutes=5)
# "N days after the account's start date": if the person is throttled that day, keep
# trying daily for this long, then let it go (a new rule must not mail every old account).
AFTER_START_GRACE_DAYS = 30
_ASKED = (InvitationStatus.PENDING, InvitationStatus.SENT, InvitationStatus.ANSWERED)


# --- surveys and settings -----------------------------------------------------------------

SURVEY_FIELDS = (
    "kind",
    "name",
    "question",
    "question_zh",
    "scale_max",
    "trigger",
    "interval_days",
    "delay_days",
    "enabled",
    "open_ticket_on_low_score",
)


def _check_rule(survey: Survey) -> None:
    errors: dict[str, str] = {}
    if survey.kind == SurveyKind.CES:
        if survey.scale_max not in (5, 7):
            errors["scale_max"] = _("CES is asked on a scale of 1–5 or 1–7.")
    else:
        survey.scale_max = 5  # only CES has a choice; NPS is always 0–10
    if survey.trigger == Trigger.RELATIONSHIP and not survey.interval_days:
        errors["interval_days"] = _("Say how often to ask each contact.")
    if survey.trigger == Trigger.AFTER_START and survey.delay_days is None:
        errors["delay_days"] = _("Say how many days after the start date to ask.")
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def survey_save(*, actor: User, survey: Survey | None = None, **fields: Any) -> Survey:
    """Create a survey (``survey`` None) or change one; fields as in SURVEY_FIELDS."""
    unknown = set(fields) - set(SURVEY_FIELDS)
    if unknown:
        raise TypeError(f"unknown survey fields: {', '.join(sorted(unknown))}")
    require_perm(actor, "surveys.add_survey" if survey is None else "surveys.change_survey")
    survey = survey or Survey()
    for name, value in fields.items():
        setattr(survey, name, value)
    _check_rule(survey)
    survey.full_clean()
    survey.save()
    return survey


def survey_settings() -> SurveySettings:
    row, _created = SurveySettings.objects.get_or_create(pk=1)
    return row


@transaction.atomic
def survey_settings_save(
    *, actor: User, throttle_days: int | None = None, in_app_secret: str | None = None
) -> SurveySettings:
    require_perm(actor, "surveys.change_surveysettings")
    row = survey_settings()
    if throttle_days is not None:
        row.throttle_days = throttle_days
    if in_app_secret is not None:
        row.in_app_secret = in_app_secret
    row.full_clean()
    row.save()
    return row


def in_app_secret_rotate(*, actor: User) -> SurveySettings:
    """A new secret for the in-product snippet; hashes made with the old one stop working."""
    return survey_settings_save(actor=actor, in_app_secret=secrets.token_hex(32))


# --- throttle and invitations -------------------------------------------------------------


def throttled(contact: Contact, *, now: dt.datetime | None = None) -> bool:
    """True when the contact was asked anything within the throttle window."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=survey_settings().throttle_days)
    return (
        Invitation.objects.filter(contact=contact, status__in=_ASKED)
        .filter(Q(sent_at__gt=cutoff) | Q(sent_at__isnull=True, created_at__gt=cutoff))
        .exists()
    )


def _expiry(channel: str, now: dt.datetime) -> dt.datetime:
    days = IN_APP_INVITATION_DAYS if channel == Channel.IN_APP else EMAIL_INVITATION_DAYS
    return now + dt.timedelta(days=days)


@transaction.atomic
def invitation_create(
    *,
    survey: Survey,
    contact: Contact,
    ticket: Ticket | None = None,
    channel: str,
    now: dt.datetime | None = None,
) -> Invitation | None:
    """Ask ``contact`` (pending until sent); None when the survey is off, the person
    cannot be reached by email, or they were asked within the throttle window.

    A ticket's ask is decided once: when throttled, a "skipped" row records that, so
    solving the ticket again does not ask later."""
    now = now or timezone.now()
    if channel not in Channel.values:
        raise ValueError(f"unknown channel {channel!r}")
    if not survey.enabled:
        return None
    if channel == Channel.EMAIL and (not contact.email or contact.email.endswith(".invalid")):
        return None
    # Serialise decisions about one person: the throttle check and the insert belong
    # together (two rules on one day, or two workers, must not both ask).
    Contact.objects.select_for_update().filter(pk=contact.pk).first()
    if ticket is not None and Invitation.objects.filter(survey=survey, ticket=ticket).exists():
        return None
    is_throttled = throttled(contact, now=now)
    if is_throttled and ticket is None:
        return None
    invitation = Invitation(
        survey=survey,
        contact=contact,
        account_id=contact.account_id,
        ticket=ticket,
        channel=channel,
        status=InvitationStatus.SKIPPED if is_throttled else InvitationStatus.PENDING,
        nonce=nonce_new(),
        expires_at=_expiry(channel, now),
    )
    try:
        with transaction.atomic():
            invitation.save()
    except IntegrityError:
        return None  # the same ticket's ask was decided by another worker just now
    return None if is_throttled else invitation


def _language(contact: Contact) -> str:
    """The language to write to this contact in: a "language"/"locale" trait the
    product sent (identify), else the site's default."""
    traits = contact.traits if isinstance(contact.traits, dict) else {}
    wanted = str(traits.get("language") or traits.get("locale") or "").lower()
    if wanted.startswith("zh"):
        return "zh-hans"
    if wanted.startswith("en"):
        return "en"
    return settings.LANGUAGE_CODE


def question_text(survey: Survey, language: str | None = None) -> str:
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    if language.lower().startswith("zh") and survey.question_zh:
        return survey.question_zh
    return survey.question


def answer_url(invitation: Invitation, *, score: int | None = None) -> str:
    """The absolute link to the answer page (with a one-click score)."""
    path = reverse("portal:survey_answer", args=[invitation_token(invitation)])
    query = "" if score is None else f"?score={score}"
    return f"{settings.BASE_URL}{path}{query}"


def scale_labels(survey: Survey) -> tuple[str, str]:
    """What the two ends of the scale mean, in the active language."""
    if survey.kind == SurveyKind.NPS:
        return _("Not at all likely"), _("Extremely likely")
    if survey.kind == SurveyKind.CSAT:
        return _("Very dissatisfied"), _("Very satisfied")
    return _("Strongly disagree"), _("Strongly agree")


def widget_texts(survey: Survey) -> dict[str, str]:
    """Every text the in-product widget shows, in the active language (the snippet
    itself carries none, so one script serves every language)."""
    low, high = scale_labels(survey)
    return {
        "low": low,
        "high": high,
        "comment": _("Anything you would like to add? (optional)"),
        "send": _("Send"),
        "close": _("Close"),
        "thanks": _("Thank you for your answer!"),
        "error": _("Sorry, your answer could not be saved."),
    }


@transaction.atomic
def invitation_send(*, invitation: Invitation, now: dt.datetime | None = None) -> Invitation:
    """Email the invitation (kind SURVEY: text and HTML with one-click score links)."""
    now = now or timezone.now()
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != InvitationStatus.PENDING:
        return invitation  # sent, answered or skipped already: never mail twice
    survey, contact = invitation.survey, invitation.contact
    with translation.override(_language(contact)):
        low, high = scale_labels(survey)
        context = {
            "name": contact.name,
            "question": question_text(survey),
            "links": [
                (n, answer_url(invitation, score=n))
                for n in range(survey.scale_min, survey.scale_top + 1)
            ],
            "page_url": answer_url(invitation),
            "low_label": low,
            "high_label": high,
            "ticket": invitation.ticket,
            "expires_at": invitation.expires_at,
        }
        subject = (
            _("How did we do with request #%(number)s?") % {"number": invitation.ticket.number}
            if invitation.ticket is not None
            else _("A quick question for you")
        )
        body = render_to_string("surveys/email/invitation.txt", context)
        html_body = render_to_string("surveys/email/invitation.html", context)
    outbound_queue_to_contact(
        to_email=contact.email,
        kind=OutboundKind.SURVEY,
        subject=subject,
        body=body,
        html_body=html_body,
    )
    invitation.status = InvitationStatus.SENT
    invitation.sent_at = now
    invitation.save(update_fields=["status", "sent_at"])
    return invitation


def _send_after(invitation: Invitation) -> dt.datetime:
    return invitation.created_at + dt.timedelta(days=invitation.survey.delay_days or 0)


def invitation_ask_now(
    *,
    survey: Survey,
    contact: Contact,
    ticket: Ticket | None = None,
    now: dt.datetime | None = None,
) -> Invitation | None:
    """Create an emailed ask and send it at once, unless the survey waits ``delay_days``
    after a ticket is solved (the hourly sweep sends it then)."""
    now = now or timezone.now()
    with transaction.atomic():
        invitation = invitation_create(
            survey=survey, contact=contact, ticket=ticket, channel=Channel.EMAIL, now=now
        )
        if invitation is None:
            return None
        if ticket is not None and survey.delay_days:
            return invitation
        return invitation_send(invitation=invitation, now=now)


def ticket_solved_survey(*, ticket_id: int, now: dt.datetime | None = None) -> list[Invitation]:
    """The solved ticket's requester is asked by every enabled "ticket solved" survey
    (in practice one CSAT; the throttle lets only the first through)."""
    ticket = Ticket.objects.select_related("requester").filter(pk=ticket_id).first()
    if ticket is None or ticket.requester_id is None:
        return []
    out = []
    for survey in Survey.objects.filter(trigger=Trigger.TICKET_SOLVED, enabled=True).order_by("pk"):
        invitation = invitation_ask_now(
            survey=survey, contact=ticket.requester, ticket=ticket, now=now
        )
        if invitation is not None:
            out.append(invitation)
    return out


# --- answers ------------------------------------------------------------------------------


def _parse_score(survey: Survey, score: Any) -> int:
    try:
        value = int(str(score).strip())
    except (TypeError, ValueError):
        value = None
    if value is None or not survey.scale_min <= value <= survey.scale_top:
        raise ValidationError(
            {
                "score": _("Choose a score from %(low)d to %(high)d.")
                % {"low": survey.scale_min, "high": survey.scale_top}
            },
            code="out_of_range",
        )
    return value


def response_editable(response: Response, *, now: dt.datetime | None = None) -> bool:
    return (now or timezone.now()) < response.created_at + EDIT_WINDOW


def _flag_advocate(response: Response, now: dt.datetime) -> None:
    """Promoters become advocate candidates; a promoter answer changed within its
    window takes back the flag it set (unless another promoter answer holds it)."""
    if response.kind != SurveyKind.NPS:
        return
    contact_id = response.contact_id
    if response.score >= scores.NPS_PROMOTER:
        Contact.objects.filter(pk=contact_id, advocate_candidate_at__isnull=True).update(
            advocate_candidate_at=now
        )
        return
    other_promoter = (
        Response.objects.filter(
            contact_id=contact_id, kind=SurveyKind.NPS, score__gte=scores.NPS_PROMOTER
        )
        .exclude(pk=response.pk)
        .exists()
    )
    if not other_promoter:
        # The flag was set when this answer was first saved (a moment before its
        # created_at is stamped); one set before that came from elsewhere and stays.
        since = response.created_at - FLAG_SLACK
        Contact.objects.filter(pk=contact_id, advocate_candidate_at__gte=since).update(
            advocate_candidate_at=None
        )


@transaction.atomic
def response_record(
    *,
    invitation: Invitation,
    score: Any,
    comment: str | None = None,
    now: dt.datetime | None = None,
) -> Response:
    """Record (or, within 24 hours, change) the answer to an invitation.

    One answer per invitation: a second submit changes the first while it is editable
    and is refused after. ``comment`` None keeps the comment already given (a one-click
    score link carries none). Sends ``response_recorded`` after commit.
    """
    now = now or timezone.now()
    invitation = (
        # Lock only the invitation row: its account (and CSM) may be missing, and
        # PostgreSQL cannot lock the nullable side of an outer join.
        Invitation.objects.select_for_update(of=("self",))
        .select_related("survey", "contact", "account__owner")
        .get(pk=invitation.pk)
    )
    survey = invitation.survey
    value = _parse_score(survey, score)
    text = None if comment is None else str(comment).strip()
    if text is not None and len(text) > COMMENT_MAX:
        raise ValidationError(
            {"comment": _("Please keep the comment under %(n)d characters.") % {"n": COMMENT_MAX}},
            code="too_long",
        )
    response = Response.objects.filter(invitation=invitation).first()
    created = response is None
    if response is None:
        if invitation.status == InvitationStatus.SKIPPED:
            raise ValidationError(_("This survey was not sent."), code="skipped")
        if invitation.expires_at <= now:
            raise ValidationError(_("This survey has closed."), code="expired")
        account = invitation.account or invitation.contact.account
        response = Response(
            invitation=invitation,
            survey=survey,
            kind=survey.kind,
            scale_max=survey.scale_top,
            contact=invitation.contact,
            account=account,
            ticket_id=invitation.ticket_id,
            # As things stand now: results by CSM/segment do not move later.
            csm=account.owner if account else None,
            segment=account.segment if account else "",
            comment="",
        )
    elif not response_editable(response, now=now):
        raise ValidationError(
            _("Your answer was saved more than 24 hours ago and can no longer be changed."),
            code="final",
        )
    elif response.score == value and (text is None or text == response.comment):
        return response  # the same answer again (a double click, a resent form)
    response.score = value
    if text is not None:
        response.comment = text
    response.full_clean(exclude=["invitation"])
    response.save()
    if created:
        invitation.status = InvitationStatus.ANSWERED
        invitation.save(update_fields=["status"])
    _flag_advocate(response, now)
    payload = {
        "response_id": response.pk,
        "kind": response.kind,
        "score": response.score,
        "low": scores.is_low(response.kind, response.score),
        "account_id": response.account_id,
        "contact_id": response.contact_id,
        "created": created,
    }
    after_commit(lambda: events.response_recorded.send(sender=Response, **payload))
    return response


# --- in the product -----------------------------------------------------------------------


def in_app_user_hash(user_id: str, secret: str) -> str:
    """What the customer's server computes: hex HMAC-SHA256(secret, userId)."""
    return hmac.new(secret.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()


def in_app_contact(*, user_id: str, user_hash: str) -> Contact | None:
    """The contact the product says is signed in, when the hash proves it; None when
    the snippet is off (no secret), the hash is wrong, or nobody has that user id."""
    secret = survey_settings().in_app_secret
    if not secret or not user_id or not user_hash:
        return None
    expected = in_app_user_hash(user_id, secret)
    if not hmac.compare_digest(expected, str(user_hash).strip().lower()):
        return None
    return Contact.objects.filter(external_id=str(user_id)).first()


def in_app_invitation(*, contact: Contact, now: dt.datetime | None = None) -> Invitation | None:
    """The in-product question to show this person now, if any: the open one they have
    not answered or dismissed yet, else a new one when a survey is due and the throttle
    allows (an in-product survey with ``interval_days`` asks again after that long)."""
    now = now or timezone.now()
    open_one = (
        Invitation.objects.filter(
            contact=contact,
            channel=Channel.IN_APP,
            status=InvitationStatus.SENT,
            expires_at__gt=now,
            survey__enabled=True,
        )
        .select_related("survey")
        .order_by("-pk")
        .first()
    )
    if open_one is not None:
        return open_one
    for survey in Survey.objects.filter(trigger=Trigger.IN_APP, enabled=True).order_by("pk"):
        previous = (
            Invitation.objects.filter(survey=survey, contact=contact, status__in=_ASKED)
            .order_by("-created_at")
            .first()
        )
        if previous is not None:
            if not survey.interval_days:
                continue  # asked once: a survey without a cadence does not repeat
            if previous.created_at > now - dt.timedelta(days=survey.interval_days):
                continue
        with transaction.atomic():
            invitation = invitation_create(
                survey=survey, contact=contact, channel=Channel.IN_APP, now=now
            )
            if invitation is None:
                return None  # throttled: no other survey may ask either
            invitation.status = InvitationStatus.SENT
            invitation.sent_at = now
            invitation.save(update_fields=["status", "sent_at"])
        return invitation
    return None


def invitation_dismiss(*, invitation: Invitation, now: dt.datetime | None = None) -> None:
    """The person closed the question without answering: stop showing it. It still
    counts as an ask for the throttle."""
    now = now or timezone.now()
    Invitation.objects.filter(
        pk=invitation.pk, status=InvitationStatus.SENT, expires_at__gt=now
    ).update(expires_at=now)


# --- send rules run daily -----------------------------------------------------------------


def _reachable_contacts(now: dt.datetime) -> Any:
    """Contacts of an account with a working address, not asked anything within the
    throttle window (invitation_create checks again under a lock; this keeps the daily
    run from touching everyone)."""
    cutoff = now - dt.timedelta(days=survey_settings().throttle_days)
    recently_asked = (
        Invitation.objects.filter(status__in=_ASKED)
        .filter(Q(sent_at__gt=cutoff) | Q(sent_at__isnull=True, created_at__gt=cutoff))
        .values("contact_id")
    )
    return (
        Contact.objects.filter(account__isnull=False, email_bounced_at__isnull=True)
        .exclude(email="")
        .exclude(pk__in=recently_asked)
    )


def _relationship_due(survey: Survey, now: dt.datetime) -> list[Contact]:
    """Contacts of an account not asked this survey within its interval."""
    recent = Invitation.objects.filter(
        survey=survey,
        status__in=_ASKED,
        created_at__gt=now - dt.timedelta(days=survey.interval_days or 0),
    ).values("contact_id")
    return list(_reachable_contacts(now).exclude(pk__in=recent).order_by("pk"))


def _after_start_due(survey: Survey, today: dt.date, now: dt.datetime) -> list[Contact]:
    """Contacts of accounts whose start date (earliest subscription) was ``delay_days``
    ago (up to the grace period), never asked this survey."""
    delay = dt.timedelta(days=survey.delay_days or 0)
    latest_start = today - delay
    earliest_start = latest_start - dt.timedelta(days=AFTER_START_GRACE_DAYS)
    account_ids = [
        row["account_id"]
        for row in Subscription.objects.values("account_id")
        .annotate(start=Min("starts_on"))
        .filter(start__lte=latest_start, start__gt=earliest_start)
        .order_by()
    ]
    asked = Invitation.objects.filter(survey=survey).values("contact_id")
    return list(
        _reachable_contacts(now)
        .filter(account_id__in=account_ids)
        .exclude(pk__in=asked)
        .order_by("pk")
    )


def invitations_send_due(*, now: dt.datetime | None = None) -> int:
    """Send the pending asks whose wait after the ticket was solved has passed."""
    now = now or timezone.now()
    sent = 0
    pending = Invitation.objects.filter(
        status=InvitationStatus.PENDING, channel=Channel.EMAIL
    ).select_related("survey")
    for invitation in pending:
        if _send_after(invitation) <= now:
            invitation_send(invitation=invitation, now=now)
            sent += 1
    return sent


def surveys_due(*, day: dt.date | None = None, now: dt.datetime | None = None) -> int:
    """Run the daily send rules (relationship every N days, N days after the start
    date) and the delayed ticket asks; returns how many invitations went out."""
    now = now or timezone.now()
    today = day or timezone.localdate(now)
    sent = invitations_send_due(now=now)
    rules = Survey.objects.filter(
        enabled=True, trigger__in=[Trigger.RELATIONSHIP, Trigger.AFTER_START]
    ).order_by("pk")
    for survey in rules:
        if survey.trigger == Trigger.RELATIONSHIP:
            if not survey.interval_days:
                continue
            contacts = _relationship_due(survey, now)
        else:
            if survey.delay_days is None:
                continue
            contacts = _after_start_due(survey, today, now)
        for contact in contacts:
            try:
                if invitation_ask_now(survey=survey, contact=contact, now=now) is not None:
                    sent += 1
            except Exception:  # one bad row must not stop everyone else's survey
                logger.exception("survey %s: asking contact %s failed", survey.pk, contact.pk)
    return sent
