"""Segment's own Python library, unchanged, pointed at a running Tend."""

from __future__ import annotations

from typing import Any

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from tend.crm.models import Account, Contact
from tend.usage.models import DailyRollup, Event
from tend.usage.services import writekey_create, writekey_revoke


@pytest.mark.django_db(transaction=True)
def test_segment_python_client_sends_identify_group_and_track(live_server: Any) -> None:
    key, plaintext = writekey_create(actor=None, name="Segment library")
    errors: list[Any] = []
    client = Client(
        plaintext,
        host=live_server.url + "/ingest",
        sync_mode=True,
        on_error=lambda error, batch: errors.append(error),
    )
    client.identify("user-42", {"email": "li.lei@acme.cn", "name": "Li Lei", "plan": "pro"})
    client.group("user-42", "acme-1", {"name": "Acme Ltd", "employees": 120})
    client.track("user-42", "Report Built", {"rows": 12})
    client.track("user-42", "Report Built", {"rows": 3}, context={"groupId": "acme-1"})
    client.page("user-42", category="Docs", name="Getting started")
    client.flush()
    assert errors == []

    contact = Contact.objects.get(external_id="user-42")
    account = Account.objects.get(external_id="acme-1")
    assert (contact.email, contact.name, contact.traits["plan"]) == (
        "li.lei@acme.cn",
        "Li Lei",
        "pro",
    )
    assert (account.name, account.traits["employees"]) == ("Acme Ltd", 120)
    assert contact.account == account
    assert Event.objects.count() == 5
    assert set(Event.objects.values_list("type", flat=True)) == {
        "identify",
        "group",
        "track",
        "page",
    }
    rollup = DailyRollup.objects.get(event="Report Built")
    assert (rollup.count, rollup.account, rollup.contact) == (2, account, contact)
    contact.refresh_from_db()
    assert contact.last_seen_at is not None

    # A revoked key: the library is told 401 with Segment's error shape (in sync mode it
    # raises it) and does not retry.
    writekey_revoke(actor=None, key=key)
    with pytest.raises(APIError) as refused:
        client.track("user-42", "Report Built")
    assert (refused.value.status, refused.value.code) == (401, "revoked_write_key")
    assert DailyRollup.objects.get(event="Report Built").count == 2
