# Set-up, demo and checks. `make demo` and `make test` install everything they need.

PYTHON ?= python3
UV_VERSION := 0.13.9
TOOLS := .tools
VENV := .venv
UV := $(TOOLS)/bin/uv
export UV_PROJECT_ENVIRONMENT := $(VENV)
# The browser tests drive Debian's Chromium; Playwright's own browser builds are not used.
CHROMIUM := /usr/bin/chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: install chromium demo test lint typecheck check-migrations bench clean

$(UV):
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(VENV)/.installed: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --compile-bytecode --quiet
	$(VENV)/bin/python -m compileall -q src
	touch $@

install: $(VENV)/.installed

chromium:
	@if [ ! -x $(CHROMIUM) ]; then \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	fi

demo: install
	bash scripts/demo.sh

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/ruff format --check src tests bench

typecheck: install
	$(VENV)/bin/mypy

test: install chromium lint typecheck
	$(VENV)/bin/pytest

bench: install
	bash bench/startup/run.sh

clean:
	rm -rf $(VENV) $(TOOLS) .mypy_cache .pytest_cache .ruff_cache test-artifacts
