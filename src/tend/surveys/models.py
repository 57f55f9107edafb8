"""Surveys: NPS (0–10), CSAT (1–5) and CES (1–5 or 1–7), the rules that send them, the
invitations sent (each carrying a signed single-purpose token) and the answers.

Scores are computed, never stored: NPS = % promoters (9–10) − % detractors (0–6);
CSAT = % of 4–5 answers; CES = % of "agree" answers (top two points of the scale).
A response keeps the account's CSM and segment at the time it was given, so results
by CSM or segment do not move when an account changes hands.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.crm.models import Account, Contact
from tend.desk.models import Ticket


class SurveyKind(models.TextChoices):
    NPS = "nps", "NPS"
    CSAT = "csat", "CSAT"
    CES = "ces", "CES"


class Trigger(models.TextChoices):
    TICKET_SOLVED = "ticket_solved", _("When a ticket is solved")
    RELATIONSHIP = "relationship", _("Every N days per contact")
    AFTER_START = "after_start", _("N days after the account's start date")
    IN_APP = "in_app", _("Inside the product (JavaScript snippet)")
    MANUAL = "manual", _("Sent by hand")


class Channel(models.TextChoices):
    EMAIL = "email", _("Email")
    IN_APP = "in_app", _("In the product")
    LINK = "link", _("Link")


class Survey(models.Model):
    """One survey and its send rule. ``interval_days`` is the relationship cadence;
    ``delay_days`` is the wait after the account's start date (or after solving)."""

    kind = models.CharField(_("type"), max_length=10, choices=SurveyKind.choices)
    name = models.CharField(_("name"), max_length=200)
    question = models.CharField(_("question"), max_length=500)
    question_zh = models.CharField(_("question (Chinese)"), max_length=500, blank=True)
    scale_max = models.PositiveSmallIntegerField(
        _("highest score"), default=5, help_text=_("CES only: 5 or 7.")
    )
    trigger = models.CharField(_("send rule"), max_length=20, choices=Trigger.choices)
    interval_days = models.PositiveIntegerField(_("every N days"), null=True, blank=True)
    delay_days = models.PositiveIntegerField(_("after N days"), null=True, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    # Close the loop: a detractor (or CSAT/CES in the bottom two) also opens a ticket.
    open_ticket_on_low_score = models.BooleanField(_("open a ticket on a low score"), default=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name

    @property
    def scale_min(self) -> int:
        return 0 if self.kind == SurveyKind.NPS else 1

    @property
    def scale_top(self) -> int:
        return (
            10
            if self.kind == SurveyKind.NPS
            else (self.scale_max if self.kind == SurveyKind.CES else 5)
        )


class SurveySettings(models.Model):
    """Site-wide survey settings; one row (pk=1)."""

    # Nobody is asked more than once in this many days, across all surveys.
    throttle_days = models.PositiveIntegerField(
        _("ask anyone at most once every N days"), default=30
    )
    # Secret for the in-product snippet's identity check: HMAC-SHA256(userId).
    in_app_secret = models.CharField(_("in-product secret"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("survey settings")
        verbose_name_plural = _("survey settings")

    def __str__(self) -> str:
        return "survey settings"


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    ANSWERED = "answered", _("Answered")
    SKIPPED = "skipped", _("Skipped (throttled)")


class Invitation(models.Model):
    """One ask of one contact. Its token (django.core.signing, salt per purpose)
    carries the id and ``nonce``; rotating the nonce voids every link to it."""

    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="invitations"
    )
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    status = models.CharField(
        _("status"),
        max_length=10,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    nonce = models.CharField(max_length=32)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    expires_at = models.DateTimeField(_("expires"))

    class Meta:
        verbose_name = _("survey invitation")
        verbose_name_plural = _("survey invitations")
        indexes = [models.Index(fields=["contact", "sent_at"], name="survey_invite_throttle")]
        constraints = [
            # One CSAT ask per ticket and survey, however often it is solved again.
            models.UniqueConstraint(
                fields=["survey", "ticket"],
                condition=models.Q(ticket__isnull=False),
                name="survey_invite_once_per_ticket",
            )
        ]

    def __str__(self) -> str:
        return f"{self.survey_id} → {self.contact_id}"


class Response(models.Model):
    """One answer to one invitation; editable for 24 hours after it was first given."""

    invitation = models.OneToOneField(
        Invitation, verbose_name=_("invitation"), on_delete=models.CASCADE, related_name="response"
    )
    survey = models.ForeignKey(
        Survey, verbose_name=_("survey"), on_delete=models.CASCADE, related_name="responses"
    )
    kind = models.CharField(_("type"), max_length=10, choices=SurveyKind.choices)
    score = models.PositiveSmallIntegerField(_("score"))
    scale_max = models.PositiveSmallIntegerField(_("highest score"))
    comment = models.TextField(_("comment"), blank=True)
    contact = models.ForeignKey(
        Contact, verbose_name=_("contact"), on_delete=models.CASCADE, related_name="+"
    )
    account = models.ForeignKey(
        Account,
        verbose_name=_("account"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    ticket = models.ForeignKey(
        Ticket,
        verbose_name=_("ticket"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # As they were when the answer came in (results by CSM / segment).
    csm = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("CSM"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    created_at = models.DateTimeField(_("answered"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("survey response")
        verbose_name_plural = _("survey responses")
        indexes = [
            models.Index(fields=["kind", "created_at"], name="survey_response_kind_time"),
            models.Index(fields=["account", "kind", "created_at"], name="survey_response_account"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.score}"
