# The two quick-start commands: `make demo` (the main job) and `make test`.
PY ?= python3
PIP = $(PY) -m pip install -q -c constraints.txt
STAMP = .install.stamp

.PHONY: demo test test-quick lint fuzz docs bench-parse bench-peers install clean

$(STAMP): pyproject.toml constraints.txt
	$(PIP) -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m kpbench demo --out kpbench-demo

# Every tier (tests/unit, tests/process, tests/integration), as CI runs it, with the 15 slowest tests listed.
# Two files at a time (pytest-xdist), one per core of CI's machine: --dist loadfile keeps each file, and so
# its module fixtures, on one worker; --no-loadscope-reorder hands out files in collection order (slow
# tiers first, tests/conftest.py).
test: $(STAMP)
	$(PY) -m pytest -n 2 --dist loadfile --no-loadscope-reorder --durations=15

# The quick loop while editing: the unit tier (in process, no subprocesses), on both cores (about a minute).
test-quick: $(STAMP)
	$(PY) -m pytest -n 2 tests/unit

lint: $(STAMP)
	$(PY) -m ruff check src tests benchmarks

# Tables and figures in README.md, docs/ and benchmark headers, generated from benchmarks/results/*.json
# and the package's own data (benchmarks/docs.py; a unit test checks they are current).
docs: $(STAMP)
	$(PY) benchmarks/docs.py

# The property-based tests of every reader with 5000 examples each, and SIGKILL-anywhere with
# 10 trials instead of 3 (minutes, not for CI); FUZZ_EXAMPLES=N and KILL_TRIALS=N for other
# counts. Profiles: tests/hypothesis_profiles.py; the trials: tests/process/test_reliability_kill.py.
FUZZ_EXAMPLES ?= 5000
KILL_TRIALS ?= 10
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz KPBENCH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) KPBENCH_KILL_TRIALS=$(KILL_TRIALS) \
	  $(PY) -m pytest -q $(wildcard tests/*/test_*fuzz*.py) tests/process/test_reliability_kill.py

bench-parse: $(STAMP)
	$(PY) benchmarks/parse.py

# TensorFlow lives apart: KERAS_PYTHON=/path/to/python-with-tensorflow make bench-peers
bench-peers: $(STAMP)
	$(PY) benchmarks/peers.py $(if $(KERAS_PYTHON),--keras-python $(KERAS_PYTHON))

clean:
	rm -rf $(STAMP) kpbench-demo runs build *.egg-info src/*.egg-info
