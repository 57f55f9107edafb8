"""Write keys: hashing and the per-process lookup ingestion uses on every request.

Only a key's SHA-256 is stored. Ingestion reads every key's (id, revoked) once per
``CACHE_SECONDS`` per process instead of querying per request; a revoke in this process
is seen at once (ProcessCache forgets on the WriteKey save), in other processes within
``CACHE_SECONDS``. A key created in another process is found by a direct query on a
cache miss, so a new key works at once everywhere.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import NamedTuple

from tend.core.process_cache import ProcessCache
from tend.usage.models import WriteKey

CACHE_SECONDS = 5.0
KEY_BYTES = 32
KEY_PREFIX = "tk_"
PREFIX_LENGTH = 10


class KeyState(NamedTuple):
    id: int
    revoked: bool


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def key_generate() -> str:
    """A new random key (256 bits, URL-safe; the prefix says what it is in logs)."""
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def _load() -> dict[str, KeyState]:
    return {
        digest: KeyState(pk, revoked_at is not None)
        for pk, digest, revoked_at in WriteKey.objects.values_list("pk", "key_hash", "revoked_at")
    }


_keys: ProcessCache[dict[str, KeyState]] = ProcessCache(
    "usage.writekeys", _load, ttl=CACHE_SECONDS, watch=[WriteKey]
)


def key_known(key: str) -> KeyState | None:
    """``key_lookup`` from this process's memory only; None when that would need a
    query (not loaded lately, or not found there)."""
    if not key or len(key) > 200:
        return None
    keys = _keys.peek()
    return None if keys is None else keys.get(key_hash(key))


def key_lookup(key: str) -> KeyState | None:
    """The key's id and whether it is revoked; None for a key Tend never issued."""
    if not key or len(key) > 200:
        return None
    digest = key_hash(key)
    state = _keys.get().get(digest)
    if state is not None:
        return state
    row = WriteKey.objects.filter(key_hash=digest).values_list("pk", "revoked_at").first()
    return None if row is None else KeyState(row[0], row[1] is not None)
