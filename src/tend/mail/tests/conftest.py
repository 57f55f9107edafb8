from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings


@pytest.fixture(autouse=True)
def _media(tmp_path: Path) -> Iterator[None]:
    # Raw messages and attachments are files; keep each test's in its own directory.
    with override_settings(MEDIA_ROOT=tmp_path / "media"):
        yield
