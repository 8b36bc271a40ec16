"""kpbench.estimate: step time, training time and cost on GPUs nobody can rent, from a CPU-only trace.

``run_estimate(EstimateRequest(...))`` is the area's one entry point (kpbench.estimate.run); the
cost model is model.py, its constants constants.json, the GPU table gpus.csv (docs/estimate.md).
"""

import sys as _sys

# Whether torch was imported before this package: if not, this process's own age once torch is in is
# its start-up and import time (machine.startup_s), and no second process is needed to measure it.
TORCH_PRELOADED = "torch" in _sys.modules
