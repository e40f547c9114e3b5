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
	$(PY) -m pip install --quiet -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name ctc --display-name "CTC (workbench)" >/dev/null
	@touch $(STAMP)

venv: $(STAMP) ## Create .venv and install the workbench with its dependencies

run: $(STAMP) ## Main job: the per-area batch on the synthetic demo city (reports/)
	$(CTC) run

test: $(STAMP) ## Lint, format check and the whole test suite
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

.PHONY: help venv run test lab dashboard bench demo-data format clean
