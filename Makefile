# Tend: `make demo` runs it with demo data, `make test` runs every test.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
TEND := $(VENV)/bin/tend
export TEND_DATA_DIR ?= $(CURDIR)/var

.PHONY: demo test lint bench venv install install-test messages clean

# Find Python >= 3.12: the pyenv 3.13 on the dev machines, else python3.13/3.12/python3.
PYTHON_BOOT := $(shell \
  for c in "env PYENV_VERSION=3.13.0 python3.13" python3.13 python3.12 python3; do \
    if $$c -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
      echo "$$c"; break; fi; done)

$(VENV)/.created:
	@if [ -z '$(PYTHON_BOOT)' ]; then \
	  echo "Tend needs Python 3.12 or newer; none found (tried python3.13, python3.12, python3)." >&2; \
	  echo "Install one (e.g. 'apt-get install python3.12' or pyenv) and run make again." >&2; exit 1; fi
	$(PYTHON_BOOT) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	$(VENV)/bin/pip install -q -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

venv install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(TEND) demo

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(TEND) makemigrations --check --dry-run
	$(PY) -m tend.core.i18n_check

test: $(VENV)/.installed-test lint
	$(VENV)/bin/pytest -q $(PYTEST_ARGS)

bench: $(VENV)/.installed-test
	$(PY) bench/run.py

messages: $(VENV)/.installed-test
	$(PY) -m tend.core.i18n_check --make

clean:
	rm -rf $(VENV) var
