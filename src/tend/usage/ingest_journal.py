"""The ingest journal: requests answered 200 before they are stored (SQLite).

On the embedded default one writer stores the events of a process, and a request
answered only after the commit that holds it waits for that writer: with a handful of
clients, each sending its next batch only after the answer, the server idled between
their round trips (bench/usage_ingest.py). So a request is answered as soon as it has
been read and appended here, and the writer stores it a moment later (at most
tend.usage.asgi.EARLY_REQUESTS behind; past that, requests wait for their commit). An
append is one ``write`` of the body to a file: it survives the process being killed, as
a commit does with SQLite's ``synchronous=NORMAL`` (neither survives a power cut
without an fsync). Segment's own API answers the same way: accepted, not yet in the
warehouse. A client that reads its events back may find them a few milliseconds later.

Files. Each process appends to its own segment files in a folder next to the database
(``tend.sqlite3-ingest/``) and holds an exclusive ``flock`` on each while it is open. A
segment holds only requests not stored yet: the current one is emptied whenever
everything in it is stored, a full one (SEGMENT_BYTES) is deleted once it is. A segment
nobody holds was left by a process that stopped: ``journal_recover`` stores its
requests, oldest segment first (at a writer's start, every minute while it idles, and in
the ``rollups_catch_up`` job) and deletes it. Storing is idempotent — one event per
messageId, rollups count only inserted rows, drops are not recorded twice — so a request
stored before the crash and again from its segment changes nothing. A request that
cannot be stored even on its own goes to a ``.failed`` file next to its segment.

Record: a fixed header (magic, body length, key id, time received in microseconds, call,
CRC-32 of the body), then the body as read (decompressed). A record cut short by a crash
mid-append, or one whose CRC does not match, ends the segment's reading: it was never
answered.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

MAGIC = b"TJ1\n"
_HEADER = struct.Struct("<4sIQqBI")  # magic, body length, key id, received µs, call, crc
# A new segment after this many bytes: an old one is deleted as soon as it is stored.
SEGMENT_BYTES = 16 * 1024 * 1024
SUFFIX = ".journal"
CALLS: tuple[str | None, ...] = (None, "track", "identify", "group", "page", "screen", "alias")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Entry:
    """One accepted request, as journaled."""

    write_key_id: int
    received: datetime
    call_type: str | None
    body: bytes


def _micros(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def _from_micros(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def _header(entry: Entry) -> bytes:
    return _HEADER.pack(
        MAGIC,
        len(entry.body),
        entry.write_key_id,
        _micros(entry.received),
        CALLS.index(entry.call_type),
        zlib.crc32(entry.body),
    )


def _record(entry: Entry) -> bytes:
    return _header(entry) + entry.body


class Segment:
    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.size = 0
        self.outstanding = 0
        self.closed = False  # no more appends
        self.kept = False  # a request in it failed to store: leave it for recovery


class Journal:
    """One process's journal: appends from the reader, ``done`` from the writer."""

    def __init__(self, folder: Path, *, segment_bytes: int = SEGMENT_BYTES) -> None:
        self.folder = folder
        self.segment_bytes = segment_bytes
        host = socket.gethostname().replace("-", "_")[:40]
        self._prefix = f"{host}-{os.getpid()}-{time.time_ns()}"
        self._lock = threading.Lock()
        self._current: Segment | None = None
        self._count = 0

    def append(self, entry: Entry) -> Segment:
        """Write the request; the ticket returned is handed back to ``done``."""
        header = _header(entry)
        with self._lock:
            segment = self._current
            if segment is None or segment.size >= self.segment_bytes:
                if segment is not None:
                    segment.closed = True
                    self._forget_if_done(segment)
                segment = self._current = self._open()
            try:
                written = os.writev(segment.fd, [header, entry.body])
                if written != len(header) + len(entry.body):
                    raise OSError("the ingest journal could not be written in full")
            except OSError:
                # A disk full mid-record: cut the torn bytes off, or every record
                # appended after them would be unreadable.
                os.ftruncate(segment.fd, segment.size)
                raise
            segment.size += written
            segment.outstanding += 1
            return segment

    def done(self, ticket: Segment, *, stored: bool = True) -> None:
        """The request is stored (or, ``stored=False``, failed: keep it for recovery).

        A segment holds only requests not stored yet: once all of them are, the current
        one is emptied (bodies are personal data, and a recovery would replay them), and
        a failed request's segment is closed, so the recovery can take it as soon as the
        rest of it is stored."""
        with self._lock:
            ticket.outstanding -= 1
            if not stored:
                ticket.kept = True
                if ticket is self._current:
                    ticket.closed = True
                    self._current = None
            elif ticket is self._current and not ticket.outstanding and not ticket.kept:
                os.ftruncate(ticket.fd, 0)
                ticket.size = 0
            self._forget_if_done(ticket)

    def close(self) -> None:
        """Close the current segment (deleted now if every request in it is stored)."""
        with self._lock:
            if self._current is not None:
                self._current.closed = True
                self._forget_if_done(self._current)
                self._current = None

    def _open(self) -> Segment:
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._count += 1
        name = f"{self._prefix}-{self._count:06d}"
        # Locked under a temporary name, then renamed: recovery never sees a segment
        # its writer has not locked yet.
        temporary = self.folder / f"{name}.new"
        fd = os.open(temporary, os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        path = self.folder / f"{name}{SUFFIX}"
        os.rename(temporary, path)
        return Segment(path, fd)

    def _forget_if_done(self, segment: Segment) -> None:
        if segment.fd < 0 or not segment.closed or segment.outstanding:
            return
        if not segment.kept:
            segment.path.unlink(missing_ok=True)
        # A kept segment's lock goes with its descriptor: recovery may take it now.
        os.close(segment.fd)
        segment.fd = -1


def read_segment(path: Path) -> Iterator[Entry]:
    """The complete records of a segment, in order."""
    with path.open("rb") as handle:
        while True:
            header = handle.read(_HEADER.size)
            if len(header) < _HEADER.size:
                return
            magic, length, key_id, micros, call, crc = _HEADER.unpack(header)
            if magic != MAGIC or call >= len(CALLS):
                logger.error("ingest journal %s: unreadable record; the rest is skipped", path)
                return
            body = handle.read(length)
            if len(body) < length or zlib.crc32(body) != crc:
                return  # cut short by a crash before it was answered
            yield Entry(key_id, _from_micros(micros), CALLS[call], body)


def _age_order(path: Path) -> tuple[int, int]:
    """Segments in the order they were started (names: host-pid-time_ns-count)."""
    try:
        _host, _pid, started, count = path.stem.rsplit("-", 3)
        return int(started), int(count)
    except ValueError:
        return 0, 0


def orphans(folder: Path) -> Iterator[tuple[Path, int]]:
    """Segments no running process holds, oldest first, each locked for the caller
    (path, fd); the caller deletes the file and closes the fd."""
    if not folder.is_dir():
        return
    for path in folder.glob("*.new"):
        # A process stopped between creating a segment and naming it: nothing was
        # appended to it (appends follow the rename).
        _remove_if_unlocked(path)
    for path in sorted(folder.glob(f"*{SUFFIX}"), key=_age_order):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            continue
        except OSError:
            logger.exception("ingest journal %s cannot be opened", path.name)
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)  # its writer is alive
            continue
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False  # recovered and deleted meanwhile by someone else
        if not same:
            os.close(fd)
            continue
        yield path, fd


def _remove_if_unlocked(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        path.unlink(missing_ok=True)
    except OSError:
        pass  # being created right now
    finally:
        os.close(fd)


def journal_folder() -> Path | None:
    """Where this database's ingest journal lives: next to the SQLite file. None where
    requests are answered only after their commit (PostgreSQL, an in-memory SQLite)."""
    from tend.usage.ingest_store import sqlite_file

    database = sqlite_file()
    return None if database is None else Path(database + "-ingest")


# A recovery stores this many events per transaction, like the writer's groups.
RECOVER_GROUP_EVENTS = 5000


def journal_recover(folder: Path | None = None) -> int:
    """Store the requests of segments left by processes that stopped, oldest first;
    return how many. ``folder``: this database's journal unless given.

    A request that cannot be stored even on its own is moved to a ``.failed`` file in
    the folder (same format; rename it to ``.journal`` to try again) and logged, so one
    bad request does not hold back the others or come back every minute."""
    from tend.usage.ingest import ingest_reread
    from tend.usage.ingest_read import Prepared

    folder = folder or journal_folder()
    if folder is None:
        return 0
    recovered = 0
    for path, fd in orphans(folder):
        try:
            group: list[tuple[Entry, Prepared]] = []
            events = 0
            for entry in read_segment(path):
                prepared = ingest_reread(
                    body=entry.body,
                    call_type=entry.call_type,
                    write_key_id=entry.write_key_id,
                    received=entry.received,
                )
                group.append((entry, prepared))
                events += len(prepared.rows) + len(prepared.drops)
                if events >= RECOVER_GROUP_EVENTS:
                    recovered += _store_recovered(group, path)
                    group, events = [], 0
            if group:
                recovered += _store_recovered(group, path)
            path.unlink(missing_ok=True)
            logger.info("ingest journal %s: stored again and removed", path.name)
        except Exception:
            logger.exception("ingest journal %s could not be recovered; kept", path.name)
        finally:
            os.close(fd)
    return recovered


def _store_recovered(group: list[tuple[Entry, Any]], path: Path) -> int:
    """Store recovered requests in one transaction, else one by one; return how many
    were stored (the others go to the .failed file)."""
    from tend.usage.ingest_store import store_prepared

    try:
        store_prepared([prepared for _entry, prepared in group], again=True)
        return len(group)
    except Exception:
        logger.exception("ingest journal %s: a group failed; storing one by one", path.name)
    stored = 0
    for entry, prepared in group:
        try:
            store_prepared([prepared], again=True)
            stored += 1
        except Exception:
            logger.exception(
                "ingest journal %s: a request from key %s received %s cannot be stored; kept in %s",
                path.name,
                entry.write_key_id,
                entry.received.isoformat(),
                path.with_suffix(".failed").name,
            )
            _append_failed(path.with_suffix(".failed"), entry)
    return stored


def _append_failed(path: Path, entry: Entry) -> None:
    fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, _record(entry))
    finally:
        os.close(fd)
