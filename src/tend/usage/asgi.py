"""A lean ASGI path for the tracking API: /ingest/v1/* without Django's request cycle.

Ingestion is the one endpoint hit hundreds of times a second by machines. Through
Django's ASGI handler each request also pays for three thread hops (the request
signals and the view), ten middlewares it does not need (sessions, CSRF, locale,
messages...) and a fresh request object: about as much CPU as storing 100 events.
This wrapper answers /ingest/v1/{batch,import,track,identify,group,page,screen,alias}
itself, with the very same code as the Django views (tend.usage.ingest._ingest), on
one long-lived worker thread per process whose database connection is reused (Django
opens one per request under ASGI). Everything else goes to the wrapped application.

Wire it in tend/asgi.py: ``ProtocolTypeRouter({"http": ingest_fast_path(django_app)})``.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import close_old_connections, connection
from django.http import HttpResponse, JsonResponse

logger = logging.getLogger(__name__)

PREFIX = "/ingest/v1/"
CALLS: dict[str, str | None] = {
    "batch": None,
    "import": None,
    "track": "track",
    "identify": "identify",
    "group": "group",
    "page": "page",
    "screen": "screen",
    "alias": "alias",
}

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Headers(dict[str, str]):
    """Case-insensitive ``get``, like HttpRequest.headers."""

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        return super().get(key.lower(), default)


class RawRequest:
    """What tend.usage.ingest._ingest reads from a request, and nothing more."""

    def __init__(self, method: str, headers: _Headers, body: bytes, remote: str) -> None:
        self.method = method
        self.headers = headers
        self._body = body
        self.META = {
            "REMOTE_ADDR": remote,
            "HTTP_X_FORWARDED_FOR": headers.get("x-forwarded-for", ""),
        }

    def read(self, size: int = -1) -> bytes:
        return self._body if size < 0 else self._body[:size]


def _handle(request: RawRequest, call_type: str | None) -> HttpResponse:
    from tend.usage.ingest import _ingest

    # What Django's request_started/request_finished do for the connection.
    close_old_connections()
    try:
        return _ingest(request, call_type)  # type: ignore[arg-type]
    except Exception:
        logger.exception("ingest failed")
        if connection.in_atomic_block:  # pragma: no cover - _ingest's atomic() cleans up
            connection.close()
        return JsonResponse({"code": "server_error", "message": "Internal error."}, status=500)
    finally:
        close_old_connections()


def ingest_fast_path(app: ASGIApp) -> ASGIApp:
    """Call after Django is set up (tend/asgi.py: after get_asgi_application())."""
    from tend.usage.ingest import MAX_REQUEST_BYTES

    # SQLite takes one writer at a time: more threads would only queue on its lock.
    threads = 1 if connection.vendor == "sqlite" else 4
    executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tend-ingest")

    async def application(scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith(PREFIX):
            await app(scope, receive, send)
            return
        call = path[len(PREFIX) :]
        if call not in CALLS:
            await app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= MAX_REQUEST_BYTES + 1:
                chunks.append(chunk)  # past the limit: drain, keep nothing (413 follows)
            if not message.get("more_body", False):
                break
        headers = _Headers(
            (name.decode("latin-1").lower(), value.decode("latin-1"))
            for name, value in scope.get("headers", [])
        )
        if size > MAX_REQUEST_BYTES:
            headers["content-length"] = str(size)
        client = scope.get("client") or ("", 0)
        request = RawRequest(scope.get("method", "GET"), headers, b"".join(chunks), client[0])
        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(executor, _handle, request, CALLS[call])
        out_headers = [
            (name.lower().encode("latin-1"), str(value).encode("latin-1"))
            for name, value in response.items()
        ]
        out_headers.append((b"content-length", str(len(response.content)).encode()))
        await send(
            {"type": "http.response.start", "status": response.status_code, "headers": out_headers}
        )
        await send({"type": "http.response.body", "body": response.content})

    return application


_application: ASGIApp | None = None


def __getattr__(name: str) -> Any:
    # `uvicorn tend.usage.asgi:application` (the benchmark's --fast-path run) until
    # tend/asgi.py wraps its own application; built on first use, after Django is set up.
    global _application
    if name == "application":
        if _application is None:
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")
            from tend.asgi import application as tend_application

            _application = ingest_fast_path(tend_application)
        return _application
    raise AttributeError(name)
