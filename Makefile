# The two quick-start commands: `make demo` (the main job) and `make test`.
PY ?= python3
PIP = $(PY) -m pip install -q -c constraints.txt
STAMP = .install.stamp

.PHONY: demo test bench-parse bench-train install clean

$(STAMP): pyproject.toml constraints.txt
	$(PIP) -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m kpbench demo --out kpbench-demo

test: $(STAMP)
	$(PY) -m pytest

bench-parse: $(STAMP)
	$(PY) benchmarks/parse.py

bench-train: $(STAMP)
	$(PY) benchmarks/train_cpu.py

clean:
	rm -rf $(STAMP) kpbench-demo runs build *.egg-info src/*.egg-info
