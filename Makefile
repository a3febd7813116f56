# The two commands of the README.  Each creates .venv with the pinned stack when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

DEMO_CONFIG := hls_projects/configs/attendnet_tiny-zcu104.yaml
DEMO_PROJECT := hls_projects/attendnet_tiny-zcu104

demo: $(STAMP)
	$(BIN)/attendnets models
	$(BIN)/attendnets generate --config $(DEMO_CONFIG)
	$(BIN)/attendnets csim $(DEMO_PROJECT)

test: $(STAMP)
	$(BIN)/python -m pytest -q tests

BENCH_MODEL ?= attendnet-b

bench: $(STAMP)
	$(BIN)/attendnets bench $(BENCH_MODEL)

clean-venv:
	rm -rf $(VENV)
