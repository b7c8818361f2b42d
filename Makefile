# Everything bootstraps .venv from nothing with the machine's python3.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
SRC := src tests bench

.PHONY: setup demo test lint format bench clean

$(STAMP): pyproject.toml package-lock.json scripts/system-deps
	scripts/system-deps
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,claude-code]'
	npm ci --no-audit --no-fund --loglevel=error
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/cockpit demo $(if $(DIR),--dir $(DIR))

lint: $(STAMP)
	$(BIN)/ruff check --no-cache $(SRC)
	$(BIN)/ruff format --no-cache --check $(SRC)
	$(BIN)/ty check
	$(BIN)/lint-imports

test: lint
	$(BIN)/python -m pytest

format: $(STAMP)
	$(BIN)/ruff check --fix $(SRC)
	$(BIN)/ruff format $(SRC)

bench: $(STAMP)
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
