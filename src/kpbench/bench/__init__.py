"""kpbench.bench: phases timed around train, repeats in fresh processes, the Record.

Modules: phases/worker (measure one repeat), runner (repeats), stats (figures),
record (+ record.schema.json, checked on load by validate; typed in record_types),
fingerprint/imds (machine), flops (peak table), mllog (event log), export
(json/csv/markdown), output (terminal). Numbers are formatted by kpbench.fmt.
bench never imports cost: it records a --price-per-hour it is given, and cost
prices Records from their instance type at compare time.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BenchConfig", "run_bench", "load_record", "SCHEMA"]


def __getattr__(name: str) -> Any:
    # Lazy: `python -m kpbench.bench.worker` imports this package, and its
    # imports phase should not pay for the runner.
    if name in ("BenchConfig", "run_bench"):
        from kpbench.bench import runner

        return getattr(runner, name)
    if name in ("load_record", "SCHEMA"):
        from kpbench.bench import record

        return getattr(record, name)
    raise AttributeError(f"module 'kpbench.bench' has no attribute {name!r}")
