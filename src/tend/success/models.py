"""Customer-success work: tasks (calls to action) and the thresholds of risk signals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tend.crm.models import Account, Contact


class TaskType(models.TextChoices):
    MANUAL = "manual", _("Task")
    USER_INACTIVE = "user_inactive", _("User inactive")
    ACCOUNT_INACTIVE = "account_inactive", _("Account inactive")
    USAGE_DROP = "usage_drop", _("Usage dropped")
    CHAMPION_GONE = "champion_gone", _("Champion or decision maker gone")
    SEATS_UNDERUSED = "seats_underused", _("Seats under-used")
    TICKET_SPIKE = "ticket_spike", _("Ticket spike")
    URGENT_TICKET = "urgent_ticket", _("Urgent ticket")
    RENEWAL_AT_RISK = "renewal_at_risk", _("Renewal at risk")
    SURVEY_FOLLOW_UP = "survey_follow_up", _("Unhappy survey answer")


class TaskStatus(models.TextChoices):
    OPEN = "open", _("Open")
    SNOOZED = "snoozed", _("Snoozed")
    CLOSED = "closed", _("Closed")


class TaskOutcome(models.TextChoices):
    RESOLVED = "resolved", _("Resolved")
    NO_ACTION = "no_action", _("No action needed")
    ESCALATED = "escalated", _("Escalated")
    CHURNED = "churned", _("Customer churned")


class Task(models.Model):
    """A call to action for a CSM: raised by a risk signal (deduplicated by account,
    type and reason) or created by hand."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="tasks"
    )
    type = models.CharField(_("type"), max_length=20, choices=TaskType.choices, db_index=True)
    title = models.CharField(_("title"), max_length=300)
    reason = models.TextField(_("reason"), blank=True)
    # account + type + the signal's reason key: a signal that fires again while its task
    # is open (or snoozed) finds that task instead of raising a second one.
    dedupe_key = models.CharField(max_length=300, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="cs_tasks",
    )
    due_on = models.DateField(_("due"), db_index=True)
    status = models.CharField(
        _("status"), max_length=10, choices=TaskStatus.choices, default=TaskStatus.OPEN
    )
    snoozed_until = models.DateField(_("snoozed until"), null=True, blank=True)
    outcome = models.CharField(_("outcome"), max_length=20, choices=TaskOutcome.choices, blank=True)
    outcome_note = models.TextField(_("outcome note"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        ordering = ["due_on", "pk"]
        constraints = [
            models.UniqueConstraint(
                "dedupe_key",
                condition=~models.Q(dedupe_key="") & ~models.Q(status="closed"),
                name="task_unique_open_signal",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class RiskSettings(models.Model):
    """Thresholds of the risk signals (one row; created with defaults on first use)."""

    user_inactive_days = models.PositiveSmallIntegerField(
        _("a user is inactive after (days)"), default=14
    )
    account_inactive_days = models.PositiveSmallIntegerField(
        _("an account is inactive after (days)"), default=7
    )
    usage_drop_percent = models.PositiveSmallIntegerField(
        _("usage drop week over week (%)"), default=30
    )
    champion_inactive_days = models.PositiveSmallIntegerField(
        _("a champion or decision maker is inactive after (days)"), default=14
    )
    seats_underused_percent = models.PositiveSmallIntegerField(
        _("seats under-used below (% active in 30 days)"), default=50
    )
    ticket_spike_count = models.PositiveSmallIntegerField(
        _("ticket spike: tickets in 7 days"), default=5
    )
    renewal_days = models.PositiveSmallIntegerField(
        _("renewal at risk: renewal within (days) while red"), default=90
    )
    task_due_days = models.PositiveSmallIntegerField(_("tasks are due in (days)"), default=3)

    class Meta:
        verbose_name = _("risk settings")
        verbose_name_plural = _("risk settings")

    def __str__(self) -> str:
        return str(_("Risk settings"))
