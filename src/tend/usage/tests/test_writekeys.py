from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from tend.usage.auth import key_hash, key_lookup
from tend.usage.models import Event, IngestDrop, WriteKey
from tend.usage.services import events_prune, writekey_create, writekey_revoke

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_hashed_and_shown_once(admin_user) -> None:
    key, plaintext = writekey_create(actor=admin_user, name="Web app")
    assert len(plaintext) >= 43 and plaintext.startswith(key.prefix)
    assert key.key_hash == key_hash(plaintext) and plaintext not in key.key_hash
    assert key_lookup(plaintext) == (key.pk, False)
    assert key_lookup(plaintext + "x") is None


def test_only_admins_manage_keys(manager) -> None:
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        writekey_create(actor=manager, name="nope")


def test_revoking_is_seen_at_once_by_the_cached_lookup(admin_user) -> None:
    key, plaintext = writekey_create(actor=admin_user, name="k")
    assert key_lookup(plaintext) == (key.pk, False)  # now cached
    writekey_revoke(actor=admin_user, key=key)
    assert key_lookup(plaintext) == (key.pk, True)


def test_the_command_creates_lists_and_revokes() -> None:
    out, err = io.StringIO(), io.StringIO()
    call_command("writekey", "create", "CLI key", stdout=out, stderr=err)
    plaintext = out.getvalue().strip()
    key = WriteKey.objects.get()
    assert key.key_hash == key_hash(plaintext) and "not be shown again" in err.getvalue()
    out = io.StringIO()
    call_command("writekey", "list", stdout=out)
    assert "CLI key" in out.getvalue() and plaintext not in out.getvalue()
    call_command("writekey", "revoke", str(key.pk), stdout=io.StringIO())
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_settings_page_creates_a_key_and_shows_it_once(admin_user) -> None:
    client = Client()
    client.force_login(admin_user)
    response = client.post("/settings/writekeys/", {"name": "Mobile app"})
    assert response.status_code == 200
    key = WriteKey.objects.get()
    plaintext = response.context["plaintext"]
    assert key.key_hash == key_hash(plaintext)
    assert plaintext in response.content.decode()
    page = client.get("/settings/writekeys/").content.decode()
    assert "Mobile app" in page and plaintext not in page
    response = client.post(f"/settings/writekeys/{key.pk}/revoke/")
    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_settings_page_is_for_admins(agent) -> None:
    client = Client()
    client.force_login(agent)
    assert client.get("/settings/writekeys/").status_code == 403
    assert client.post("/settings/writekeys/", {"name": "x"}).status_code == 403
    assert not WriteKey.objects.exists()


def _token(user) -> str:
    # Through the command, not tend.api: usage sits below api (import-linter).
    out = io.StringIO()
    call_command("createtoken", user.username, stdout=out)
    return out.getvalue().strip().split()[-1]


def test_the_api_creates_lists_and_revokes_keys(admin_user, manager) -> None:
    raw = _token(admin_user)
    headers = {"Authorization": f"Bearer {raw}"}
    client = Client()
    response = client.post(
        "/api/v1/writekeys", {"name": "API key"}, content_type="application/json", headers=headers
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert key_lookup(body["key"]) == (body["id"], False)
    listed = client.get("/api/v1/writekeys", headers=headers).json()
    assert listed["count"] == 1 and "key" not in listed["items"][0]
    response = client.post(f"/api/v1/writekeys/{body['id']}/revoke", headers=headers)
    assert response.status_code == 200 and response.json()["revoked_at"]
    other = _token(manager)
    response = client.get("/api/v1/writekeys", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 403


def test_prune_deletes_old_raw_events_only(admin_user) -> None:
    key, _plaintext = writekey_create(actor=None, name="k")
    now = timezone.now()
    for n, age in enumerate([1, 89, 91, 400]):
        Event.objects.create(
            write_key=key,
            message_id=f"m{n}",
            type="track",
            name="e",
            timestamp=now - timedelta(days=age),
            received_at=now,
        )
    IngestDrop.objects.create(received_at=now - timedelta(days=100), reason="future")
    assert events_prune(now=now) == 2
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m0", "m1"]
    assert not IngestDrop.objects.exists()
    assert events_prune(keep_days=30, now=now) == 1


def test_ingestion_fills_rollups_and_stores_a_message_once() -> None:
    from tend.crm.models import Account, Contact
    from tend.usage.ingest import ingest_messages
    from tend.usage.models import DailyRollup

    key, _plaintext = writekey_create(actor=None, name="Product")
    account = Account.objects.create(name="Acme", external_id="acme")
    now = timezone.now()
    messages = []
    for n in range(4):
        Contact.objects.create(email=f"p{n}@acme.cn", account=account, external_id=f"u{n}")
        for day in range(1, 21):
            messages.append(
                {
                    "type": "track",
                    "event": "Logged In",
                    "userId": f"u{n}",
                    "messageId": f"m-{n}-{day}",
                    "timestamp": (now - timedelta(days=day)).isoformat(),
                    "context": {"groupId": "acme"},
                }
            )

    def seed_usage() -> int:
        return ingest_messages(write_key_id=key.pk, messages=messages).stored

    stored = seed_usage()
    assert stored == Event.objects.count() > 0
    assert sum(DailyRollup.objects.values_list("count", flat=True)) == stored
    assert seed_usage() == 0  # the same messageIds: nothing twice
