"""Reading Records for cost: through kpbench.bench.record, the one owner of the schema.

cost never re-measures; it only reads the figures a Record holds. The helpers
here pull out the few numbers cost needs and fail with the Record's label when
one is missing.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from kpbench.bench.record import SCHEMA, load_record
from kpbench.errors import KpbenchError

__all__ = ["SCHEMA", "load_record", "as_record", "median", "run_totals_s"]


def as_record(record: dict | str | Path) -> dict:
    """A Record dict as given, or read from a path (schema checked by bench.record)."""
    if isinstance(record, (str, Path)):
        return load_record(record)
    if not isinstance(record, dict) or record.get("schema") != SCHEMA:
        schema = record.get("schema") if isinstance(record, dict) else type(record).__name__
        raise KpbenchError(f"not a {SCHEMA} Record (schema {schema!r})")
    return record


def median(record: dict, name: str, *, required: bool = True) -> float | None:
    """The median of figure ``name`` (the Record's headline value), None when absent and optional."""
    fig = (record.get("figures") or {}).get(name)
    if isinstance(fig, dict) and isinstance(fig.get("median"), (int, float)):
        return float(fig["median"])
    if required:
        raise KpbenchError(f"Record {record.get('label')!r}: no {name} figure")
    return None


def run_totals_s(record: dict) -> list[float]:
    """init_s + train_s of each successful repeat: the billed span of every run, for the spread."""
    totals = []
    for run in record.get("runs") or []:
        figs: dict[str, Any] = run.get("figures") or {}
        timed = all(isinstance(figs.get(name), (int, float)) for name in ("init_s", "train_s"))
        if run.get("ok") and timed:
            totals.append(float(figs["init_s"]) + float(figs["train_s"]))
    if totals:
        return totals
    # No per-run entries: pair the figures' values, which keep repeat order.
    init = (record.get("figures") or {}).get("init_s", {}).get("values") or []
    train = (record.get("figures") or {}).get("train_s", {}).get("values") or []
    if init and len(init) == len(train):
        return [float(a) + float(b) for a, b in zip(init, train)]
    return [median(record, "init_s") + median(record, "train_s")]


def spread(values: list[float]) -> tuple[float, float]:
    """(mean, sample standard deviation); stdev 0 for a single repeat."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
