# One task runner. `make setup` installs everything; `make test` proves it.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup setup-portable test test-fast lint typecheck fmt bench eval stress clean

setup: ## create .venv, install the project with dev tools, Chromium for browser tests
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade "pip>=24"
	bash scripts/install_llama_cpp.sh $(BIN)/python
	$(BIN)/pip install -e ".[dev]"
	@command -v chromium >/dev/null || { echo "installing Debian chromium for browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "WARNING: could not install chromium; browser tests will fail"; }

# The most conservative build: no AVX at all (slower; for CPUs/VMs that refuse even AVX2).
SAFEST_CMAKE_ARGS := -DGGML_NATIVE=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
  -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF -DGGML_BMI2=OFF \
  -DGGML_AVX_VNNI=OFF -DGGML_AVX512=OFF -DGGML_AMX_TILE=OFF -DGGML_AMX_INT8=OFF -DGGML_AMX_BF16=OFF
setup-portable: ## rebuild the local-model runtime without AVX (if `kv model --verify` reports SIGILL); kept by later `make setup`s
	mkdir -p .wheels && echo '$(SAFEST_CMAKE_ARGS)' > .wheels/CMAKE_ARGS
	bash scripts/install_llama_cpp.sh $(BIN)/python
	$(BIN)/kv model --verify

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
