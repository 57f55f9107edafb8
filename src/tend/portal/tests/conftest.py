from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _portal_isolation(settings, tmp_path):  # type: ignore[no-untyped-def]
    # Rate-limit counters live in the shared cache (Redis survives between tests)
    # and uploads must not land in the real data directory.
    cache.clear()
    settings.MEDIA_ROOT = tmp_path / "media"
    # The staff fixtures set passwords; the production hasher costs ~2 s a user.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    yield
    cache.clear()
