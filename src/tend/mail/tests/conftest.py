from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings


@pytest.fixture(autouse=True)
def _media(tmp_path: Path) -> Iterator[None]:
    # Raw messages and attachments are files; keep each test's in its own directory.
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        yield


@pytest.fixture(scope="session")
def dovecot() -> Iterator[object]:
    """A private Dovecot IMAP server for this test process (see tests/dovecot.py)."""
    from tend.mail.tests.dovecot import DOVECOT, dovecot_start

    if not DOVECOT.exists():
        pytest.skip(f"{DOVECOT} is not installed (Debian package dovecot-imapd)")
    server = dovecot_start()
    yield server
    server.stop()
