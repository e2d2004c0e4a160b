# Two entry points that work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.run-installed $@

# The demo keeps its session apart from yours (XDG_STATE_HOME) and starts fresh each time.
demo: $(VENV)/.run-installed
	cd examples && XDG_STATE_HOME=../$(VENV)/demo-state ../$(BIN)/noctra --fresh batch demo.rql

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/ruff format --check src tests benchmarks examples
	$(BIN)/mypy src
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest

# The peer tools (DuckDB CLI, chDB, DataFusion, Polars, sqlite-utils, csvkit) for the peer table.
$(VENV)/.bench-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	touch $(VENV)/.run-installed $@

# The default groups and the peer table (about 12 minutes; the 1 GB CSV is kept in
# benchmarks/.data). More: make bench BENCH_ARGS="--markdown docs/BENCHMARKS.md" (or --all).
BENCH_ARGS ?=
bench: $(VENV)/.bench-installed
	$(BIN)/python benchmarks/run.py --peers $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
