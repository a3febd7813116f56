# The two commands of the README.  Each creates .venv with the pinned stack when it is missing.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench accuracy clean-venv .venv-host

# The host code's venv: numpy + pynq 4.0 (+ asyncssh, pytest), no TensorFlow (pynq pins grpcio 1.64 /
# protobuf 5, which TensorFlow 2.15 conflicts with).  host/ is imported from the checkout (PYTHONPATH).
HOST_VENV  ?= .venv-host
HOST_STAMP := $(HOST_VENV)/.installed

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

$(HOST_STAMP): host/requirements.txt
	test -x $(HOST_VENV)/bin/python || $(PYTHON) -m venv $(HOST_VENV)
	$(HOST_VENV)/bin/python -m pip install --quiet -r host/requirements.txt
	touch $(HOST_STAMP)

.venv-host: $(HOST_STAMP)

DEMO_CONFIG := hls_projects/configs/attendnet_tiny-zcu104.yaml
DEMO_PROJECT := hls_projects/attendnet_tiny-zcu104

demo: $(STAMP)
	$(BIN)/attendnets models
	$(BIN)/attendnets generate --config $(DEMO_CONFIG)
	$(BIN)/attendnets csim $(DEMO_PROJECT)
	$(BIN)/attendnets report $(DEMO_PROJECT)

test: $(STAMP) $(HOST_STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile tests
	PYTHONPATH=$(CURDIR) $(HOST_VENV)/bin/python -m pytest -q -p no:cacheprovider tests/host

# The small-scale Table 1 on Fashion-MNIST (apt-get install dataset-fashion-mnist): 4 networks x 3 seeds,
# resumable; one TensorFlow thread per run so two runs share the two cores.
accuracy: $(STAMP)
	TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 $(BIN)/attendnets table1 --dataset fashion-mnist --out runs/table1

BENCH_MODEL ?= attendnet-b

bench: $(STAMP)
	$(BIN)/attendnets bench $(BENCH_MODEL)

clean-venv:
	rm -rf $(VENV) $(HOST_VENV)
