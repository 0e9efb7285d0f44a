# fabric-platform — every command sets itself up (a venv in .venv) on a machine with only
# Python and make. `make test` is what CI runs (.ci/run).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
PYENV_ROOT ?= $(shell pyenv root 2>/dev/null || echo $$HOME/.pyenv)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_FLAGS ?= -q -p no:cacheprovider
LINT_DIRS := $(wildcard src tests codegen examples bench)

.PHONY: help setup demo test test-all generate check-drift lint typecheck validate-spec unit integration \
        import-check-39 bench bench-smoke reliability clean compat

help:
	@echo "make demo        start the local Fabric emulator and run the examples end to end"
	@echo "make test        lint, types, spec validation, spec drift, tests, 3.9 import check"
	@echo "make test-all    the test suite on Python 3.9, 3.10, 3.12 and 3.13 (pyenv)"
	@echo "make generate    regenerate generated/ from spec/openapi.yaml and the sync twins of async sources"
	@echo "make check-drift fail when generated/ is stale"
	@echo "make compat      the public fabric-platform 0.8.1/0.17.1 clients against the emulator, and their names on ours"
	@echo "make bench       benchmarks -> BENCHMARKS.md"
	@echo "make reliability fault scenarios at full size -> RELIABILITY.md (make test runs them reduced)"

$(STAMP): pyproject.toml codegen/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,emulator,codegen,speedups]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

generate: $(STAMP)
	$(PY) codegen/generate.py
	$(PY) codegen/unasync.py

# The public fabric-platform 0.8.1 and 0.17.1 clients against the emulator, and their names on ours
# (throwaway venvs cached in .cache/compat-venvs; the wheels are pinned by hash in tests/compat/).
compat: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) -s tests/compat

check-drift: $(STAMP)
	$(PY) codegen/generate.py --check
	$(PY) codegen/unasync.py --check

validate-spec: $(STAMP)
	$(PY) -c "import yaml, openapi_spec_validator as v; v.validate(yaml.safe_load(open('spec/openapi.yaml'))); print('spec/openapi.yaml: valid OpenAPI 3.1')"

lint: $(STAMP)
	$(PY) -m ruff check $(LINT_DIRS)
	$(PY) -m ruff format --check $(LINT_DIRS)

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/unit

integration: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/integration

test: $(STAMP) lint typecheck validate-spec check-drift
	$(PY) -m pytest $(PYTEST_FLAGS) tests && $(MAKE) --no-print-directory bench-smoke
	$(MAKE) --no-print-directory import-check-39

# The built wheel installs and imports on the oldest Python we support.
PY39 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.9*/bin/python3.9) $(shell command -v python3.9))
import-check-39: $(STAMP)
	@test -n "$(PY39)" || { echo "import-check-39: no Python 3.9 found (set PY39=...)"; exit 1; }
	rm -rf dist/wheel && $(PY) -m pip wheel -q --no-deps -w dist/wheel .
	@test -x .venv-3.9/bin/python || $(PY39) -m venv .venv-3.9
	.venv-3.9/bin/python -m pip install -q --force-reinstall dist/wheel/*.whl
	.venv-3.9/bin/python tests/import_check.py

# The whole suite on every other supported Python (each in its own venv).
test-all: $(STAMP)
	@for v in 3.9 3.10 3.12 3.13; do \
	  py=$$(ls -d $(PYENV_ROOT)/versions/$$v*/bin/python 2>/dev/null | head -1); \
	  test -n "$$py" || { echo "Python $$v not found"; exit 1; }; \
	  test -x .venv-test-$$v/bin/python || $$py -m venv .venv-test-$$v; \
	  .venv-test-$$v/bin/python -m pip install -q -e '.[dev,emulator,codegen]' || exit 1; \
	  echo "== Python $$v"; .venv-test-$$v/bin/python -m pytest $(PYTEST_FLAGS) tests || exit 1; \
	done
	$(PY) -m pytest $(PYTEST_FLAGS) tests

bench: $(STAMP)
	$(PY) bench/run.py

bench-smoke: $(STAMP)
	$(PY) bench/run.py --smoke

# The fault scenarios of tests/reliability at full size; writes the table even when one fails.
reliability: $(STAMP)
	FABRIC_RELIABILITY_SIZE=full FABRIC_RELIABILITY_REPORT=RELIABILITY.md \
		$(PY) -m pytest $(PYTEST_FLAGS) tests/reliability

clean:
	rm -rf $(VENV) .venv-3.* dist build .pytest_cache .mypy_cache .ruff_cache
