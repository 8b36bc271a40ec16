"""kpbench.estimate: step time, training time and cost on GPUs nobody can rent, from a CPU-only trace.

``run_estimate(EstimateRequest(...))`` is the area's one entry point (kpbench.estimate.run); the
cost model is model.py, its constants constants.json, the GPU table gpus.csv (docs/estimate.md).
"""
