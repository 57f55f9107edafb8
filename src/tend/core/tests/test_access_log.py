"""`tend web` logs a line per request that reaches Django (tend.core.access_log)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from tend.core.access_log import access_logged


async def _teapot(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 418, "headers": []})
    await send({"type": "http.response.body", "body": b""})


async def _broken(scope: Any, receive: Any, send: Any) -> None:
    raise RuntimeError("no answer")


def _call(app: Any, scope: dict[str, Any]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        pass

    asyncio.run(app(scope, receive, send))


HTTP = {
    "type": "http",
    "method": "GET",
    "path": "/accounts/",
    "query_string": b"q=acme",
    "http_version": "1.1",
    "client": ("10.1.2.3", 4567),
}


def test_a_request_is_logged_with_its_status(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tend.access"):
        _call(access_logged(_teapot), dict(HTTP))
    assert caplog.messages == ['10.1.2.3 - "GET /accounts/?q=acme HTTP/1.1" 418']


def test_a_request_that_fails_before_answering_is_logged_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="tend.access"), pytest.raises(RuntimeError):
        _call(access_logged(_broken), dict(HTTP))
    assert caplog.messages == ['10.1.2.3 - "GET /accounts/?q=acme HTTP/1.1" -']


def test_other_protocols_pass_through_unlogged(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tend.access"):
        _call(access_logged(_teapot), {"type": "websocket", "path": "/ws/"})
    assert caplog.messages == []
