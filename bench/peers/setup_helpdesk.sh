#!/usr/bin/env bash
# Create bench/peers/helpdesk-venv with django-helpdesk from PyPI, for bench/run.py.
# The virtualenv is git-ignored; this script and helpdesk_project/ are ours.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/helpdesk-venv"
version="${HELPDESK_VERSION:-2.6.1}"

# django-helpdesk 2.6 supports Python >= 3.10; prefer the same 3.13 Tend runs on.
python=""
for candidate in "env PYENV_VERSION=3.13.0 python3.13" python3.13 python3.12 python3; do
  if $candidate -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' >/dev/null 2>&1; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "setup_helpdesk.sh: no Python >= 3.10 found" >&2; exit 1
fi

rm -rf "$venv"
$python -m venv "$venv"
"$venv/bin/pip" install -q --upgrade pip
# Its migrations depend on pinax-teams, so the "teams" extra is needed even unused.
"$venv/bin/pip" install -q "django-helpdesk[teams]==$version"
"$venv/bin/python" -c 'import django, helpdesk; print("django-helpdesk ready with Django", django.get_version())'
