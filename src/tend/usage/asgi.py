"""A lean ASGI path for the tracking API: /ingest/v1/* without Django's request cycle.

Ingestion is the one endpoint hit hundreds of times a second by machines. Through
Django's ASGI handler each request also pays for three thread hops (the request
signals and the view), ten middlewares it does not need (sessions, CSRF, locale,
messages...) and a fresh request object: about as much CPU as storing 100 events.
This wrapper answers /ingest/v1/{batch,import,track,identify,group,page,screen,alias}
itself, with the very same code as the Django views (tend.usage.ingest), on long-lived
threads whose database connections are reused (Django opens one per request under
ASGI). Everything else goes to the wrapped application.

Reading, then group commit. The common batch (a known key, no charge due to the shared
rate limiter) is read on the event loop itself (``ingest_prepare_quick``); anything else
goes to a reader thread, which checks it on its own (key, limits, rate, messages: any
refusal answers that request alone). The writer takes every request read while it was
busy (up to GROUP_EVENTS events) and stores them in one transaction
(tend.usage.ingest_store.store_prepared). SQLite does its part without Python's GIL, so
reading the next requests overlaps storing the last ones. If the group's transaction
fails, its requests are stored again one by one, so one bad request cannot fail the
others.

When is a request answered? On SQLite (a database file), once it is read and appended
to the ingest journal (tend.usage.ingest_journal), at most EARLY_REQUESTS ahead of the
writer: each client sends its next batch only after the answer, and waiting for the
commit left the server idle between round trips. Otherwise (PostgreSQL, or the writer
that far behind), after the commit that holds its events. A server stopping normally
stores what it answered first (``lifespan``).

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

from tend.usage.ingest_journal import Entry, Journal, Segment, journal_folder

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
# With a journal, requests answered before they are stored, at most (see _Writers).
EARLY_REQUESTS = 64
# Batches up to this size are read on the event loop (see application below): about
# 400 events, 2 ms of the loop's time.
INLINE_BYTES = 128 * 1024
# How often an idle writer looks for journal segments left by stopped processes.
RECOVER_SECONDS = 60.0


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
    from tend.usage.ingest import store_prepared

    try:
        store_prepared(group, count_now=count_now, writer=writer)
    except Exception:
        logger.exception("ingest group failed; storing its requests one by one")
        if connection.in_atomic_block:  # pragma: no cover - atomic() cleans up
            connection.close()
        return [_store_alone(prepared) for prepared in group]
    return [_success() for _prepared in group]


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
    """Reader and writer threads, started on the first ingest request.

    Preparers check and read the requests the event loop did not (key, limits, rate,
    messages); writers store everything read meanwhile in one transaction. Reading the
    next requests then overlaps storing the previous ones: SQLite does its work without
    Python's GIL.

    With a journal (SQLite), a request read is appended to it and answered at once, at
    most EARLY_REQUESTS ahead of the writer; the writer stores it with the next group
    (see tend.usage.ingest_journal). Without one, or that far behind, a request is
    answered after its commit.
    """

    def __init__(self, preparers: int, writers: int, journal: Journal | None = None) -> None:
        self._preparers = preparers
        self._writers = writers
        self._journal = journal
        self._incoming: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        # (the request's answer, or None: answered already; read; journal ticket); None
        # instead asks a writer to write the counts it keeps in memory (see drain).
        self._ready: queue.SimpleQueue[tuple[_Job | None, Prepared, Segment | None] | None] = (
            queue.SimpleQueue()
        )
        self._started = False
        self._lock = threading.Lock()
        self._ahead = threading.BoundedSemaphore(EARLY_REQUESTS)
        self._draining = False
        # Requests submitted and not yet answered with an error or stored.
        self._unfinished = 0
        self._finished = threading.Condition()

    def _start(self) -> None:
        if self._started:
            return
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
                _started_writers.append(self)
                self._started = True

    def submit(self, request: RawRequest, call_type: str | None) -> asyncio.Future[HttpResponse]:
        """A request to check, read and store (on the threads); its answer."""
        self._start()
        loop = asyncio.get_running_loop()
        future: asyncio.Future[HttpResponse] = loop.create_future()
        with self._finished:
            self._unfinished += 1
        self._incoming.put(_Job(request, call_type, future, loop))
        return future

    def take(self, request: RawRequest, prepared: Prepared) -> asyncio.Future[HttpResponse] | None:
        """A request read on the event loop (ingest_prepare_quick), to store: None when
        it is journaled and may be answered 200 now, else the answer after its commit."""
        self._start()
        with self._finished:
            self._unfinished += 1
        ticket = self._journal_early(prepared)
        if ticket is not None:
            self._ready.put((None, prepared, ticket))
            return None
        loop = asyncio.get_running_loop()
        future: asyncio.Future[HttpResponse] = loop.create_future()
        self._ready.put((_Job(request, None, future, loop), prepared, None))
        return future

    def _journal_early(self, prepared: Prepared) -> Segment | None:
        """Journal the request if it may be answered before it is stored (there is a
        journal, and the writer is not EARLY_REQUESTS behind); its ticket, or None."""
        if self._journal is None or not self._ahead.acquire(False):
            return None
        try:
            return self._journal.append(
                Entry(prepared.write_key_id, prepared.received, prepared.call_type, prepared.body)
            )
        except Exception:
            logger.exception("the ingest journal failed; answering after the commit")
            self._ahead.release()
            return None

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every request submitted is answered and stored, and its activity
        counted into the rollups; False on timeout."""
        with self._finished:
            self._unfinished += 1
        # From now on the writer counts every group at once: nothing may stay in its
        # memory when the process exits.
        self._draining = True
        self._ready.put(None)
        with self._finished:
            done = self._finished.wait_for(lambda: self._unfinished == 0, timeout)
        if done and self._journal is not None:
            self._journal.close()
        return done

    def _finish(self, count: int) -> None:
        with self._finished:
            self._unfinished -= count
            if not self._unfinished:
                self._finished.notify_all()

    def _prepare_run(self) -> None:
        while True:
            job = self._incoming.get()
            close_old_connections()
            result = _prepare(job.request, job.call_type)
            if isinstance(result, HttpResponse):
                _answer(job, result)
                self._finish(1)
                continue
            ticket = self._journal_early(result)
            # Queued before it is answered: the client's next request must not be
            # stored ahead of this one.
            self._ready.put((job, result, ticket))
            if ticket is not None:
                _answer(job, _success())

    def _settle(self, job: _Job | None, ticket: Segment | None, response: HttpResponse) -> None:
        """After storing: answer the request, or (answered already) mark it stored."""
        if ticket is None:
            assert job is not None
            _answer(job, response)
            return
        stored = response.status_code == 200
        if not stored:
            logger.error(
                "a request answered 200 could not be stored; its journal segment is kept "
                "and stored again by the recovery"
            )
        try:
            assert self._journal is not None
            self._journal.done(ticket, stored=stored)
        finally:
            self._ahead.release()

    def _store_run(self) -> None:
        from tend.usage.ingest_journal import journal_recover
        from tend.usage.ingest_store import WriterState, rollups_catch_up

        name = f"{socket.gethostname()}:{os.getpid()}:{threading.current_thread().name}"
        # SQLite: counts and lookups kept between transactions (see ingest_store).
        state = WriterState(name=name[:100]) if connection.vendor == "sqlite" else None
        counted = time.monotonic()
        recovered = float("-inf")  # at start, then every RECOVER_SECONDS while idle
        while True:
            if self._journal is not None and time.monotonic() - recovered >= RECOVER_SECONDS:
                # Segments left by a process that stopped (at start, then while idle).
                try:
                    close_old_connections()
                    journal_recover()
                except Exception:  # the segments stay; the next round or the job retries
                    logger.exception("recovering the ingest journal failed")
                recovered = time.monotonic()
            # Under a steady stream, count into the rollups at most this often; when the
            # stream pauses as long, count what is left.
            every = max(0, int(getattr(settings, "TEND_INGEST_ROLLUP_EVERY_MS", 1000))) / 1000
            waiting = state is not None and bool(state.pending.backlog_ids)
            timeout = every if waiting else RECOVER_SECONDS if self._journal else None
            try:
                first = self._ready.get(timeout=timeout)
                draining = first is None
            except queue.Empty:
                first, draining = None, False
                if not waiting:
                    continue
            if first is None:  # a pause in the stream, or drain()
                try:
                    close_old_connections()
                    rollups_catch_up(state)
                except Exception:  # the backlog stays; the next count or the job retries
                    logger.exception("counting the rollup backlog failed")
                counted = time.monotonic()
                if draining:
                    self._finish(1)
                continue
            group = [first]
            events = len(first[1].rows)
            while len(group) < GROUP_REQUESTS and events < GROUP_EVENTS:
                try:
                    item = self._ready.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._ready.put(None)  # after this group
                    break
                group.append(item)
                events += len(item[1].rows)
            now = time.monotonic()
            count_now = now - counted >= every or self._draining
            if count_now:
                counted = now
            if state is not None:
                state.remember_seconds = max(every, 0.001)
            try:
                close_old_connections()
                responses = store_group(
                    [p for _job, p, _t in group], count_now=count_now, writer=state
                )
            except Exception:  # pragma: no cover - store_group answers every request
                logger.exception("ingest writer failed")
                responses = [_server_error() for _ in group]
            for (job, _prepared, ticket), response in zip(group, responses, strict=True):
                try:
                    self._settle(job, ticket, response)
                except Exception:  # the writer must go on: every other request waits on it
                    logger.exception("answering an ingest request failed")
            self._finish(len(group))


_started_writers: list[_Writers] = []


def ingest_drain(timeout: float = 10.0) -> bool:
    """Store and count everything this process answered; False if that took longer
    than ``timeout`` (the journal's recovery stores the rest later)."""
    return all([writers.drain(timeout) for writers in _started_writers])


async def lifespan(scope: Scope, receive: Receive, send: Send) -> None:
    """ASGI lifespan: a server stopping normally (SIGTERM, Ctrl-C) stores what it
    answered before it exits; a process killed leaves that to the journal's recovery."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await asyncio.to_thread(ingest_drain)
            await send({"type": "lifespan.shutdown.complete"})
            return


_SUCCESS: HttpResponse | None = None


def _success() -> HttpResponse:
    """One shared 200 answer: the fast path only reads it (see _start_message)."""
    global _SUCCESS
    if _SUCCESS is None:
        from tend.usage.ingest import success_response

        _SUCCESS = success_response()
    return _SUCCESS


def _start_message(response: HttpResponse) -> dict[str, Any]:
    headers = [
        (name.lower().encode("latin-1"), str(value).encode("latin-1"))
        for name, value in response.items()
    ]
    headers.append((b"content-length", str(len(response.content)).encode()))
    return {"type": "http.response.start", "status": response.status_code, "headers": headers}


def ingest_fast_path(app: ASGIApp) -> ASGIApp:
    """Call after Django is set up (tend/asgi.py: after get_asgi_application())."""
    from tend.usage.ingest import MAX_REQUEST_BYTES, ingest_prepare_quick

    # SQLite takes one writer at a time: more writer threads would only queue on its lock.
    sqlite = connection.vendor == "sqlite"
    folder = journal_folder() if getattr(settings, "TEND_INGEST_JOURNAL", True) else None
    writers = _Writers(
        preparers=1 if sqlite else 2,
        writers=1 if sqlite else 4,
        journal=Journal(folder) if folder is not None else None,
    )
    success = _success()
    success_start = _start_message(success)
    success_close = dict(success_start, headers=[*success_start["headers"], _CLOSE])
    recycle = _workers() > 1
    opened: dict[tuple[str, int], float] = {}

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
        # The common batch is read right here: arrival, reading and (while the writer is
        # busy) the answer without a thread hop; each hop waited on Python's GIL for
        # about a millisecond. Anything else, and big batches, go to the reader thread.
        prepared = (
            ingest_prepare_quick(request, CALLS[call])  # type: ignore[arg-type]
            if size <= INLINE_BYTES
            else None
        )
        if prepared is not None:
            future = writers.take(request, prepared)
            response = success if future is None else await future
        else:
            response = await writers.submit(request, CALLS[call])
        if response is success:
            if recycle and _recycle(opened, scope.get("client")):
                await send(success_close)
            else:
                await send(success_start)
        else:
            await send(_start_message(response))
            if response.status_code >= 400:
                # uvicorn's access log is off (tend web): refusals are worth a line.
                logger.info(
                    '%s - "%s %s" %d', client[0], request.method, path, response.status_code
                )
        await send({"type": "http.response.body", "body": response.content})

    return application


_CLOSE = (b"connection", b"close")
# With several worker processes on one port, a few clients' keep-alive connections can
# land unevenly: the kernel gives each to whichever process accepts first, and with
# four clients and two workers all four share one process one time in eight. Closing an
# ingest connection after RECYCLE_SECONDS spreads them again: the client reconnects
# (Segment's libraries do so without a word), and the busier process is the less likely
# to accept.
RECYCLE_SECONDS = 1.0


def _workers() -> int:
    try:
        return int(os.environ.get("TEND_WEB_WORKERS", "1"))
    except ValueError:
        return 1


def _recycle(opened: dict[tuple[str, int], float], client: Any) -> bool:
    """Whether to close this connection after the answer (see RECYCLE_SECONDS)."""
    if not client:
        return False
    key = (client[0], client[1])
    now = time.monotonic()
    first = opened.setdefault(key, now)
    if now - first <= RECYCLE_SECONDS:
        return False
    del opened[key]
    if len(opened) > 10_000:  # connections the clients closed themselves
        opened.clear()
    return True


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
