"""A lean ASGI path for the tracking API: /ingest/v1/* without Django's request cycle.

Ingestion is the one endpoint hit hundreds of times a second by machines. Through
Django's ASGI handler each request also pays for three thread hops (the request
signals and the view), ten middlewares it does not need (sessions, CSRF, locale,
messages...) and a fresh request object: about as much CPU as storing 100 events.
This wrapper answers /ingest/v1/{batch,import,track,identify,group,page,screen,alias}
itself, with the very same code as the Django views (tend.usage.ingest), on long-lived
threads whose database connections are reused (Django opens one per request under
ASGI). Everything else goes to the wrapped application.

Two stages and group commit: the event loop queues each request; a reader thread
checks it on its own (key, limits, rate, messages: any refusal answers that request
alone) and passes it on; the writer takes every request read while it was busy (up to
GROUP_EVENTS events) and stores them in one transaction
(tend.usage.ingest_store.store_prepared). SQLite does its part without Python's GIL,
so reading the next requests overlaps storing the last ones. Every request is answered
only after the commit that holds its events. If the group's transaction fails, its
requests are stored again one by one, so one bad request cannot fail the others.

Wire it in tend/asgi.py: ``ProtocolTypeRouter({"http": ingest_fast_path(django_app)})``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import close_old_connections, connection
from django.http import HttpResponse, JsonResponse

if TYPE_CHECKING:
    from tend.usage.ingest_read import Prepared
    from tend.usage.ingest_store import WriterState

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

    @property
    def body(self) -> bytes:
        return self._body

    def read(self, size: int = -1) -> bytes:
        return self._body if size < 0 else self._body[:size]


# A group stops growing at this many events or GROUP_REQUESTS requests: bigger groups
# hold the write lock longer and gain little once the per-transaction costs are shared.
GROUP_EVENTS = 5000
GROUP_REQUESTS = 32


def _server_error() -> HttpResponse:
    return JsonResponse({"code": "server_error", "message": "Internal error."}, status=500)


@dataclass
class _Job:
    request: RawRequest
    call_type: str | None
    future: asyncio.Future[HttpResponse]
    loop: asyncio.AbstractEventLoop


def _prepare(request: RawRequest, call_type: str | None) -> Prepared | HttpResponse:
    from tend.usage.ingest import ingest_prepare

    try:
        return ingest_prepare(request, call_type)  # type: ignore[arg-type]
    except Exception:
        logger.exception("ingest failed")
        return _server_error()


def _store_alone(prepared: Prepared) -> HttpResponse:
    from tend.usage.ingest import store_prepared, success_response

    try:
        store_prepared([prepared])
    except Exception:
        logger.exception("ingest failed")
        if connection.in_atomic_block:  # pragma: no cover - atomic() cleans up
            connection.close()
        return _server_error()
    return success_response()


def store_group(
    group: Sequence[Prepared], *, count_now: bool = True, writer: WriterState | None = None
) -> list[HttpResponse]:
    """Store prepared requests in one transaction; if that fails, one by one, so one bad
    request cannot fail the others. One answer per request."""
    from tend.usage.ingest import store_prepared, success_response

    try:
        store_prepared(group, count_now=count_now, writer=writer)
    except Exception:
        logger.exception("ingest group failed; storing its requests one by one")
        if connection.in_atomic_block:  # pragma: no cover - atomic() cleans up
            connection.close()
        return [_store_alone(prepared) for prepared in group]
    return [success_response() for _prepared in group]


def handle_group(jobs: Sequence[tuple[RawRequest, str | None]]) -> list[HttpResponse]:
    """Answer a group of requests: each checked on its own, the accepted ones stored in
    one transaction (what the two stages of _Writers do, in one call)."""
    # What Django's request_started/request_finished do for the connection.
    close_old_connections()
    try:
        answers = [_prepare(request, call_type) for request, call_type in jobs]
        accepted = [(i, p) for i, p in enumerate(answers) if not isinstance(p, HttpResponse)]
        if accepted:
            stored = store_group([p for _i, p in accepted])
            for (index, _prepared), response in zip(accepted, stored, strict=True):
                answers[index] = response
        return [a if isinstance(a, HttpResponse) else _server_error() for a in answers]
    finally:
        close_old_connections()


def _resolve(future: asyncio.Future[HttpResponse], response: HttpResponse) -> None:
    if not future.done():  # the client may have gone away meanwhile
        future.set_result(response)


def _answer(job: _Job, response: HttpResponse) -> None:
    job.loop.call_soon_threadsafe(_resolve, job.future, response)


class _Writers:
    """Two stages on threads, started on the first ingest request.

    Preparers check and read each request as it arrives (key, limits, rate, messages);
    writers store everything prepared meanwhile in one transaction. Reading the next
    requests then overlaps storing the previous ones: SQLite does its work without
    Python's GIL, so the two stages use both cores.
    """

    def __init__(self, preparers: int, writers: int) -> None:
        self._preparers = preparers
        self._writers = writers
        self._incoming: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._ready: queue.SimpleQueue[tuple[_Job, Prepared]] = queue.SimpleQueue()
        self._started = False
        self._lock = threading.Lock()

    def submit(self, request: RawRequest, call_type: str | None) -> asyncio.Future[HttpResponse]:
        if not self._started:
            with self._lock:
                if not self._started:
                    for n in range(self._preparers):
                        threading.Thread(
                            target=self._prepare_run, name=f"tend-ingest-read-{n}", daemon=True
                        ).start()
                    for n in range(self._writers):
                        threading.Thread(
                            target=self._store_run, name=f"tend-ingest-write-{n}", daemon=True
                        ).start()
                    self._started = True
        loop = asyncio.get_running_loop()
        future: asyncio.Future[HttpResponse] = loop.create_future()
        self._incoming.put(_Job(request, call_type, future, loop))
        return future

    def _prepare_run(self) -> None:
        while True:
            job = self._incoming.get()
            close_old_connections()
            result = _prepare(job.request, job.call_type)
            if isinstance(result, HttpResponse):
                _answer(job, result)
            else:
                self._ready.put((job, result))

    def _store_run(self) -> None:
        from tend.usage.ingest_store import WriterState, rollups_catch_up

        name = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"
        # SQLite: counts and lookups kept between transactions (see ingest_store).
        state = WriterState(name=name[:100]) if connection.vendor == "sqlite" else None
        counted = time.monotonic()
        while True:
            # Under a steady stream, count into the rollups at most this often; when the
            # stream pauses as long, count what is left.
            every = max(0, int(getattr(settings, "TEND_INGEST_ROLLUP_EVERY_MS", 1000))) / 1000
            waiting = state is not None and bool(state.pending.backlog_ids)
            try:
                first = self._ready.get(timeout=every) if waiting else self._ready.get()
            except queue.Empty:
                try:
                    close_old_connections()
                    rollups_catch_up(state)
                except Exception:  # the backlog stays; the next count or the job retries
                    logger.exception("counting the rollup backlog failed")
                counted = time.monotonic()
                continue
            group = [first]
            events = len(first[1].rows)
            while len(group) < GROUP_REQUESTS and events < GROUP_EVENTS:
                try:
                    item = self._ready.get_nowait()
                except queue.Empty:
                    break
                group.append(item)
                events += len(item[1].rows)
            now = time.monotonic()
            count_now = now - counted >= every
            if count_now:
                counted = now
            if state is not None:
                state.remember_seconds = max(every, 0.001)
            try:
                close_old_connections()
                responses = store_group([p for _job, p in group], count_now=count_now, writer=state)
            except Exception:  # pragma: no cover - store_group answers every request
                logger.exception("ingest writer failed")
                responses = [_server_error() for _ in group]
            for (job, _prepared), response in zip(group, responses, strict=True):
                _answer(job, response)


def ingest_fast_path(app: ASGIApp) -> ASGIApp:
    """Call after Django is set up (tend/asgi.py: after get_asgi_application())."""
    from tend.usage.ingest import MAX_REQUEST_BYTES

    # SQLite takes one writer at a time: more writer threads would only queue on its lock.
    sqlite = connection.vendor == "sqlite"
    writers = _Writers(preparers=1 if sqlite else 2, writers=1 if sqlite else 4)

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
        response = await writers.submit(request, CALLS[call])
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
