# Everything a fresh machine needs: `make demo` and `make test` install what they use.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
LINT_PATHS := src tests scripts $(wildcard bench) $(wildcard fuzz)
PEERS := .venv-peers
OFFICIAL_PEER := $(PEERS)/official
AIOBOTO3_PEER := $(PEERS)/aioboto3

.PHONY: install peers demo test test-fast lint bench fuzz clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

# Peer clients live in their own virtual environments: their pins may clash with ours.
peers: $(OFFICIAL_PEER)/.installed $(AIOBOTO3_PEER)/.installed

$(OFFICIAL_PEER)/.installed: tests/interop/peers/requirements-official.txt
	$(PYTHON) -m venv $(OFFICIAL_PEER)
	$(OFFICIAL_PEER)/bin/python -m pip install --quiet --upgrade pip
	$(OFFICIAL_PEER)/bin/python -m pip install --quiet -r $<
	touch $@

$(AIOBOTO3_PEER)/.installed: tests/interop/peers/requirements-aioboto3.txt
	$(PYTHON) -m venv $(AIOBOTO3_PEER)
	$(AIOBOTO3_PEER)/bin/python -m pip install --quiet --upgrade pip
	$(AIOBOTO3_PEER)/bin/python -m pip install --quiet -r $<
	touch $@

demo: install
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" bash scripts/demo.sh

test: install peers
	$(PY) scripts/unasync.py --check
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo
	S3CSE_OFFICIAL_PYTHON="$(CURDIR)/$(OFFICIAL_PEER)/bin/python" \
		S3CSE_AIOBOTO3_PYTHON="$(CURDIR)/$(AIOBOTO3_PEER)/bin/python" PATH="$(CURDIR)/$(VENV)/bin:$$PATH" \
		$(PY) -m pytest $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest tests/unit tests/property $(PYTEST_ARGS)

# Benchmarks (never part of `make test`): s3cse against plain boto3 and the peer clients,
# the size sweep (64 MiB-8 GiB, files and pipes) and the data stack (bench/datastack.py).
# BENCH_ARGS="--size-mib 64 --small-objects 100 --rounds 1 --sweep-sizes 64 --sweep-rounds 1"
# for a quick run, BENCH_ARGS="--workloads load --load-seconds 30 --rounds 1" for the
# mixed load alone, BENCH_ARGS="--workloads sweep --sweep-sizes 1024,8192" for the sweep.
bench: install peers $(VENV)/.bench-installed
	$(PY) bench/run.py $(BENCH_ARGS)

$(VENV)/.bench-installed: pyproject.toml
	$(PY) -m pip install --quiet -e ".[bench]"
	touch $@

# Fuzzing (never part of `make test`, which only runs each harness briefly): every atheris
# harness in fuzz/ for FUZZ_SECONDS; corpora and crashing inputs go to build/fuzz/NAME/.
FUZZ_SECONDS ?= 300
FUZZ_HARNESSES := $(wildcard fuzz/fuzz_*.py)

fuzz: install
	@for harness in $(FUZZ_HARNESSES); do \
		echo "== $$harness for $(FUZZ_SECONDS) s"; \
		S3CSE_FUZZ_DIR="$(CURDIR)/build/fuzz" $(PY) $$harness -max_total_time=$(FUZZ_SECONDS) \
			|| exit 1; \
	done

lint: install
	$(PY) scripts/unasync.py --check
	$(PY) -m ruff check $(LINT_PATHS)
	$(PY) -m ruff format --check $(LINT_PATHS)
	$(PY) -m mypy
	$(VENV)/bin/lint-imports --no-cache --no-logo

clean:
	rm -rf $(VENV) $(PEERS) .s3cse-local demo-work build dist src/*.egg-info
