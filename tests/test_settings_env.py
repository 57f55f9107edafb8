"""docs/settings.md documents every TEND_* variable that settings.py reads.

settings.py is the one place configuration enters; an operator should never have to
read it to learn that a knob exists.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS = ROOT / "src" / "tend" / "settings.py"
DOCS = ROOT / "docs" / "settings.md"


def variables_read_by_settings() -> set[str]:
    # Every read goes through env()/envbool()/envint() with the name as a literal.
    return set(re.findall(r"\benv\w*\(\s*\"(TEND_\w+)\"", SETTINGS.read_text()))


def test_settings_reads_variables_through_the_env_helpers() -> None:
    assert {"TEND_DATA_DIR", "TEND_DATABASE_URL", "TEND_REDIS_URL"} <= variables_read_by_settings()


def test_every_variable_is_documented_in_docs_settings() -> None:
    documented = set(re.findall(r"`(TEND_\w+)`", DOCS.read_text()))

    missing = variables_read_by_settings() - documented

    assert not missing, f"add these to docs/settings.md: {sorted(missing)}"
