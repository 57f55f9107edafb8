"""Demo usage: a write key and a few weeks of product events for the demo accounts.

Call from the demo seed after accounts and contacts exist:
``from tend.usage.demo import seed_usage; seed_usage(days=60)``. Events go through the
real ingest path (``ingest_messages``), so rollups and last-seen are what ingestion
makes. Deterministic for a given seed; running it twice adds nothing (same messageIds).
"""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from tend.crm.models import Contact
from tend.usage.ingest import ingest_messages
from tend.usage.models import WriteKey
from tend.usage.services import writekey_create

DEMO_EVENTS = ["Logged In", "Report Built", "Dashboard Viewed", "Invite Sent", "Export Run"]


def seed_usage(*, days: int = 60, seed: int = 4) -> int:
    """Returns the number of events stored. Each contact with an account gets an
    activity level; some accounts fade over the last weeks so health and risks have
    something to find."""
    key = WriteKey.objects.filter(name="Demo product").first()
    if key is None:
        key, _plaintext = writekey_create(actor=None, name="Demo product")
    rng = random.Random(seed)
    now = timezone.now()
    contacts = list(
        Contact.objects.filter(account__isnull=False).select_related("account").order_by("pk")
    )
    stored = 0
    batch: list[dict[str, object]] = []
    for contact in contacts:
        user_id = contact.external_id or f"demo-{contact.pk}"
        if not contact.external_id:
            Contact.objects.filter(pk=contact.pk).update(external_id=user_id)
        group_id = contact.account.external_id if contact.account else ""
        if contact.account and not group_id:
            group_id = f"demo-account-{contact.account.pk}"
            type(contact.account).objects.filter(pk=contact.account.pk).update(external_id=group_id)
        level = rng.choice([0, 1, 2, 4, 8])
        fading = contact.account_id is not None and contact.account_id % 5 == 0
        for day in range(days, 0, -1):
            per_day = level if not (fading and day < 21) else level // 4
            for n in range(rng.randint(0, per_day)):
                moment = now - timedelta(days=day, minutes=rng.randint(0, 600))
                batch.append(
                    {
                        "type": "track",
                        "event": rng.choice(DEMO_EVENTS),
                        "userId": user_id,
                        "messageId": f"demo-{contact.pk}-{day}-{n}",
                        "timestamp": moment.isoformat(),
                        "context": {"groupId": group_id},
                    }
                )
            if len(batch) >= 1000:
                stored += ingest_messages(write_key_id=key.pk, messages=batch).stored
                batch = []
    if batch:
        stored += ingest_messages(write_key_id=key.pk, messages=batch).stored
    return stored
