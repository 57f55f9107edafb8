"""The lean ASGI path answers /ingest/v1/* exactly like the Django views."""

from __future__ import annotations

import asyncio
import base64
import json
from typing import Any

import pytest

from tend.usage.asgi import ingest_fast_path
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
