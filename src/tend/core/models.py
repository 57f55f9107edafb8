"""Shared kernel models: staff users, business calendars, the audit log, search rows."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True


class User(AbstractUser):
    """A staff member. Customers are crm.Contact rows and never log in here."""

    language = models.CharField(
        _("language"), max_length=10, choices=settings.LANGUAGES, default="en"
    )
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    is_away = models.BooleanField(
        _("away"), default=False, help_text=_("Away agents are skipped by automatic assignment.")
    )

    class Meta:
        verbose_name = _("staff user")
        verbose_name_plural = _("staff users")

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class BusinessCalendar(models.Model):
    """Working hours in one time zone, used to count SLA time.

    ``weekly_hours`` maps ISO weekday numbers ("1" = Monday … "7" = Sunday) to a list
    of ``["09:00", "17:00"]`` intervals in the calendar's own time zone.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    weekly_hours = models.JSONField(_("weekly hours"), default=dict, blank=True)

    class Meta:
        verbose_name = _("business calendar")
        verbose_name_plural = _("business calendars")

    def __str__(self) -> str:
        return self.name


class Holiday(models.Model):
    calendar = models.ForeignKey(
        BusinessCalendar, on_delete=models.CASCADE, related_name="holidays"
    )
    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        constraints = [
            models.UniqueConstraint(fields=["calendar", "date"], name="holiday_unique_day")
        ]

    def __str__(self) -> str:
        return f"{self.date} {self.name}"


class AuditEntry(models.Model):
    """Who read as someone else, exported, or deleted personal data — kept forever."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)
    data: models.JSONField[Any] = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}"


class SearchDocument(models.Model):
    """One searchable object. The full-text index itself lives in a backend-specific
    structure (an FTS5 table on SQLite, a tsvector column + GIN on PostgreSQL) keyed
    by this row's id; see tend.core.search."""

    kind = models.CharField(max_length=20)
    object_id = models.BigIntegerField()
    title = models.CharField(max_length=300, blank=True)
    # Filter columns copied from the object so a search never needs a join to filter.
    status = models.CharField(max_length=20, blank=True, db_index=True)
    scope = models.BigIntegerField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(db_index=True)
    tokens = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "object_id"], name="searchdoc_unique_object")
        ]
        indexes = [models.Index(fields=["kind", "-updated_at"], name="searchdoc_recent")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.object_id}"


class Sequence(models.Model):
    """A named gap-free counter (ticket numbers). Incremented under a row lock."""

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
