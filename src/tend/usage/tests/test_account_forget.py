"""A deleted account's product usage: gone with it, and gone again after the moment in
which ingestion may still add under its id."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from conftest import make_staff
from tend.core.roles import Role
from tend.crm.services import account_create, account_delete
from tend.usage.ingest import ingest_messages
from tend.usage.models import DailyRollup, Event, WriteKey
from tend.usage.services import ACCOUNT_FORGET_AFTER, account_usage_forget, writekey_create

pytestmark = pytest.mark.django_db


def _track(key: WriteKey, message_id: str) -> None:
    ingest_messages(
        write_key_id=key.pk,
        messages=[
            {
                "type": "track",
                "event": "Report Built",
                "userId": "u1",
                "messageId": message_id,
                "context": {"groupId": "quokka"},
            }
        ],
    )


def test_usage_goes_with_the_account_and_late_rows_are_cleared(
    django_capture_on_commit_callbacks: Any,
) -> None:
    key, _secret = writekey_create(actor=None, name="product")
    account = account_create(actor=None, name="Quokka Labs", external_id="quokka")
    _track(key, "m1")
    assert Event.objects.filter(account_id=account.pk).count() == 1
    assert DailyRollup.objects.filter(account_id=account.pk).exists()
    manager = make_staff("mia", Role.MANAGER)

    with django_capture_on_commit_callbacks(execute=True):
        account_delete(actor=manager, account=account, reason="test account")

    assert not Event.objects.filter(account_id=account.pk).exists()
    assert not DailyRollup.objects.filter(account_id=account.pk).exists()
    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        from django_tasks_db.models import DBTaskResult

        job = DBTaskResult.objects.get(task_path__endswith="account_usage_forget")
        assert job.args_kwargs["args"] == [account.pk]
        assert job.run_after >= timezone.now() + ACCOUNT_FORGET_AFTER - timedelta(seconds=30)

    # What an ingest writer that still remembered the groupId stores a moment later.
    now = timezone.now()
    Event.objects.create(
        write_key=key,
        message_id="late",
        type="track",
        name="Report Built",
        timestamp=now,
        received_at=now,
        account_id=account.pk,
    )
    DailyRollup.objects.create(
        day=now.date(),
        account_id=account.pk,
        event="Report Built",
        count=1,
        first_at=now,
        last_at=now,
    )

    assert account_usage_forget(account.pk) == 1

    assert not Event.objects.filter(account_id=account.pk).exists()
    assert not DailyRollup.objects.filter(account_id=account.pk).exists()


def test_nothing_is_cleared_for_an_account_that_exists() -> None:
    key, _secret = writekey_create(actor=None, name="product")
    account = account_create(actor=None, name="Quokka Labs", external_id="quokka")
    _track(key, "m1")

    assert account_usage_forget(account.pk) == 0
    assert Event.objects.filter(account_id=account.pk).count() == 1
