# CTC workbench. `make help` lists the targets. Every target bootstraps .venv on first use.
PYTHON ?= python3
# one BLAS thread: the exact disclosure check is faster single-threaded on a busy 2-core machine
export OPENBLAS_NUM_THREADS := 1
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
CTC    := $(VENV)/bin/ctc

.DEFAULT_GOAL := help

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev,cluster]"
	$(PY) -m ipykernel install --sys-prefix --name ctc --display-name "CTC (workbench)" >/dev/null
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the workbench with its dependencies

run: $(STAMP) browser ## Main job: the per-area batch on the synthetic demo city (reports/, HTML and PDF)
	$(CTC) run

# Debian's chromium for the browser tests (reports and dashboards read in a headless browser).
# Installed with apt when it is missing (as root, or through sudo); CTC_CHROMIUM names another. CTC_SKIP_BROWSER=1 runs the
# tests without it: the browser tests are then skipped, never silently in CI (CI=1 fails them).
browser: ## Install Debian's chromium for the browser tests (apt-get; root or sudo)
	@if { [ -n "$$CTC_CHROMIUM" ] || command -v chromium >/dev/null 2>&1; } && command -v pdftotext >/dev/null 2>&1 || [ -n "$$CTC_SKIP_BROWSER" ]; then exit 0; fi; \
	if ! command -v apt-get >/dev/null 2>&1; then \
	  echo "chromium is missing and this is not a Debian machine: install it, or set CTC_SKIP_BROWSER=1 to skip the browser tests" >&2; exit 1; \
	fi; \
	if [ "$$(id -u)" = 0 ]; then SUDO=; elif command -v sudo >/dev/null 2>&1; then SUDO=sudo; else \
	  echo "chromium is missing: run 'apt-get install chromium' as root, or set CTC_SKIP_BROWSER=1 to skip the browser tests" >&2; exit 1; \
	fi; \
	echo "Installing Debian's chromium and poppler-utils (pdftotext) for the browser and PDF tests"; \
	$$SUDO apt-get update -qq && \
	$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null || { \
	  echo "apt-get could not install chromium; set CTC_SKIP_BROWSER=1 to run the tests without the browser tests" >&2; exit 1; }

test: $(STAMP) browser ## Lint, format check and the whole test suite (installs chromium if missing)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) -m pytest -n 2 -q

lab: $(STAMP) ## Open JupyterLab with the ctc kernel (for evaluators)
	$(VENV)/bin/jupyter lab notebooks/

dashboard: $(STAMP) ## Serve the Voilà dashboards on http://127.0.0.1:8866 (after make run)
	$(CTC) dashboard

bench: $(STAMP) ## Print the performance figures of benchmarks/
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

demo-data: $(STAMP) ## Regenerate the synthetic demo city in data/sample/
	$(CTC) demo-data

format: $(STAMP) ## Format the code with ruff
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

clean: ## Remove generated reports and caches (keeps .venv)
	rm -rf .ctc reports/*/ reports/index.html reports/manifest.json

.PHONY: help venv browser run test lab dashboard bench demo-data format clean
