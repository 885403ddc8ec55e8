# One task runner. `make setup` installs everything; `make test` proves it.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup test test-fast lint typecheck fmt bench eval stress clean

setup: ## create .venv, install the project with dev tools, Chromium for browser tests
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	bash scripts/install_llama_cpp.sh $(BIN)/python
	$(BIN)/pip install -e ".[dev]"
	@command -v chromium >/dev/null || { echo "installing Debian chromium for browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "WARNING: could not install chromium; browser tests will fail"; }

test: ## lint, typecheck and the whole test suite (offline; exit code 5 = no tests = failure)
	$(BIN)/ruff check app evals tests scripts
	$(BIN)/mypy
	$(BIN)/python -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-fast: ## unit tests only (skips the slow real-model and browser tests)
	$(BIN)/python -m pytest -q -m "not slow and not browser"

lint:
	$(BIN)/ruff check app evals tests scripts
	$(BIN)/ruff format --check app evals tests scripts

fmt:
	$(BIN)/ruff format app evals tests scripts
	$(BIN)/ruff check --fix app evals tests scripts

typecheck:
	$(BIN)/mypy

stress: ## heavier concurrent-session load test on a real `kv serve` (extractive; ~1-2 min)
	KV_STRESS_SESSIONS=16 KV_STRESS_REQUESTS=5 $(BIN)/python -m pytest -q -s -m "not slow" \
	  tests/test_hardening_load.py

EVAL_ARGS ?=
eval: ## full drafting eval with the bundled local model (hours on 2 cores; EVAL_ARGS="--limit 20" for a fixed subset)
	$(BIN)/python -m app eval --provider local $(EVAL_ARGS)

clean:
	rm -rf data .pytest_cache .mypy_cache .ruff_cache
