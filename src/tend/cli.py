"""The `tend` console script: Tend's own commands plus every Django management command."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tend.settings")
    from django.core.management import execute_from_command_line

    args = list(sys.argv if argv is None else ["tend", *argv])
    execute_from_command_line(args)


if __name__ == "__main__":
    main()
