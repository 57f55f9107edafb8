"""Check (or, with --make, refresh) the Simplified Chinese catalogues.

`python -m tend.core.i18n_check` fails when a catalogue has an untranslated or
fuzzy entry, a stale .mo, or is missing a string the code marks for translation
(makemessages is run on a copy of the source to find those), so "every string has a
zh-Hans translation" is enforced by CI. `--make` runs makemessages for every app and
compiles the .mo files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def catalogues() -> list[Path]:
    return sorted(ROOT.glob("*/locale/zh_Hans/LC_MESSAGES/django.po")) + sorted(
        ROOT.glob("locale/zh_Hans/LC_MESSAGES/django.po")
    )


def check() -> int:
    import polib  # type: ignore[import-not-found]

    problems = 0
    for po_path in catalogues():
        po = polib.pofile(str(po_path))
        for entry in po:
            if entry.obsolete:
                continue
            missing = not entry.msgstr and not any(entry.msgstr_plural.values())
            if missing or "fuzzy" in entry.flags:
                problems += 1
                print(f"{po_path.relative_to(ROOT)}: untranslated: {entry.msgid!r}")
        # Compare contents, not modification times: a fresh clone gives every file
        # the time of checkout.
        mo_path = po_path.with_suffix(".mo")
        wanted = {e.msgid: e.msgstr or e.msgstr_plural.get(0, "") for e in po.translated_entries()}
        compiled = (
            {e.msgid: e.msgstr or e.msgstr_plural.get(0, "") for e in polib.mofile(str(mo_path))}
            if mo_path.exists()
            else {}
        )
        if any(compiled.get(msgid) != msgstr for msgid, msgstr in wanted.items()):
            problems += 1
            print(f"{po_path.relative_to(ROOT)}: .mo missing or out of date (run make messages)")
    return 1 if problems else 0


def not_in_catalogues() -> int:
    """Strings marked in the code that no catalogue has yet (a catalogue only learns of
    new strings when makemessages runs): makemessages on a copy, compared. Returns how
    many there are."""
    import polib

    if shutil.which("xgettext") is None:
        # makemessages needs GNU gettext. .ci/run installs it (and sets CI), so CI always
        # checks; a developer machine without it still runs the rest of make test.
        print("xgettext not found (install gettext): strings not yet in a catalogue unchecked")
        return 1 if os.environ.get("CI") else 0
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "tend"
        shutil.copytree(
            ROOT, copy, ignore=shutil.ignore_patterns("__pycache__", "*.mo", "static", "tests")
        )
        try:
            _makemessages(copy, quiet=True)
        except subprocess.CalledProcessError as failed:
            print(f"makemessages failed:\n{failed.stderr.decode(errors='replace')}")
            return 1
        problems = 0
        for fresh in sorted(copy.glob("*/locale/zh_Hans/LC_MESSAGES/django.po")):
            real = ROOT / fresh.relative_to(copy)
            # With the plural: a string that became ngettext needs its plural translated.
            known = {(e.msgctxt, e.msgid, e.msgid_plural) for e in polib.pofile(str(real))}
            for entry in polib.pofile(str(fresh)):
                if entry.obsolete or (entry.msgctxt, entry.msgid, entry.msgid_plural) in known:
                    continue
                problems += 1
                context = f" (context {entry.msgctxt!r})" if entry.msgctxt else ""
                print(
                    f"{real.relative_to(ROOT)}: not in the catalogue: {entry.msgid!r}{context} "
                    "(run make messages)"
                )
    return problems


def _makemessages(root: Path, *, quiet: bool = False) -> None:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tend.settings"}
    for app_dir in sorted(p for p in root.iterdir() if (p / "apps.py").exists()):
        if not (app_dir / "locale").exists():
            continue
        # Run through the `tend` script, not `python -m django`: with the app folder as
        # the working directory its html.py / selectors.py would shadow the stdlib.
        subprocess.run(  # noqa: S603 - fixed argv, no user input
            [
                str(Path(sys.executable).with_name("tend")),
                "makemessages",
                "-l",
                "zh_Hans",
                "--no-obsolete",
                "-i",
                "tests/*",
            ],
            cwd=app_dir,
            env=env,
            check=True,
            # The check prints makemessages' errors itself; `make messages` shows them.
            capture_output=quiet,
        )


def make() -> int:
    _makemessages(ROOT)
    import polib

    for po_path in catalogues():
        polib.pofile(str(po_path)).save_as_mofile(str(po_path.with_suffix(".mo")))
    return check()


if __name__ == "__main__":
    if "--make" in sys.argv:
        sys.exit(make())
    untranslated, missing = check(), not_in_catalogues()  # both, so one run shows all
    sys.exit(1 if untranslated or missing else 0)
