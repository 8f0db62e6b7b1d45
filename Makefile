# The two commands: `make run` and `make test`. Each creates .venv when needed and installs what it needs.
# `make bench` runs every benchmark in bench/ one after the other and prints one Markdown table of figures
# and targets, on SQLite and PostgreSQL (QUORUM_BENCH_POSTGRES_URL, a database it wipes).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= $(if $(wildcard config/quorum.toml),config/quorum.toml,config/quorum.example.toml)
# Tests use the tzdata wheel's zone database, never the machine's, so results do not depend on the host.
export PYTHONTZPATH :=

.PHONY: run test lint typecheck pytest bench install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(BIN)/.installed

run: install
	$(BIN)/quorum --config $(CONFIG) run

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

typecheck: install
	$(BIN)/mypy

pytest: install
	bash tests/prepare.sh
	$(BIN)/pytest

test: lint typecheck pytest

bench: install
	PYTHONPATH=. $(BIN)/python bench/report.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
