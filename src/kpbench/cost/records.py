"""Reading Records for cost: through kpbench.bench.record, the one owner of the schema.

cost never re-measures; it only reads the figures a Record holds. Every Record is
validated first (bench.record.check_record), so the helpers here index it directly.
"""

from __future__ import annotations

import statistics
from pathlib import Path

from kpbench.bench.record import SCHEMA, check_record, load_record
from kpbench.bench.record_types import Record

__all__ = ["SCHEMA", "load_record", "as_record", "median", "run_totals_s", "spread"]


def as_record(record: Record | dict | str | Path, name: str = "Record") -> Record:
    """A validated Record: read from a path (named by its file), or a dict given as is (named ``name``)."""
    if isinstance(record, (str, Path)):
        return load_record(record)
    return check_record(record, name)


def median(record: Record, name: str, *, required: bool = True) -> float | None:
    """The median of figure ``name`` (the Record's headline value); None when absent and not required.

    The schema requires every figure cost needs (init_s, train_s, images_per_s), so a
    validated Record always has the required ones.
    """
    fig = record["figures"].get(name)
    if fig is None:
        if required:
            raise KeyError(name)  # unreachable for a validated Record: a bug, not bad input
        return None
    return float(fig["median"])


def run_totals_s(record: Record) -> list[float]:
    """init_s + train_s of each successful repeat: the billed span of every run, for the spread."""
    totals = [float(run["figures"]["init_s"]) + float(run["figures"]["train_s"])
              for run in record["runs"]
              if run["ok"] and run["figures"].get("init_s") is not None and run["figures"].get("train_s") is not None]
    if totals:
        return totals
    # No per-run times: pair the figures' values, which keep repeat order.
    init, train = record["figures"]["init_s"]["values"], record["figures"]["train_s"]["values"]
    if len(init) == len(train):
        return [float(a) + float(b) for a, b in zip(init, train)]
    return [median(record, "init_s") + median(record, "train_s")]


def spread(values: list[float]) -> tuple[float, float]:
    """(mean, sample standard deviation); stdev 0 for a single repeat."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)
