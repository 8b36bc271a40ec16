# The two quick-start commands: `make demo` (the main job) and `make test`.
PY ?= python3
PIP = $(PY) -m pip install -q -c constraints.txt
STAMP = .install.stamp

.PHONY: demo test test-quick fuzz docs bench-parse bench-peers install clean

$(STAMP): pyproject.toml constraints.txt
	$(PIP) -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m kpbench demo --out kpbench-demo

test: $(STAMP)
	$(PY) -m pytest

# The quick loop while editing: everything but the subprocess-heavy and training tests.
test-quick: $(STAMP)
	$(PY) -m pytest -m "not slow"

# Tables in docs/ generated from the code's own data (a test checks they are current).
docs: $(STAMP)
	$(PY) -m kpbench.report.catalog docs/cost.md
	$(PY) -m kpbench.estimate.docs docs/estimate.md

# The property-based tests of every reader with 5000 examples each (minutes, not for CI);
# FUZZ_EXAMPLES=N for another count. Profiles: tests/hypothesis_profiles.py.
FUZZ_EXAMPLES ?= 5000
fuzz: $(STAMP)
	HYPOTHESIS_PROFILE=fuzz KPBENCH_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q $(wildcard tests/test_*fuzz*.py)

bench-parse: $(STAMP)
	$(PY) benchmarks/parse.py

# TensorFlow lives apart: KERAS_PYTHON=/path/to/python-with-tensorflow make bench-peers
bench-peers: $(STAMP)
	$(PY) benchmarks/peers.py $(if $(KERAS_PYTHON),--keras-python $(KERAS_PYTHON))

clean:
	rm -rf $(STAMP) kpbench-demo runs build *.egg-info src/*.egg-info
