"""A fixed-window rate limiter kept in Django's shared cache.

The cache is the database (embedded) or Redis (scaled out), so every web process
counts against the same numbers; a per-process counter would let N processes
accept N times the limit.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

KEY_PREFIX = "tend:rl:"


@dataclass(frozen=True, slots=True)
class RateLimitResult:
    allowed: bool
    # Seconds until the current window ends and a new attempt may succeed; 0 when allowed.
    retry_after: int
    count: int = 0


def rate_limit_hit(
    key: str, limit: int, window_seconds: int, *, now: float | None = None
) -> RateLimitResult:
    """Count one attempt for ``key`` and say whether it is within ``limit`` per window.

    Windows are aligned to multiples of ``window_seconds`` so that every process
    agrees on which bucket an attempt falls in without sharing a clock start.
    A refused attempt still counts, so hammering does not shorten the wait.
    """
    if window_seconds <= 0:
        raise ValueError("window_seconds must be positive")
    if limit <= 0:
        # A limit of zero switches the action off entirely.
        return RateLimitResult(allowed=False, retry_after=window_seconds)
    moment = time.time() if now is None else now
    window_index = int(moment // window_seconds)
    window_end = (window_index + 1) * window_seconds
    # Hash the caller's key: emails and IPv6 addresses hold characters some cache
    # backends reject, and the database cache caps key length.
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    bucket = f"{KEY_PREFIX}{digest}:{window_seconds}:{window_index}"
    # add() only writes when the key is absent (atomic on Redis, INSERT on the
    # database), and incr() is atomic on Redis; the database cache's read-modify-write
    # can lose a count under a race, which errs by one at worst — acceptable here.
    # The timeout outlives the window slightly so the key cannot expire between
    # add() and incr() within the window.
    cache.add(bucket, 0, timeout=window_seconds + 5)
    try:
        count = cache.incr(bucket)
    except ValueError:
        # Evicted between add() and incr(): start the bucket over with this attempt.
        cache.set(bucket, 1, timeout=window_seconds + 5)
        count = 1
    if count <= limit:
        return RateLimitResult(allowed=True, retry_after=0, count=count)
    return RateLimitResult(
        allowed=False, retry_after=max(1, math.ceil(window_end - moment)), count=count
    )


def client_ip(request: HttpRequest) -> str:
    """The address a request came from, for per-client limits.

    X-Forwarded-For is only believed for as many hops as the operator says there
    are trusted proxies (TEND_TRUSTED_PROXY_COUNT); otherwise any client could
    claim a fresh address per request and walk past the limit.
    """
    remote = str(request.META.get("REMOTE_ADDR", "") or "")
    proxies = int(getattr(settings, "TEND_TRUSTED_PROXY_COUNT", 0) or 0)
    if proxies <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in str(request.META.get("HTTP_X_FORWARDED_FOR", "")).split(",")
        if part.strip()
    ]
    if len(forwarded) >= proxies:
        # Each trusted proxy appends the address it saw; the one our outermost
        # trusted proxy saw is the client's.
        return forwarded[-proxies]
    return remote
