"""Estimate Records: one JSON file per estimated machine, kind "estimate", that compare and report read.

An estimate Record is never a bench Record: its own schema (estimate.schema.json, versioned as
``kpbench.estimate/1``), checked on every load with the same validator as bench Records, and
written atomically under a name no other file has. Readers show it as "estimate" with its band.
"""

from __future__ import annotations

import functools
import json
import re
import time
from pathlib import Path
from typing import Any

from kpbench.bench.record import read_json, validated, write_new_record
from kpbench.errors import KpbenchError

SCHEMA = "kpbench.estimate/1"
KIND = "estimate"
SCHEMA_FILE = Path(__file__).with_name("estimate.schema.json")


@functools.cache
def estimate_schema() -> dict:
    return json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))


def is_estimate(obj: Any) -> bool:
    """Whether a parsed JSON value claims to be an estimate Record (then load_estimate checks it)."""
    return isinstance(obj, dict) and (obj.get("kind") == KIND or str(obj.get("schema", "")).startswith("kpbench.estimate/"))


def check_estimate(obj: Any, name: str) -> dict:
    schema = obj.get("schema") if isinstance(obj, dict) else None
    if schema != SCHEMA:
        raise KpbenchError(f"{name}: estimate Record schema {schema!r} is not supported (this kpbench reads {SCHEMA!r})")
    return validated(obj, estimate_schema(), name, "estimate Record")


def load_estimate(path: str | Path) -> dict:
    path = Path(path)
    return check_estimate(read_json(path), path.name)


def estimate_record(result, est) -> dict:
    """The Record of one row of an EstimateResult (kpbench.estimate.run)."""
    from kpbench import __version__

    work = result.workload
    trace = result.traces.get(est.precision) or next(iter(result.traces.values()))
    return {
        "schema": SCHEMA, "kind": KIND, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label": f"{est.label} (estimate)",
        "machine": {"instance_type": est.instance_type, "gpu": est.gpu,
                    "gpu_count": est.instance.gpu_count if est.instance else (1 if est.gpu else 0)},
        "config": {"model": result.network, "batch_size": work.batch_size, "precision": est.precision,
                   "epochs": work.epochs, "steps": work.steps, "target_rmse_px": work.target_rmse_px},
        "workload": work.to_dict(),
        "estimate": est.to_dict(),
        "trace": {k: v for k, v in trace.to_dict().items() if k not in ("by_kind", "by_phase")},
        "calibration": {**result.constants.meta, "kpbench": __version__},
    }


def write_estimates(result, out_dir: str | Path) -> list[Path]:
    """One estimate Record per estimated row (measured rows are their bench Records already)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for est in result.estimates:
        if est.measured:
            continue
        record = check_estimate(estimate_record(result, est), "estimate Record")
        stem = "estimate-" + re.sub(r"[^A-Za-z0-9.-]+", "-", est.label).strip("-")
        paths.append(write_new_record(out, stem, record))
    return paths
