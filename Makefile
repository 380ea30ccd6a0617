# The README's commands. Every target is idempotent and skips what is up to date.
OPA_VERSION   := v1.22.3
VEGETA_VERSION := v12.13.0
PYTHON        ?= python3
VENV          := .venv
BIN           := $(VENV)/bin
TOOLS         := $(CURDIR)/.tools/bin
OPA           := $(TOOLS)/opa
VEGETA        := $(TOOLS)/vegeta
BRIDGE        := build/libopabridge.so
BRIDGE_SRC    := $(wildcard bridge/*.go) bridge/go.mod bridge/go.sum
export OPA_BIN := $(OPA)

.PHONY: setup dist run test test-python test-policy test-bridge lint format differential conformance fuzz bench bench-quick system-deps check-toolchain

setup: check-toolchain $(BIN)/policy-engine $(OPA) $(VEGETA) $(BRIDGE)

check-toolchain:
	@command -v go >/dev/null || { echo "error: Go (1.26+) is required to build the OPA bridge and CLI: https://go.dev/dl/"; exit 1; }
	@command -v cc >/dev/null || { echo "error: a C compiler (cc) is required for the cgo bridge: apt-get install gcc"; exit 1; }
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) (3.11+) is required"; exit 1; }

$(BIN)/policy-engine: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

$(OPA):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install github.com/open-policy-agent/opa@$(OPA_VERSION)

$(VEGETA):
	mkdir -p $(TOOLS)
	GOBIN=$(TOOLS) go install github.com/tsenart/vegeta/v12@$(VEGETA_VERSION)

$(BRIDGE): $(BRIDGE_SRC)
	mkdir -p build
	cd bridge && go build -buildmode=c-shared -trimpath -o ../$(BRIDGE) .

# The sdist and a platform wheel (bridge and default bundle inside) in dist/; the wheel is built
# from the sdist, so its Go sources are compiled again (needs Go and a C compiler, not `make setup`'s build/).
dist: setup
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

run: setup
	$(BIN)/policy-engine serve

test: setup test-policy test-bridge test-python

test-policy: $(OPA)
	$(OPA) fmt --fail -l policy
	$(OPA) check --strict policy/bundle policy/tests
	$(OPA) test policy/bundle policy/tests

test-bridge:
	cd bridge && go vet . && test -z "$$(gofmt -l .)" && go test .

test-python: setup lint
	$(BIN)/pytest

# The differential test against `opa` on 100,000 generated inputs.
differential: setup
	PE_DIFFERENTIAL_INPUTS=100000 $(BIN)/pytest tests/engine/test_differential.py

# schemathesis over /openapi.json with many more requests than `make test` sends (FUZZ_REQUESTS;
# FUZZ_SEED=<n> explores other requests than the fixed default sequence).
FUZZ_REQUESTS ?= 50000
fuzz: setup
	PE_FUZZ_REQUESTS=$(FUZZ_REQUESTS) PE_FUZZ_SEED=$(FUZZ_SEED) $(BIN)/pytest tests/http/test_schemathesis.py -q

system-deps:
	scripts/install-system-deps.sh

# OPA's own topdown test cases of the pinned version, every one through the engine vs `opa eval`
# (`make test` runs a sample of them).
conformance: setup
	PE_CONFORMANCE_ALL=1 $(BIN)/pytest tests/engine/test_conformance.py -q

# Every benchmark, side by side with the old way; writes BENCHMARKS.md and docs/bench/*.png (~15 min).
bench: setup system-deps
	$(BIN)/policy-engine bench all --out bench-results/results.json --report BENCHMARKS.md --plots docs/bench

# The same, short (under 3 minutes), into bench-results/ only.
bench-quick: setup system-deps
	$(BIN)/policy-engine bench all --quick --out bench-results/quick.json --report bench-results/QUICK.md --plots bench-results/plots

lint: setup
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

format: setup
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests
	$(OPA) fmt -w policy
