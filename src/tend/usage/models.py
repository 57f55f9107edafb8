"""Product usage: write keys, raw events, daily rollups, metric definitions and values.

Events arrive through the Segment-compatible API (``/ingest/v1/``). They are kept raw
for a window (``TEND_EVENTS_KEEP_DAYS``, 90 by default); everything the product shows
(metrics, health, risks) reads the daily rollups, which are kept as long as the account.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from tend.crm.models import Account, Contact


class WriteKey(models.Model):
    """A key the product's tracking code sends events with. Only its SHA-256 is stored;
    the key itself is shown once, when it is created."""

    name = models.CharField(_("name"), max_length=100)
    # The first characters of the key, shown in lists so people can tell keys apart.
    prefix = models.CharField(_("prefix"), max_length=12)
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("write key")
        verbose_name_plural = _("write keys")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class EventType(models.TextChoices):
    TRACK = "track", "track"
    IDENTIFY = "identify", "identify"
    GROUP = "group", "group"
    PAGE = "page", "page"
    SCREEN = "screen", "screen"
    ALIAS = "alias", "alias"


class TrustedJSONField(models.JSONField):
    """A JSONField without SQLite's ``CHECK (JSON_VALID(...))``.

    Only for columns written by code that serialised the value itself (the ingest hot
    path writes orjson output): re-parsing two JSON documents per row in the CHECK cost
    about a quarter of an event insert (bench/usage_ingest.py). Reads and lookups are
    those of JSONField.
    """

    def db_check(self, connection: Any) -> str | None:
        return None


class Event(models.Model):
    """One call as received (after clock-skew correction). ``name`` is the track event
    name, or the page/screen name; identify/group/alias calls keep their type as name."""

    # Every index costs each of the thousands of inserts a second (docs/benchmarks.md):
    # write_key is covered by the unique (write_key, message_id), and lookups by account
    # or contact read the rollups, not raw events. Deleting an account scans this table
    # once, which is rare and fine.
    # No database-level foreign keys either (db_constraint=False): checking three parent
    # rows per inserted event cost about a fifth of the insert. The ingest writes ids it
    # has just read, and deletions cascade through Django as before; an event that races
    # a contact's deletion may keep that contact's id, which reads as "no such contact".
    write_key = models.ForeignKey(
        WriteKey, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    message_id = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=EventType.choices)
    name = models.CharField(max_length=200, blank=True)
    user_id = models.CharField(max_length=200, blank=True)
    anonymous_id = models.CharField(max_length=200, blank=True)
    group_id = models.CharField(max_length=200, blank=True)
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    timestamp = models.DateTimeField(db_index=True)  # when it happened (skew-corrected)
    received_at = models.DateTimeField()
    properties = TrustedJSONField(default=dict, blank=True)
    context = TrustedJSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        constraints = [
            # Segment clients retry with the same messageId: one row per key and id.
            models.UniqueConstraint("write_key", "message_id", name="event_unique_message"),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.name}"


class DropReason(models.TextChoices):
    MALFORMED = "malformed", _("Malformed message")
    TOO_LARGE = "too_large", _("Message over 32 KB")
    FUTURE = "future", _("Timestamp in the future")
    TOO_OLD = "too_old", _("Timestamp older than the event window")
    NO_IDENTITY = "no_identity", _("Neither userId nor anonymousId")
    DUPLICATE = "duplicate", _("Duplicate messageId")
    TOO_MANY_TRAITS = "too_many_traits", _("Too many traits or properties")
    OTHER = "other", _("Other")


class IngestDrop(models.Model):
    """A message accepted by the API (the batch answered 200) but not counted, and why:
    so nothing is dropped silently."""

    write_key = models.ForeignKey(
        WriteKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(db_index=True)
    reason = models.CharField(max_length=20, choices=DropReason.choices)
    message_id = models.CharField(max_length=200, blank=True)
    detail = models.CharField(max_length=500, blank=True)
    # The start of the message as received (at most 2,000 characters).
    excerpt = models.TextField(blank=True)

    class Meta:
        verbose_name = _("dropped event")
        verbose_name_plural = _("dropped events")
        ordering = ["-received_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.reason} {self.message_id}"


class RollupBacklog(models.Model):
    """A range of event ids stored but not yet counted into the rollups and last-seen.

    Under a steady stream, the ingest writer on SQLite counts its events once every
    TEND_INGEST_ROLLUP_EVERY_SECONDS instead of once per transaction (counting took
    about a third of the writer's time). The range is written in the transaction that
    stores the events, so a process stopped before counting loses nothing: the next
    store, or the usage_rollups_catch_up job, counts it.
    """

    first_event_id = models.BigIntegerField()
    last_event_id = models.BigIntegerField()
    # The writer that has these events counted in memory and will write the counts; ""
    # for a range any process counts from the events. A writer's range left longer than
    # a couple of minutes (the writer stopped) is counted from the events too.
    writer = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        verbose_name = _("rollup backlog")
        verbose_name_plural = _("rollup backlogs")

    def __str__(self) -> str:
        return f"{self.first_event_id}–{self.last_event_id}"


class DailyRollup(models.Model):
    """Events per day × account × contact × event name, kept up to date on ingest.
    ``account``/``contact`` are null for events not tied to one."""

    day = models.DateField()
    # Upserted on every ingest: no database-level foreign keys (see Event), and no
    # index of its own on account (rollup_account_day starts with it).
    account = models.ForeignKey(
        Account,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        Contact,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_constraint=False,
    )
    event = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)
    first_at = models.DateTimeField()
    last_at = models.DateTimeField()

    class Meta:
        verbose_name = _("daily rollup")
        verbose_name_plural = _("daily rollups")
        constraints = [
            # Coalesce: NULLs are distinct in a plain unique index, and "no contact" must
            # still be one row per day. Upserts name the same expressions:
            # ON CONFLICT (day, COALESCE(account_id, 0), COALESCE(contact_id, 0), event).
            models.UniqueConstraint(
                F("day"),
                Coalesce(F("account"), Value(0)),
                Coalesce(F("contact"), Value(0)),
                F("event"),
                name="rollup_unique_key",
            ),
        ]
        indexes = [models.Index(fields=["account", "day"], name="rollup_account_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.event}: {self.count}"


class MetricKind(models.TextChoices):
    EVENT_COUNT = "event_count", _("Count of an event")
    ACTIVE_USERS = "active_users", _("Distinct active users")
    SEAT_SHARE = "seat_share", _("Share of seats active")
    DAYS_SINCE_ACTIVITY = "days_since", _("Days since last activity")


class MetricRole(models.TextChoices):
    LEADING = "leading", _("Leading indicator")
    OUTCOME = "outcome", _("Outcome")


class Metric(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=20, choices=MetricKind.choices)
    # The event counted (EVENT_COUNT) or that makes a user active (blank: any event).
    event = models.CharField(_("event"), max_length=200, blank=True)
    # Only events whose property has this value (raw events; within their window).
    property_name = models.CharField(_("property"), max_length=100, blank=True)
    property_value = models.CharField(_("property value"), max_length=200, blank=True)
    window_days = models.PositiveSmallIntegerField(
        _("window"), choices=[(7, _("7 days")), (30, _("30 days")), (90, _("90 days"))], default=30
    )
    role = models.CharField(
        _("role"), max_length=10, choices=MetricRole.choices, default=MetricRole.LEADING
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("metric")
        verbose_name_plural = _("metrics")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class MetricValue(models.Model):
    """A metric's value for an account (contact null) or one of its people, on a day."""

    metric = models.ForeignKey(Metric, on_delete=models.CASCADE, related_name="values")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    day = models.DateField()
    value = models.FloatField()

    class Meta:
        verbose_name = _("metric value")
        verbose_name_plural = _("metric values")
        constraints = [
            models.UniqueConstraint(
                F("metric"),
                F("account"),
                Coalesce(F("contact"), Value(0)),
                F("day"),
                name="metricvalue_unique_key",
            ),
        ]
        indexes = [models.Index(fields=["account", "metric", "day"], name="metricvalue_lookup")]

    def __str__(self) -> str:
        return f"{self.metric_id} {self.day}: {self.value}"
