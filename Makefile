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
        import-check-39 bench bench-smoke reliability clean test-matrix matrix-oldest matrix-newest matrix-uvloop typecheck-users \
        docs docs-serve test-docs lint-spec compat

help:
	@echo "make demo        start the local Fabric emulator and run the examples end to end"
	@echo "make test        lint, types (ours and the installed wheel's), spec validation, Spectral, drift, docs build, tests, 3.9 import check"
	@echo "make test-all    the test suite on Python 3.9, 3.10, 3.12 and 3.13 (pyenv)"
	@echo "make test-matrix the suite on 3.9 with the oldest dependencies allowed, on 3.13 with the newest, async suite on uvloop"
	@echo "make generate    regenerate generated/ from spec/openapi.yaml and the sync twins of async sources"
	@echo "make check-drift fail when generated/ is stale"
	@echo "make typecheck-users  the built wheel under mypy --strict and pyright, and a user project on its pytest fixtures"
	@echo "make compat      the public fabric-platform 0.8.1/0.17.1 clients against the emulator, and their names on ours"
	@echo "make bench       benchmarks -> BENCHMARKS.md"
	@echo "make reliability fault scenarios at full size -> RELIABILITY.md (make test runs them reduced)"

$(STAMP): pyproject.toml codegen/requirements.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev,emulator,codegen,speedups,cli,docs]'
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(PY) examples/demo.py

generate: $(STAMP)
	$(PY) codegen/generate.py
	$(PY) codegen/unasync.py
	$(PY) codegen/reference.py

# The public fabric-platform 0.8.1 and 0.17.1 clients against the emulator, and their names on ours
# (throwaway venvs cached in .cache/compat-venvs; the wheels are pinned by hash in tests/compat/).
compat: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) -s tests/compat

check-drift: $(STAMP)
	$(PY) codegen/generate.py --check
	$(PY) codegen/unasync.py --check
	$(PY) codegen/reference.py --check

validate-spec: $(STAMP)
	$(PY) -c "import yaml, openapi_spec_validator as v; v.validate(yaml.safe_load(open('spec/openapi.yaml'))); print('spec/openapi.yaml: valid OpenAPI 3.1')"

# Spectral (npm, pinned in tools/spectral/package-lock.json): 0 warnings on the spec.
SPECTRAL := tools/spectral/node_modules/.bin/spectral
$(SPECTRAL): tools/spectral/package.json tools/spectral/package-lock.json
	@command -v npm >/dev/null || { echo "lint-spec: needs npm (Node.js) to install Spectral"; exit 1; }
	cd tools/spectral && npm ci --silent --no-audit --no-fund
	@touch $(SPECTRAL)

lint-spec: $(SPECTRAL)
	$(SPECTRAL) lint --quiet --fail-severity=warn --ruleset .spectral.yaml spec/openapi.yaml
	@echo "spec/openapi.yaml: 0 Spectral warnings (spectral:oas)"

lint: $(STAMP)
	$(PY) -m ruff check $(LINT_DIRS)
	$(PY) -m ruff format --check $(LINT_DIRS)

typecheck: $(STAMP)
	$(PY) -m mypy

unit: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/unit

integration: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/integration

test: $(STAMP) lint typecheck typecheck-users validate-spec lint-spec check-drift docs
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
	  .venv-test-$$v/bin/python -m pip install -q -e '.[dev,emulator,codegen,cli]' || exit 1; \
	  echo "== Python $$v"; .venv-test-$$v/bin/python -m pytest $(PYTEST_FLAGS) tests || exit 1; \
	done
	$(PY) -m pytest $(PYTEST_FLAGS) tests

# The promises of pyproject.toml, proven: (a) the suite on Python 3.9 with the oldest version
# of every core dependency (ci/oldest-constraints.txt, checked after installing), (b) the
# suite on Python 3.13 with the newest of everything, (c) the async tests on uvloop.
PY313 ?= $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13) $(shell command -v python3.13))
UVLOOP_TESTS := tests/deployment tests/reliability tests/integration/test_async_http11_transport.py \
	tests/integration/test_sdk_pipeline.py tests/integration/test_sdk_downloads.py \
	tests/integration/test_sdk_stream_reconnect.py tests/integration/test_sdk_wait_for_run.py \
	tests/integration/test_seed_conformance.py tests/integration/test_emulator_basics.py

test-matrix: $(STAMP)
	@start=$$(date +%s); \
	$(MAKE) --no-print-directory matrix-oldest && $(MAKE) --no-print-directory matrix-newest && \
	$(MAKE) --no-print-directory matrix-uvloop || exit 1; \
	echo "test-matrix: all three legs passed in $$(( $$(date +%s) - start )) s"

matrix-oldest:
	@test -n "$(PY39)" || { echo "matrix-oldest: no Python 3.9 found (set PY39=...)"; exit 1; }
	@test -x .venv-oldest-3.9/bin/python || $(PY39) -m venv .venv-oldest-3.9
	.venv-oldest-3.9/bin/python -m pip install -q -c ci/oldest-constraints.txt -e '.[dev,emulator,cli]'
	.venv-oldest-3.9/bin/python ci/check_versions.py ci/oldest-constraints.txt
	@echo "== Python 3.9, oldest dependencies"
	.venv-oldest-3.9/bin/python -m pytest $(PYTEST_FLAGS) tests

matrix-newest:
	@test -n "$(PY313)" || { echo "matrix-newest: no Python 3.13 found (set PY313=...)"; exit 1; }
	@test -x .venv-test-3.13/bin/python || $(PY313) -m venv .venv-test-3.13
	.venv-test-3.13/bin/python -m pip install -q --upgrade --upgrade-strategy eager -e '.[dev,emulator,codegen,cli]'
	@echo "== Python 3.13, newest dependencies"
	.venv-test-3.13/bin/python -m pytest $(PYTEST_FLAGS) tests

matrix-uvloop: $(STAMP)
	@echo "== the async tests on uvloop"
	FABRIC_TEST_LOOP=uvloop $(PY) -m pytest $(PYTEST_FLAGS) $(UVLOOP_TESTS)

bench: $(STAMP)
	$(PY) bench/run.py

bench-smoke: $(STAMP)
	$(PY) bench/run.py --smoke

# The fault scenarios of tests/reliability at full size; writes the table even when one fails.
reliability: $(STAMP)
	FABRIC_RELIABILITY_SIZE=full FABRIC_RELIABILITY_REPORT=RELIABILITY.md \
		$(PY) -m pytest $(PYTEST_FLAGS) tests/reliability

# The documentation site, built offline; --strict turns every broken link or reference into a failure.
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet
	@echo "site/: built from mkdocs.yml (open site/index.html)"

docs-serve: $(STAMP)
	$(PY) -m mkdocs serve

# Every Python block of README.md and docs/ runs against a fresh emulator (tests/docs/).
test-docs: $(STAMP)
	$(PY) -m pytest $(PYTEST_FLAGS) tests/docs

clean:
	rm -rf $(VENV) .venv-3.* .venv-oldest-3.* .venv-users dist build .pytest_cache .mypy_cache .ruff_cache

# What users get: the built wheel (with its emulator extra) in a venv of its own, the typing
# suite under mypy --strict and pyright strict, and a user project using the pytest fixtures.
USERS_VENV := .venv-users
typecheck-users: $(STAMP)
	rm -rf dist/users && $(PY) -m pip wheel -q --no-deps -w dist/users .
	@test -x $(USERS_VENV)/bin/python || $(PYTHON) -m venv $(USERS_VENV)
	$(USERS_VENV)/bin/python -m pip install -q --force-reinstall --no-deps dist/users/*.whl
	$(USERS_VENV)/bin/python -m pip install -q "$$(ls dist/users/*.whl)[emulator]" \
		"mypy>=1.10" "pyright==1.1.414" "pytest>=8" "pytest-asyncio>=0.23" anyio
	$(USERS_VENV)/bin/python tests/typing/run.py --python $(USERS_VENV)/bin/python
