"""The lean ASGI path answers /ingest/v1/* exactly like the Django views."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest
from django.db import connection

from tend.usage.asgi import RawRequest, _Headers, handle_group, ingest_fast_path
from tend.usage.models import DailyRollup, Event


async def _passthrough(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 299, "headers": []})
    await send({"type": "http.response.body", "body": b"django"})


def _call(
    app: Any, path: str, body: bytes, headers: list[tuple[bytes, bytes]]
) -> tuple[int, dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []
    chunks = [body[:10], body[10:]]

    async def receive() -> dict[str, Any]:
        chunk = chunks.pop(0)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "headers": headers,
        "client": ("127.0.0.1", 5),
    }
    asyncio.run(app(scope, receive, send))
    start, payload = sent[0], sent[1]
    return start["status"], dict(start["headers"]), payload["body"]


@pytest.mark.django_db(transaction=True)
def test_the_fast_path_ingests_and_refuses_like_the_views(write_key: Any) -> None:
    _key, plaintext = write_key
    app = ingest_fast_path(_passthrough)
    auth = [(b"authorization", b"Basic " + base64.b64encode(f"{plaintext}:".encode()))]
    batch = {
        "batch": [
            {"type": "track", "event": "e", "userId": "u", "messageId": f"f{i}"} for i in range(3)
        ]
    }
    status, headers, body = _call(app, "/ingest/v1/batch", json.dumps(batch).encode(), auth)
    assert (status, json.loads(body)) == (200, {"success": True})
    assert headers[b"content-type"] == b"application/json"
    assert Event.objects.count() == 3 and DailyRollup.objects.get().count == 3

    status, _headers, body = _call(app, "/ingest/v1/batch", b"{nope", auth)
    assert (status, json.loads(body)["code"]) == (400, "invalid_json")
    status, _headers, body = _call(app, "/ingest/v1/track", b"{}", [])
    assert (status, json.loads(body)["code"]) == (401, "missing_write_key")
    status, _headers, body = _call(app, "/ingest/v1/batch", b"x" * (600 * 1024), auth)
    assert (status, json.loads(body)["code"]) == (413, "request_too_large")
    # Anything else is the wrapped application's.
    assert _call(app, "/ingest/v1/other", b"{}", auth)[0] == 299
    assert _call(app, "/api/v1/tickets", b"{}", auth)[0] == 299


def _raw(body: Any, key: str) -> RawRequest:
    auth = "Basic " + base64.b64encode(f"{key}:".encode()).decode()
    headers = _Headers({"authorization": auth, "content-type": "application/json"})
    return RawRequest("POST", headers, json.dumps(body).encode(), "127.0.0.1")


def _track(message_id: str, event: str = "Report Built", user: str = "u1") -> dict[str, Any]:
    return {"type": "track", "event": event, "userId": user, "messageId": message_id}


@pytest.mark.django_db(transaction=True)
def test_a_group_answers_each_request_and_stores_a_shared_message_id_once(
    write_key: Any,
) -> None:
    # Given three requests that queued up together: two batches sharing one messageId
    # (a client retrying before its first answer came) and one with a wrong key.
    _key, plaintext = write_key
    first = _raw({"batch": [_track("m1"), _track("m2")]}, plaintext)
    wrong = _raw({"batch": [_track("m9")]}, "not-a-key")
    retry = _raw({"batch": [_track("m2"), _track("m3")]}, plaintext)

    responses = handle_group([(first, None), (wrong, None), (retry, None)])

    # Then each request gets its own answer, and m2 is stored and counted once.
    assert [r.status_code for r in responses] == [200, 401, 200]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["m1", "m2", "m3"]
    assert DailyRollup.objects.get().count == 3


def _add_failing_trigger() -> None:
    # A real database error for one event name: the store of that request fails.
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION boom() RETURNS trigger AS $$ BEGIN "
                "RAISE EXCEPTION 'boom'; END; $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                "CREATE TRIGGER boom BEFORE INSERT ON usage_event FOR EACH ROW "
                "WHEN (NEW.name = 'Boom') EXECUTE FUNCTION boom()"
            )
        else:
            cursor.execute(
                "CREATE TRIGGER boom BEFORE INSERT ON usage_event "
                "WHEN NEW.name = 'Boom' BEGIN SELECT RAISE(ABORT, 'boom'); END"
            )


def _drop_failing_trigger() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("DROP TRIGGER IF EXISTS boom ON usage_event")
            cursor.execute("DROP FUNCTION IF EXISTS boom()")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS boom")


@pytest.mark.django_db(transaction=True)
def test_one_failing_request_does_not_fail_the_others_in_its_group(write_key: Any) -> None:
    _key, plaintext = write_key
    _add_failing_trigger()
    try:
        good = _raw({"batch": [_track("g1"), _track("g2")]}, plaintext)
        bad = _raw({"batch": [_track("b1", event="Boom")]}, plaintext)
        also_good = _raw({"batch": [_track("g3")]}, plaintext)

        responses = handle_group([(good, None), (bad, None), (also_good, None)])
    finally:
        _drop_failing_trigger()

    # The group's transaction failed as a whole; its requests were stored one by one.
    assert [r.status_code for r in responses] == [200, 500, 200]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["g1", "g2", "g3"]
    assert DailyRollup.objects.get().count == 3


@pytest.mark.django_db(transaction=True)
def test_nul_characters_are_replaced_not_a_failure(write_key: Any) -> None:
    # PostgreSQL stores no NUL in text or jsonb; the event is kept with U+FFFD instead.
    _key, plaintext = write_key
    message = _track("n1", event="Report\u0000Built", user="u\u00001")
    message["properties"] = {"note\u0000": "a\u0000b"}
    (response,) = handle_group([(_raw({"batch": [message]}, plaintext), None)])

    assert response.status_code == 200
    event = Event.objects.get()
    assert (event.name, event.user_id) == ("Report\ufffdBuilt", "u\ufffd1")
    assert event.properties == {"note\ufffd": "a\ufffdb"}
