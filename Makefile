# Tend: `make demo` runs it with demo data; `make test` runs every check CI runs.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
TEND := $(VENV)/bin/tend
export TEND_DATA_DIR ?= $(CURDIR)/var

# Extra arguments: `make test PYTEST_ARGS="-k healthz -x"`, `make demo DEMO_ARGS="--port 9000"`.
PYTEST_ARGS ?=
DEMO_ARGS ?=
# Parallel test processes (pytest-xdist); 0 runs everything in one process.
PYTEST_WORKERS ?= 2

.PHONY: help demo test lint pytest bench messages install clean

help:
	@echo "make demo      set up .venv, migrate, add demo data, run Tend on http://127.0.0.1:8000/"
	@echo "make test      lint (ruff, mypy, import layers, migrations, translations) + pytest"
	@echo "make pytest    only the tests; PYTEST_ARGS=... and PYTEST_WORKERS=N pass through"
	@echo "make lint      only the static checks"
	@echo "make bench     run the benchmarks (bench/run.py)"
	@echo "make messages  refresh and compile the zh_Hans translation catalogues"
	@echo "make clean     remove .venv and tool caches (keeps the data in $(TEND_DATA_DIR))"

# A Python >= 3.12: the pyenv 3.13 of the dev machines, else python3.13/3.12/python3.
# Recursively expanded (=), so the search only runs when a virtualenv is created.
PYTHON_OK = -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)'
PYTHON_BOOT = $(shell \
  for c in "env PYENV_VERSION=3.13.0 python3.13" python3.13 python3.12 python3; do \
    if $$c $(PYTHON_OK) >/dev/null 2>&1; then echo "$$c"; break; fi; done)

$(VENV)/.created:
	@if [ -x $(PY) ] && $(PY) $(PYTHON_OK); then \
	  echo "Using the existing $(VENV) ($$($(PY) --version))"; \
	else \
	  boot='$(PYTHON_BOOT)'; \
	  if [ -z "$$boot" ]; then \
	    echo "Tend needs Python 3.12 or newer, and none was found" >&2; \
	    echo "(tried python3.13, python3.12 and python3 on PATH, and pyenv's 3.13.0)." >&2; \
	    echo "Install one (pyenv, uv, deadsnakes or your distribution) and run make again." >&2; \
	    exit 1; \
	  fi; \
	  echo "Creating $(VENV) with $$($$boot --version)"; \
	  $$boot -m venv $(VENV); \
	fi
	@touch $@

$(VENV)/.installed: $(VENV)/.created pyproject.toml
	@echo "Installing Tend into $(VENV)"
	$(VENV)/bin/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed pyproject.toml
	@echo "Installing the test tools into $(VENV)"
	$(VENV)/bin/pip install -q -e '.[test]'
	@touch $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(TEND) demo $(DEMO_ARGS)

# Every step runs even when an earlier one fails, so one CI run shows every problem.
LINT_STEPS := \
  "$(VENV)/bin/ruff check src tests bench" \
  "$(VENV)/bin/ruff format --check src tests bench" \
  "$(VENV)/bin/mypy" \
  "$(VENV)/bin/lint-imports" \
  "$(TEND) makemigrations --check --dry-run" \
  "$(PY) -m tend.core.i18n_check"

lint: $(VENV)/.installed-test
	@failed=(); \
	for step in $(LINT_STEPS); do \
	  echo "--> $$step"; \
	  $$step || failed+=("$$step"); \
	done; \
	if [ $${#failed[@]} -gt 0 ]; then \
	  echo "Lint failed:"; printf '  %s\n' "$${failed[@]}"; exit 1; \
	fi

pytest: $(VENV)/.installed-test
	$(VENV)/bin/pytest -q $(if $(filter-out 0,$(PYTEST_WORKERS)),-n $(PYTEST_WORKERS) --dist loadfile) $(PYTEST_ARGS)

# Tests run even when lint fails; the target fails if either did.
test: $(VENV)/.installed-test
	@lint=0; tests=0; \
	$(MAKE) --no-print-directory lint || lint=$$?; \
	$(MAKE) --no-print-directory pytest || tests=$$?; \
	if [ $$lint -ne 0 ]; then echo "make test: lint failed" >&2; fi; \
	if [ $$tests -ne 0 ]; then echo "make test: tests failed" >&2; fi; \
	[ $$lint -eq 0 ] && [ $$tests -eq 0 ]

bench: $(VENV)/.installed-test
	$(PY) bench/run.py

messages: $(VENV)/.installed-test
	$(PY) -m tend.core.i18n_check --make

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
	find src tests bench -name __pycache__ -type d -prune -exec rm -rf {} +
