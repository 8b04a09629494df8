# Quick start: `make demo` runs the default job, `make test` runs the tests.
# Both create .venv on first use.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch is taken from the local wheel cache where one exists;
# on a GPU machine, set TORCH_SPEC to the CUDA build you want.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install demo test bench leaderboards clean-runs

$(BIN)/w2s-bench: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(BIN)/w2s-bench

demo: install
	$(BIN)/w2s-bench models fetch minilm-l6 mpnet-base
	$(BIN)/w2s-bench run --task rotten_tomatoes --method naive,aux_conf
	$(BIN)/w2s-bench report

test: install
	$(BIN)/python -m pytest

# Measure the harness's speed and memory (about 15 minutes on a 2-core CPU);
# prints a table and rewrites docs/benchmarks.md.
bench: install
	$(BIN)/w2s-bench models fetch minilm-l6 mpnet-base
	$(BIN)/python -m benchmarks

# Run the default grid (resuming if it was stopped) and regenerate leaderboards/.
leaderboards: install
	$(BIN)/w2s-bench models fetch
	$(BIN)/w2s-bench grid grids/default.toml
	$(BIN)/w2s-bench grid grids/generative.toml --report

clean-runs:
	rm -rf runs
