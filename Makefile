# Set-up and the two main jobs. `make run` and `make test` create .venv on first use.
PYTHON ?= $(shell command -v python3.12 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else "volsim needs Python 3.12+ (found " + sys.version.split()[0] + "): install it or set PYTHON=")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,bench,app]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/volsim experiment experiments/pairing-policies.toml
	$(BIN)/volsim report results/pairing-policies

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/pytest -q -n 2

bench: $(STAMP)
	$(BIN)/python benchmarks/run_year.py
	$(BIN)/python benchmarks/mmc_throughput.py
	$(BIN)/python benchmarks/run_20_years.py

clean:
	rm -rf $(VENV) results/*/
