from __future__ import annotations

import base64
import gzip
import json
from typing import Any

import pytest
from django.test import Client

from tend.usage.models import WriteKey
from tend.usage.services import writekey_create


@pytest.fixture
def write_key(db: None) -> tuple[WriteKey, str]:
    return writekey_create(actor=None, name="Product")


class Ingest:
    """Posts to /ingest/v1/… the way a Segment library does (Basic auth by default)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.client = Client()

    def post(
        self,
        call: str,
        body: Any,
        *,
        auth: str = "basic",
        gzipped: bool = False,
        raw: bytes | None = None,
    ) -> Any:
        headers: dict[str, str] = {}
        if auth == "basic":
            token = base64.b64encode(f"{self.key}:".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif auth == "bearer":
            headers["Authorization"] = f"Bearer {self.key}"
        elif auth == "body" and isinstance(body, dict):
            body = {**body, "writeKey": self.key}
        data = raw if raw is not None else json.dumps(body).encode()
        if gzipped:
            data = gzip.compress(data)
            headers["Content-Encoding"] = "gzip"
        return self.client.post(
            f"/ingest/v1/{call}", data=data, content_type="application/json", headers=headers
        )


@pytest.fixture
def ingest(write_key: tuple[WriteKey, str]) -> Ingest:
    return Ingest(write_key[1])


@pytest.fixture(autouse=True)
def _fresh_rate_meters() -> None:
    # Key ids repeat between tests (rolled back); the per-process meters must not.
    from tend.usage import ingest

    ingest._meters.clear()


@pytest.fixture(autouse=True)
def _count_every_transaction(settings: Any) -> None:
    # The fast path's writer thread outlives a test; counting per transaction lets a
    # test read rollups right after its request was answered. Deferred counting has
    # its own tests (test_rollup_backlog.py).
    settings.TEND_INGEST_ROLLUP_EVERY_MS = 0
