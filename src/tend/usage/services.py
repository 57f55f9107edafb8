"""Usage writes: write keys (Admins) and pruning of raw events."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from tend.core.audit import audit_record
from tend.core.models import User
from tend.core.roles import require_perm
from tend.crm.models import Account
from tend.usage.auth import PREFIX_LENGTH, key_generate, key_hash
from tend.usage.models import DailyRollup, Event, IngestDrop, MetricValue, WriteKey

DEFAULT_KEEP_DAYS = 90
PRUNE_CHUNK = 5000


def events_keep_days() -> int:
    """How many days raw events are kept (TEND_EVENTS_KEEP_DAYS, default 90)."""
    from django.conf import settings

    value = getattr(settings, "TEND_EVENTS_KEEP_DAYS", None) or os.environ.get(
        "TEND_EVENTS_KEEP_DAYS", ""
    )
    try:
        days = int(value)
    except (TypeError, ValueError):
        return DEFAULT_KEEP_DAYS
    return days if days > 0 else DEFAULT_KEEP_DAYS


def _require(actor: User | None, perm: str) -> None:
    # actor=None is the operator at the console (`tend writekey`).
    if actor is not None:
        require_perm(actor, perm)


def writekeys_for_admin(user: User) -> QuerySet[WriteKey]:
    require_perm(user, "usage.view_writekey")
    return WriteKey.objects.select_related("created_by")


@transaction.atomic
def writekey_create(*, actor: User | None, name: str) -> tuple[WriteKey, str]:
    """A new key and its plaintext, which is never stored and cannot be shown again."""
    _require(actor, "usage.add_writekey")
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Give the key a name.")})
    if len(name) > 100:
        raise ValidationError({"name": _("The name is longer than 100 characters.")})
    plaintext = key_generate()
    key = WriteKey.objects.create(
        name=name, prefix=plaintext[:PREFIX_LENGTH], key_hash=key_hash(plaintext), created_by=actor
    )
    audit_record(actor=actor, action="usage.writekey_create", target=f"writekey:{key.pk}")
    return key, plaintext


@transaction.atomic
def writekey_revoke(*, actor: User | None, key: WriteKey) -> WriteKey:
    """Stop accepting the key: at once in this process, within seconds in others.
    Its events stay. Revoking twice keeps the first time."""
    _require(actor, "usage.change_writekey")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        # save(), not update(): the save signal is what makes the ingest cache forget.
        key.save(update_fields=["revoked_at"])
        audit_record(actor=actor, action="usage.writekey_revoke", target=f"writekey:{key.pk}")
    return key


def events_prune(*, keep_days: int | None = None, now: datetime | None = None) -> int:
    """Delete raw events (and drop records) older than the window; rollups stay. In
    chunks, each its own transaction, so a big first prune never holds SQLite's write
    lock for long. Returns the number of events deleted."""
    days = keep_days or events_keep_days()
    cutoff = (now or timezone.now()) - timedelta(days=days)
    IngestDrop.objects.filter(received_at__lt=cutoff).delete()
    return _delete_events(Event.objects.filter(timestamp__lt=cutoff))


def _delete_events(events: QuerySet[Event]) -> int:
    """Delete these events in chunks, each its own transaction, so a big delete never
    holds SQLite's write lock for long; returns how many."""
    deleted = 0
    while True:
        ids = list(events.values_list("pk", flat=True)[:PRUNE_CHUNK])
        if not ids:
            return deleted
        with transaction.atomic():
            deleted += Event.objects.filter(pk__in=ids).delete()[0]


# After an account is deleted, what ingestion may still add for it: the ingest writer
# remembers groupIds and keeps its counts for about a second, and a stopped writer's
# backlog is counted within STALE_BACKLOG_SECONDS (ingest_store). Later than both.
ACCOUNT_FORGET_AFTER = timedelta(minutes=3)


def account_usage_forget(account_id: int) -> int:
    """Delete the events, rollups and metric values still stored under a deleted
    account (those that ingestion added after the deletion); none if it exists again.
    Returns the number of events deleted."""
    if Account.objects.filter(pk=account_id).exists():
        return 0
    DailyRollup.objects.filter(account_id=account_id).delete()
    MetricValue.objects.filter(account_id=account_id).delete()
    return _delete_events(Event.objects.filter(account_id=account_id))
