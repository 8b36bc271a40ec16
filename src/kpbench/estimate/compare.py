"""Compare measured and estimated Records together: bench Records as measured rows, estimate Records apart.

kpbench.cost owns the pricing; this module only reads estimate Records (kpbench.estimate's schema) and
hands them to cost.compare as EstimatedRun, so `kpbench compare` and the report take both kinds of file.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from kpbench.cost import Comparison, compare
from kpbench.cost.catalog import Catalog
from kpbench.cost.types import EstimatedRun
from kpbench.errors import KpbenchError
from kpbench.estimate.record import is_estimate, load_estimate
from kpbench.inputs import read_text


def estimated_run(record: dict) -> EstimatedRun:
    """An estimate Record as cost's EstimatedRun (init and training with their bands)."""
    e = record["estimate"]
    return EstimatedRun(label=record["label"], instance_type=e["instance_type"], gpu=e["gpu"], init_s=e["init_s"],
                        init_low_s=e["init_s_low"], init_high_s=e["init_s_high"], train_s=e["train_s"],
                        train_low_s=e["train_s_low"], train_high_s=e["train_s_high"], images_per_s=e["images_per_s"],
                        time_to_target_s=e.get("time_to_target_s"), basis=f"{e['precision']}, {e['bound']}-bound")


def split_records(paths: Iterable[str | Path]) -> tuple[list[Path], list[dict]]:
    """(bench Record paths, loaded estimate Records): a file's "kind" decides; bench Records stay paths for cost."""
    bench, estimates = [], []
    for p in map(Path, paths):
        if _claims_estimate(p):
            estimates.append(load_estimate(p))
        else:
            bench.append(p)
    return bench, estimates


def _claims_estimate(path: Path) -> bool:
    try:
        return is_estimate(json.loads(read_text(path, what="Record")))  # a regular file, bounded: never /dev/zero
    except (KpbenchError, ValueError, RecursionError):
        return False  # let the bench reader say what is wrong with it


def compare_files(paths: Iterable[str | Path], catalog: Catalog | None = None, *, price_per_hour: float | None = None,
                  spot: bool = False) -> Comparison:
    """`kpbench compare`: bench and estimate Records in any order; estimates priced and fronted on their own."""
    bench, estimates = split_records(paths)
    return compare(bench, catalog, price_per_hour=price_per_hour, spot=spot,
                   estimates=[estimated_run(r) for r in estimates])
