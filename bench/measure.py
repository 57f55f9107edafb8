"""Server-side timings for Tend's pages, in-process through Django's test Client.

The test Client runs the full request cycle (middleware, view, queries, template)
without a socket, so what is timed is the time the server spends on the request.
Each case is warmed up, then timed many times; p50 and p95 are reported with the SQL
query count of one request.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[rank]


def time_request(
    client: Client,
    url: str,
    *,
    iterations: int,
    max_seconds: float = 60.0,
    warmup: int = 3,
    check: Callable[[Any], None] | None = None,
) -> dict[str, Any]:
    """Time GET ``url``: ``iterations`` samples, or fewer (at least 5) if that would
    take longer than ``max_seconds``."""
    for _ in range(warmup):
        response = client.get(url)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url} answered {response.status_code}")
        if check is not None:
            check(response)
    with CaptureQueriesContext(connection) as captured:
        client.get(url)
    # Read now: captured_queries slices the connection's log, which a reconnect clears.
    queries = len(captured.captured_queries)
    samples: list[float] = []
    deadline = time.monotonic() + max_seconds
    while len(samples) < iterations and (len(samples) < 5 or time.monotonic() < deadline):
        started = time.perf_counter()
        client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
    return {
        "url": url,
        "n": len(samples),
        "p50_ms": round(statistics.median(samples), 1),
        "p95_ms": round(percentile(samples, 95), 1),
        "max_ms": round(max(samples), 1),
        "queries": queries,
    }
