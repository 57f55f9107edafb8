from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from tend.crm.models import Account, Contact
from tend.usage.models import DailyRollup, Event, IngestDrop

from .conftest import Ingest

pytestmark = pytest.mark.django_db


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def track(event: str = "Report Built", user: str = "u1", **extra: object) -> dict:
    return {"type": "track", "event": event, "userId": user, "timestamp": iso(now()), **extra}


def test_batch_stores_events_and_rolls_them_up(ingest: Ingest) -> None:
    body = {
        "batch": [
            {"type": "identify", "userId": "u1", "traits": {"email": "li@acme.cn", "name": "Li"}},
            {"type": "group", "userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}},
            track(messageId="m1"),
            track(messageId="m2"),
            track("Invite Sent", messageId="m3"),
        ],
        "sentAt": iso(now()),
    }
    response = ingest.post("batch", body)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    contact = Contact.objects.get(external_id="u1")
    account = Account.objects.get(external_id="acme")
    assert (contact.email, contact.name, contact.account) == ("li@acme.cn", "Li", account)
    assert account.name == "Acme"
    assert Event.objects.count() == 5
    rollup = DailyRollup.objects.get(event="Report Built")
    assert (rollup.count, rollup.account, rollup.contact) == (2, account, contact)
    contact.refresh_from_db()
    account.refresh_from_db()
    assert contact.last_seen_at is not None and account.last_seen_at == contact.last_seen_at

    # Replaying the batch stores and counts nothing more.
    assert ingest.post("batch", body).status_code == 200
    assert Event.objects.count() == 5
    assert DailyRollup.objects.get(event="Report Built").count == 2


@pytest.mark.parametrize("auth", ["basic", "bearer", "body"])
def test_each_way_of_sending_the_key_is_accepted(ingest: Ingest, auth: str) -> None:
    response = ingest.post("track", track(messageId=f"m-{auth}"), auth=auth)
    assert response.status_code == 200, response.content
    assert Event.objects.filter(message_id=f"m-{auth}").exists()


@pytest.mark.parametrize("auth", ["none", "wrong"])
def test_a_missing_or_unknown_key_is_401(ingest: Ingest, auth: str) -> None:
    if auth == "wrong":
        ingest.key = "tk_not-a-key"
    response = ingest.post("track", track(), auth="basic" if auth == "wrong" else "none")
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message"}
    assert not Event.objects.exists()


def test_a_revoked_key_stops_working_at_once(write_key, ingest: Ingest) -> None:
    from tend.usage.services import writekey_revoke

    assert ingest.post("track", track(messageId="before")).status_code == 200
    writekey_revoke(actor=None, key=write_key[0])
    response = ingest.post("track", track(messageId="after"))
    assert response.status_code == 401
    assert response.json()["code"] == "revoked_write_key"
    assert list(Event.objects.values_list("message_id", flat=True)) == ["before"]


def test_gzip_bodies_are_read(ingest: Ingest) -> None:
    body = {"batch": [track(messageId=f"g{i}") for i in range(50)]}
    response = ingest.post("batch", body, gzipped=True)
    assert response.status_code == 200, response.content
    assert Event.objects.count() == 50


def test_a_gzip_bomb_is_refused_without_inflating_it(ingest: Ingest) -> None:
    padding = " " * (20 * 1024 * 1024)  # 20 MB of spaces: valid JSON once inflated
    raw = ('{"batch": []' + padding + "}").encode()
    response = ingest.post("batch", None, raw=raw, gzipped=True)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"


def test_corrupt_gzip_is_400(ingest: Ingest) -> None:
    response = ingest.client.post(
        "/ingest/v1/batch",
        data=b"not gzip at all",
        content_type="application/json",
        headers={"Content-Encoding": "gzip", "Authorization": f"Bearer {ingest.key}"},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_gzip"


def test_a_request_over_500_kb_is_413(ingest: Ingest) -> None:
    big = {"batch": [track(messageId=f"b{i}", properties={"x": "y" * 30_000}) for i in range(20)]}
    response = ingest.post("batch", big)
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert not Event.objects.exists()


def test_more_than_2500_messages_is_413(ingest: Ingest) -> None:
    small = {"type": "track", "event": "e", "userId": "u"}
    response = ingest.post("batch", {"batch": [small] * 2501})
    assert response.status_code == 413
    assert response.json()["code"] == "too_many_messages"


def test_exactly_2500_messages_are_accepted(ingest: Ingest) -> None:
    body = {
        "batch": [{"type": "track", "event": "e", "userId": "u"}] * 1
        + [
            {"type": "track", "event": "e", "userId": "u", "messageId": f"n{i}"}
            for i in range(2499)
        ]
    }
    assert ingest.post("batch", body).status_code == 200
    assert Event.objects.count() == 2500
    assert DailyRollup.objects.get().count == 2500


def test_a_message_over_32_kb_is_413_alone_and_dropped_in_a_batch(ingest: Ingest) -> None:
    fat = track(messageId="fat", properties={"blob": "x" * 33_000})
    assert ingest.post("track", fat).status_code == 413
    response = ingest.post("batch", {"batch": [fat, track(messageId="thin")]})
    assert response.status_code == 200
    assert list(Event.objects.values_list("message_id", flat=True)) == ["thin"]
    drop = IngestDrop.objects.get()
    assert (drop.reason, drop.message_id) == ("too_large", "fat")


def test_malformed_json_is_400(ingest: Ingest) -> None:
    response = ingest.post("batch", None, raw=b'{"batch": [')
    assert response.status_code == 400
    assert response.json() == {"code": "invalid_json", "message": "The body is not valid JSON."}
    assert ingest.post("batch", None, raw=b"[1, 2]").status_code == 400
    assert ingest.post("batch", {"batch": "nope"}).json()["code"] == "invalid_batch"


def test_wrong_types_are_a_clear_error_alone_and_a_recorded_drop_in_a_batch(
    ingest: Ingest,
) -> None:
    bad = [
        {"type": "track", "event": 42, "userId": "u", "messageId": "b1"},
        {"type": "track", "event": "e", "userId": {"x": 1}, "messageId": "b2"},
        {"type": "track", "event": "e", "userId": "u", "properties": [1], "messageId": "b3"},
        {"type": "track", "event": "e", "userId": "u", "timestamp": "soon", "messageId": "b4"},
        {"type": "launch", "userId": "u", "messageId": "b5"},
        {"type": "track", "event": "e", "messageId": "b6"},
        "just a string",
    ]
    response = ingest.post("track", bad[0])
    assert response.status_code == 400
    assert response.json()["code"] == "malformed"
    response = ingest.post("batch", {"batch": [*bad, track(messageId="ok")]})
    assert response.status_code == 200
    assert list(Event.objects.values_list("message_id", flat=True)) == ["ok"]
    reasons = sorted(IngestDrop.objects.values_list("reason", flat=True))
    assert reasons == ["malformed"] * 6 + ["no_identity"]


def test_unknown_fields_and_event_names_are_fine(ingest: Ingest) -> None:
    body = track("Something Nobody Defined", messageId="u1", whatever={"a": 1}, version=3)
    assert ingest.post("track", body).status_code == 200
    assert DailyRollup.objects.get().event == "Something Nobody Defined"


def test_future_and_ancient_timestamps_are_dropped_with_a_reason(ingest: Ingest) -> None:
    future = track(messageId="f", timestamp=iso(now() + timedelta(days=3)))
    ancient = track(messageId="a", timestamp=iso(now() - timedelta(days=3650)))
    assert ingest.post("batch", {"batch": [future, ancient]}).status_code == 200
    assert not Event.objects.exists()
    assert dict(IngestDrop.objects.values_list("message_id", "reason")) == {
        "f": "future",
        "a": "too_old",
    }


def test_clock_skew_is_corrected_from_sent_at(ingest: Ingest) -> None:
    # The device's clock is two hours fast: it says it sent the batch at 12:00 when the
    # server received it at (about) 10:00; the event happened a minute before sending.
    received = now()
    device_sent = received + timedelta(hours=2)
    event = track(messageId="s", timestamp=iso(device_sent - timedelta(minutes=1)))
    assert ingest.post("batch", {"batch": [event], "sentAt": iso(device_sent)}).status_code == 200
    stored = Event.objects.get().timestamp
    assert abs(stored - (received - timedelta(minutes=1))) < timedelta(seconds=30)


def test_a_replayed_batch_never_counts_twice(ingest: Ingest) -> None:
    body = {"batch": [track(messageId=f"r{i}") for i in range(10)]}
    for _ in range(3):
        assert ingest.post("batch", body).status_code == 200
    # Half old, half new: only the new half counts.
    body2 = {"batch": [track(messageId=f"r{i}") for i in range(5, 15)]}
    assert ingest.post("batch", body2).status_code == 200
    assert Event.objects.count() == 15
    assert DailyRollup.objects.get().count == 15
    assert not IngestDrop.objects.exists()


def test_messages_without_a_message_id_still_deduplicate(ingest: Ingest) -> None:
    stamp = iso(now())
    body = {"batch": [{"type": "track", "event": "e", "userId": "u", "timestamp": stamp}]}
    assert ingest.post("batch", {**body, "sentAt": stamp}).status_code == 200
    assert ingest.post("batch", {**body, "sentAt": iso(now())}).status_code == 200
    assert Event.objects.count() == 1
    assert DailyRollup.objects.get().count == 1


def test_ten_thousand_traits_are_dropped_with_a_reason(ingest: Ingest) -> None:
    traits = {f"t{i}": i for i in range(10_000)}
    body = {"type": "identify", "userId": "u9", "traits": traits, "messageId": "many"}
    response = ingest.post("identify", body)
    assert response.status_code in (400, 413)  # alone: too big for one message anyway
    response = ingest.post("batch", {"batch": [body]})
    assert response.status_code == 200
    assert IngestDrop.objects.get().reason in ("too_many_traits", "too_large")
    assert not Contact.objects.filter(external_id="u9").exists()


def test_a_thousand_small_traits_over_the_key_cap_are_too_many(ingest: Ingest) -> None:
    traits = {str(i): 1 for i in range(1001)}
    body = {"type": "identify", "userId": "u9", "traits": traits, "messageId": "many"}
    response = ingest.post("identify", body)
    assert response.status_code == 400
    assert response.json()["code"] == "too_many_traits"


def test_identify_merges_traits_and_finds_people_by_email(ingest: Ingest) -> None:
    known = Contact.objects.create(email="wang@acme.cn", name="")
    calls = [
        {"type": "identify", "userId": "w1", "traits": {"email": "Wang@Acme.cn", "plan": "pro"}},
        {"type": "identify", "userId": "w1", "traits": {"name": "Wang Fang", "seats": 3}},
    ]
    for n, call in enumerate(calls):
        assert ingest.post("identify", {**call, "messageId": f"i{n}"}).status_code == 200
    known.refresh_from_db()
    assert known.external_id == "w1"
    assert known.name == "Wang Fang"
    assert known.traits == {"email": "Wang@Acme.cn", "plan": "pro", "name": "Wang Fang", "seats": 3}


def test_context_group_id_ties_a_track_to_the_account(ingest: Ingest) -> None:
    acme = Account.objects.create(name="Acme", external_id="acme")
    body = track(messageId="t", user="anon-ish", context={"groupId": "acme"})
    assert ingest.post("track", body).status_code == 200
    assert Event.objects.get().account == acme
    assert DailyRollup.objects.get().account == acme


def test_a_previous_group_call_ties_later_calls_to_the_account(ingest: Ingest) -> None:
    group = {"userId": "p1", "groupId": "globex", "traits": {"name": "Globex"}, "messageId": "g"}
    assert ingest.post("group", group).status_code == 200
    assert ingest.post("track", track(user="p1", messageId="t")).status_code == 200
    globex = Account.objects.get(external_id="globex")
    assert Event.objects.get(message_id="t").account == globex
    assert Contact.objects.get(external_id="p1").account == globex


def test_identify_and_group_calls_are_not_activity(ingest: Ingest) -> None:
    body = {"type": "identify", "userId": "q1", "traits": {"name": "Q"}, "messageId": "q"}
    assert ingest.post("identify", body).status_code == 200
    assert not DailyRollup.objects.exists()
    assert Contact.objects.get(external_id="q1").last_seen_at is None


def test_pages_and_screens_roll_up_under_their_type(ingest: Ingest) -> None:
    page = {"userId": "v1", "name": "Pricing", "messageId": "p", "timestamp": iso(now())}
    screen = {"userId": "v1", "name": "Home", "messageId": "s", "timestamp": iso(now())}
    assert ingest.post("page", page).status_code == 200
    assert ingest.post("screen", screen).status_code == 200
    assert sorted(DailyRollup.objects.values_list("event", flat=True)) == ["page", "screen"]
    assert Event.objects.get(message_id="p").name == "Pricing"


def test_rollups_keep_first_and_last_time_across_requests(ingest: Ingest) -> None:
    # Yesterday noon: one day, and all in the past whatever the time the test runs.
    base = (now() - timedelta(days=1)).replace(hour=12, minute=0, second=0)
    early, late, middle = (base - timedelta(hours=2), base + timedelta(hours=1), base)
    for n, moment in enumerate([middle, late, early]):
        body = track(messageId=f"x{n}", timestamp=iso(moment))
        assert ingest.post("track", body).status_code == 200
    rollup = DailyRollup.objects.get()
    assert (rollup.count, rollup.first_at, rollup.last_at) == (3, early, late)
    assert Contact.objects.get(external_id="u1").last_seen_at == late


def test_last_seen_never_moves_past_the_time_received(ingest: Ingest) -> None:
    # A clock a few hours ahead is accepted, but the person is not "seen" in the future.
    ahead = now() + timedelta(hours=3)
    before = timezone.now()
    assert ingest.post("track", track(messageId="ahead", timestamp=iso(ahead))).status_code == 200
    seen = Contact.objects.get(external_id="u1").last_seen_at
    assert seen is not None and before <= seen <= timezone.now()


def test_alias_is_stored(ingest: Ingest) -> None:
    body = {"userId": "new", "previousId": "old", "messageId": "al"}
    assert ingest.post("alias", body).status_code == 200
    assert Event.objects.get().type == "alias"


def test_get_is_405(ingest: Ingest) -> None:
    response = ingest.client.get("/ingest/v1/batch")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_over_the_event_rate_is_429_with_retry_after(ingest: Ingest, settings) -> None:
    settings.TEND_INGEST_EVENTS_PER_SECOND = 1
    settings.TEND_INGEST_RATE_UNIT = 5
    # 1 event/s over a 10 s window is 10 events: two units of 5.
    body = {"batch": [track(messageId=f"l{i}") for i in range(5)]}
    assert ingest.post("batch", body).status_code == 200
    body = {"batch": [track(messageId=f"m{i}") for i in range(5)]}
    assert ingest.post("batch", body).status_code == 200
    response = ingest.post("batch", {"batch": [track(messageId=f"n{i}") for i in range(5)]})
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    assert Event.objects.count() == 10


def test_the_default_rate_unit_is_small_enough_for_a_small_limit(ingest: Ingest, settings) -> None:
    # 2 events/s over a 10 s window is 20 events; the unit shrinks to one event.
    settings.TEND_INGEST_EVENTS_PER_SECOND = 2
    body = {"batch": [track(messageId=f"s{i}") for i in range(20)]}
    assert ingest.post("batch", body).status_code == 200
    response = ingest.post("batch", {"batch": [track(messageId="over")]})
    assert response.status_code == 429
    assert Event.objects.count() == 20


def test_events_ingested_is_sent_once_per_request_after_commit(ingest: Ingest) -> None:
    from tend.usage.events import events_ingested

    received: list[list[int]] = []

    def receiver(sender: object, account_ids: list[int], **kwargs: object) -> None:
        received.append(account_ids)

    events_ingested.connect(receiver)
    try:
        body = {"batch": [track(messageId=f"e{i}", context={"groupId": "acme"}) for i in range(5)]}
        with __import__("django").test.TestCase.captureOnCommitCallbacks(execute=True):
            assert ingest.post("batch", body).status_code == 200
        with __import__("django").test.TestCase.captureOnCommitCallbacks(execute=True):
            assert ingest.post("batch", body).status_code == 200  # replay: nothing new
    finally:
        events_ingested.disconnect(receiver)
    assert received == [[Account.objects.get(external_id="acme").pk]]


def test_odd_bodies_never_500(ingest: Ingest) -> None:
    deep = '{"a":' * 1000 + "1" + "}" * 1000
    nested = (
        f'{{"batch": [{{"type": "track", "event": "e", "userId": "u", "properties": {deep}}}]}}'
    )
    assert ingest.post("batch", None, raw=nested.encode()).status_code == 200
    assert Event.objects.count() == 1
    assert ingest.post("batch", None, raw=b'{"batch": ["\xff\xfe"]}').status_code == 400
    assert ingest.post("batch", None, raw=b"").status_code == 400
    lone = b'{"batch": [{"type": "track", "event": "\\ud800", "userId": "u"}]}'
    assert ingest.post("batch", None, raw=lone).status_code in (200, 400)
