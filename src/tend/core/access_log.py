"""One access-log line per HTTP request, for the requests worth one.

uvicorn's own access log formats a line for every request, and for the tracking API —
hundreds of machine requests a second, each answered in about a millisecond — that
was a fifth of the event loop's time (bench/usage_ingest.py). `tend web` turns it off
and wraps the Django application in this instead; the ingest fast path logs only the
requests it refuses (tend.usage.asgi).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

logger = logging.getLogger("tend.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
ASGIApp = Callable[
    [Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]
]


def access_logged(app: ASGIApp) -> ASGIApp:
    """``app`` logging ``client - "METHOD /path?query HTTP/x" status`` per HTTP request."""

    async def application(
        scope: Scope,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        status = 0

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await app(scope, receive, send_noting_status)
        finally:
            client = scope.get("client") or ("-", 0)
            path = scope.get("path", "")
            query = scope.get("query_string", b"")
            if query:
                path = f"{path}?{query.decode('latin-1')}"
            logger.info(
                '%s - "%s %s HTTP/%s" %s',
                client[0],
                scope.get("method", ""),
                path,
                scope.get("http_version", "1.1"),
                status or "-",
            )

    return application
