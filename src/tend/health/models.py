"""Health models (versioned configuration), daily account snapshots and user grades."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.crm.models import Account, Contact


class Band(models.TextChoices):
    RED = "red", _("Red")
    YELLOW = "yellow", _("Yellow")
    GREEN = "green", _("Green")


class HealthModel(models.Model):
    """Which accounts a model scores: one segment and/or one lifecycle stage (blank =
    any). The most specific active model applies to an account; the one with both blank
    is the fallback. Its configuration lives in versions: a change makes a new version,
    so every snapshot says which rules produced it."""

    name = models.CharField(_("name"), max_length=100)
    segment = models.CharField(_("segment"), max_length=100, blank=True)
    lifecycle = models.CharField(_("lifecycle stage"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("health model")
        verbose_name_plural = _("health models")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class HealthModelVersion(models.Model):
    """One immutable configuration of a model. ``config`` (validated by the health
    services) holds measures with weights and thresholds, bands and overrides, e.g.::

        {"measures": [{"key": "m:12", "kind": "metric", "metric": 12, "weight": 40,
                       "thresholds": [[0.2, 0], [0.5, 50], [0.8, 100]]},
                      {"key": "urgent", "kind": "urgent_tickets", "weight": 20, ...}],
         "bands": {"red_below": 40, "green_from": 70},
         "overrides": [{"when": "champion_gone", "band": "red"}]}
    """

    model = models.ForeignKey(HealthModel, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    config = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("health model version")
        verbose_name_plural = _("health model versions")
        ordering = ["model", "-number"]
        constraints = [
            models.UniqueConstraint("model", "number", name="healthversion_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.model} v{self.number}"


class HealthSnapshot(models.Model):
    """An account's score on a day (recomputed daily; history for the chart and trend)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="health_snapshots")
    day = models.DateField()
    version = models.ForeignKey(
        HealthModelVersion, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    score = models.FloatField(null=True)  # None: no measure had a value
    band = models.CharField(max_length=10, choices=Band.choices, blank=True)
    # Per measure: value, points, effective weight, contribution; and the override applied.
    explanation = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("health snapshot")
        verbose_name_plural = _("health snapshots")
        ordering = ["account", "-day"]
        constraints = [models.UniqueConstraint("account", "day", name="healthsnapshot_unique_day")]

    def __str__(self) -> str:
        return f"{self.account} {self.day}: {self.score} {self.band}"


class Grade(models.TextChoices):
    A = "A", "A"
    B_PLUS = "B+", "B+"
    B = "B", "B"
    B_MINUS = "B-", "B−"
    C = "C", "C"
    D = "D", "D"
    F = "F", "F"


class ContactGrade(models.Model):
    """A user's grade on a day, from their own usage against the account's model."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="grades")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    score = models.FloatField(null=True)
    grade = models.CharField(max_length=2, choices=Grade.choices)
    explanation = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("user grade")
        verbose_name_plural = _("user grades")
        constraints = [models.UniqueConstraint("contact", "day", name="contactgrade_unique_day")]
        indexes = [models.Index(fields=["account", "day"], name="contactgrade_account_day")]

    def __str__(self) -> str:
        return f"{self.contact} {self.day}: {self.grade}"
