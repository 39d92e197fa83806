# snlab: `make quickstart` (the main job) and `make test` (`make test-fast` while editing). Both create .venv on first use.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PRESET ?= cpu
PIP_QUIET := -q --disable-pip-version-check

.PHONY: venv data quickstart reproduce test test-fast bench notebooks

# The venv is rebuilt when requirements change; torch is pinned there (see requirements.txt).
$(BIN)/.installed: requirements.txt pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install $(PIP_QUIET) -r requirements.txt 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/pip install $(PIP_QUIET) --no-deps -e . 2>&1 | grep -v "^WARNING: Location" || true
	$(BIN)/python -c "import snlab, torch, papermill"
	touch $@

venv: $(BIN)/.installed

# Fashion-MNIST: Debian's dataset-fashion-mnist when installed (apt-get install dataset-fashion-mnist), else a download.
data: venv
	$(BIN)/python -m snlab download fashion_mnist

quickstart: data
	mkdir -p figures/quickstart
	$(BIN)/papermill notebooks/00_quickstart.ipynb figures/quickstart/00_quickstart.ipynb \
		--cwd notebooks -k python3 --log-output -p preset $(PRESET)
	@echo "figures in figures/quickstart/, the run in runs/ (its directory is named in the notebook's output)"

# Every notebook into its figure folder from the runs in results/, then figures/CLAIMS.md; nothing trains
# unless TRAIN=1. ONLY="fig10 fig14" to choose; SET="dataset=cifar10 seeds=[0,1]" for more parameters.
reproduce: data
	$(BIN)/python -m snlab reproduce --preset $(PRESET) $(if $(filter 1 yes true,$(TRAIN)),--train) $(if $(ONLY),--only $(ONLY)) $(if $(SET),--set $(SET))

test: venv
	$(BIN)/python -m pytest -q

# While editing: no browser, no slow sweeps or kills (`make test` runs everything).
test-fast: venv
	$(BIN)/python -m pytest -q -m "not slow and not browser"

bench: venv
	$(BIN)/python -m snlab bench sn-overhead

# Regenerate each .ipynb from its py:percent twin (the twin is what you edit and review); no outputs.
notebooks: venv
	$(BIN)/jupytext --sync notebooks/*.py
