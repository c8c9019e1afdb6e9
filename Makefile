# Two commands a newcomer needs: `make up` and `make test`. Only Python 3.11+ is required.
#
# Installs come from uv.lock (exact versions, hashes) through uv, itself installed from PyPI
# with hashes into .tools/. Without uv: `pip install --require-hashes -r requirements/local.txt`
# (or run.txt, dev.txt), then `pip install --no-deps -e .`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := .tools/bin/uv
# Bytecode compiled as it installs, as pip does and uv does not by default: else every
# process compiles what it imports, at every start where bytecode is not written
# (PYTHONDONTWRITEBYTECODE, a read-only tree), and a first start does anyway.
SYNC := UV_PYTHON_DOWNLOADS=never $(UV) sync --frozen --compile-bytecode --python $(PYTHON)
PLATFORMS := x86_64-manylinux_2_28 aarch64-manylinux_2_28 aarch64-apple-darwin
PYTHONS := 3.11 3.12 3.13 3.14

.PHONY: install install-run up test lint bench lock deps-check images clean

$(UV): requirements/uv.txt
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --require-hashes -r requirements/uv.txt
	touch $(UV)

# What running needs, and nothing else. Inexact: a venv that has the dev group keeps it.
install-run: $(UV)
	$(SYNC) --inexact --extra local --no-dev

# Running, plus the test and lint tooling.
install: $(UV)
	$(SYNC) --extra local --group dev

up: install-run
	$(BIN)/ticketing up $(ARGS)

test: install
	$(BIN)/pytest $(ARGS)

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(UV)
	$(SYNC) --inexact --extra local --group dev --group bench
	$(BIN)/python -m bench.run $(ARGS)

# After editing dependencies in pyproject.toml: a new lock and the pip-readable exports.
lock: $(UV)
	$(UV) lock
	$(UV) export --frozen --no-header --no-emit-project --no-dev -q -o requirements/run.txt
	$(UV) export --frozen --no-header --no-emit-project --no-dev --extra local -q -o requirements/local.txt
	$(UV) export --frozen --no-header --no-emit-project --extra local --group dev -q -o requirements/dev.txt

# The lock matches pyproject.toml, the exports match the lock, and what running needs
# installs from wheels alone on every supported Python and platform (no interpreter needed).
deps-check: $(UV)
	$(UV) lock --check
	$(UV) export --frozen --no-header --no-emit-project --no-dev -q | diff -q - requirements/run.txt
	$(UV) export --frozen --no-header --no-emit-project --no-dev --extra local -q | diff -q - requirements/local.txt
	$(UV) export --frozen --no-header --no-emit-project --extra local --group dev -q | diff -q - requirements/dev.txt
	@pids=""; for python in $(PYTHONS); do for platform in $(PLATFORMS); do \
		( $(UV) pip compile --quiet --python-version $$python --python-platform $$platform \
			--only-binary :all: --extra local pyproject.toml -o /dev/null \
		&& echo "wheels for all of it: CPython $$python, $$platform" ) & pids="$$pids $$!"; \
	done; done; failed=0; for pid in $$pids; do wait $$pid || failed=1; done; exit $$failed

# Build and push the image, then pin every image production runs by digest
# (deploy/k8s/overlays/prod/images/); commit what it wrote. Needs docker with buildx.
REGISTRY ?= registry.example.com
TAG ?= $(shell git describe --tags --always --dirty)
images: install
	docker build -f deploy/Dockerfile -t $(REGISTRY)/ticketing:$(TAG) .
	docker push $(REGISTRY)/ticketing:$(TAG)
	PATH=$(BIN):$$PATH $(BIN)/python deploy/pin_images.py $(REGISTRY)/ticketing:$(TAG)

clean:
	rm -rf $(VENV) .tools .ticketing .pytest_cache test-artifacts
