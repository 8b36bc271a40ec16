"""The scaling study's Records: one JSON file per ``kpbench dist scale`` (kind dist-scale) or
``kpbench dist tta`` (kind dist-tta), the only results later steps read.

Layouts: dist-scale.schema.json and dist-tta.schema.json beside this file. ``check_scale_record``
checks what kpbench itself relies on (and the whole schema when jsonschema is installed, as in
the tests).
"""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from kpbench import atomic
from kpbench.errors import KpbenchError

SCHEMA = "kpbench.dist-scale/1"
KIND = "dist-scale"
SCHEMA_FILE = Path(__file__).with_name("dist-scale.schema.json")
TTA_SCHEMA = "kpbench.dist-tta/1"
TTA_KIND = "dist-tta"
KINDS = {KIND: (SCHEMA, SCHEMA_FILE, ("rows", "allreduce", "prediction", "config")),
         TTA_KIND: (TTA_SCHEMA, Path(__file__).with_name("dist-tta.schema.json"), ("rows", "runs", "config"))}


def machine_info() -> dict:
    """The machine a figure comes from: host, CPU, cores, torch, Python, OS."""
    import torch

    host = platform.node().split(".")[0] or "host"
    return {"host": host, "torch": torch.__version__, "python": platform.python_version(),
            "os": f"{platform.system()}-{platform.release()}-{platform.machine()}", "cpu": _cpu_name(),
            "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()}


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _where(link_bit_per_s: float | None) -> str:
    return f"tbf {link_bit_per_s / 1e6:g} Mbit/s" if link_bit_per_s else "loopback"


def build_scale_record(config: dict, rows: list[dict], allreduce: dict, prediction: dict,
                       compare: list[dict] | None = None, *, failures: list[dict] | None = None,
                       complete: bool = True) -> dict:
    """The Record; ``complete`` false while the study is still running (or was stopped), ``failures``
    one entry per job that failed ({job, nproc, message}: the rank and the cause)."""
    machine = machine_info()
    record: dict[str, Any] = {
        "schema": SCHEMA, "kind": KIND, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label": f"{config['model']} on {machine['host']}, {_where(config.get('link_limit_bit_per_s'))}, "
                 f"hook {config['comm_hook']}",
        "config": config, "machine": machine,
        "complete": complete, "rows": rows, "allreduce": allreduce, "prediction": prediction,
        "failures": list(failures or []),
    }
    if compare:
        record["compare"] = compare
    return check_scale_record(record, "dist-scale Record")


def build_tta_record(config: dict, rows: list[dict], runs: list[dict], *, complete: bool = True) -> dict:
    """A dist-tta Record: per configuration the means and spread over repeats (``rows``), and every run."""
    machine = machine_info()
    record = {
        "schema": TTA_SCHEMA, "kind": TTA_KIND, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label": f"time to {config['target_rmse_px']:g} px on {machine['host']}, "
                 f"{_where(config.get('link_limit_bit_per_s'))}",
        "config": config, "machine": machine, "complete": complete, "rows": rows, "runs": runs,
    }
    return check_scale_record(record, "dist-tta Record")


def check_scale_record(obj: Any, name: str) -> dict:
    """obj if it is a dist-scale or dist-tta Record of this schema; KpbenchError naming ``name`` otherwise."""
    kind = obj.get("kind") if isinstance(obj, dict) else None
    if kind not in KINDS:
        raise KpbenchError(f"{name}: not a dist-scale Record (no \"kind\": \"{KIND}\")")
    schema, schema_file, required = KINDS[kind]
    if obj.get("schema") != schema:
        raise KpbenchError(f"{name}: {kind} schema {obj.get('schema')!r} is not supported (this kpbench reads {schema!r})")
    try:
        import jsonschema
    except ImportError:  # not a runtime dependency: check the parts kpbench reads
        for key in required:
            if not isinstance(obj.get(key), list if key in ("rows", "runs") else dict):
                raise KpbenchError(f"{name}: {kind} Record lacks {key!r}") from None
        return obj
    try:
        jsonschema.validate(obj, json.loads(schema_file.read_text(encoding="utf-8")))
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "top level"
        raise KpbenchError(f"{name}: not a valid {kind} Record at {where}: {e.message}") from None
    return obj


def write_scale_record(path: str | Path, record: dict) -> None:
    """Atomically: an interrupted write leaves the old file or none, never half a Record."""
    atomic.write_json(path, record)


def json_summary(record: dict) -> dict:
    """What ``--json`` prints: the rows' headline figures, the α-β fit, the prediction."""
    keys = ("nproc", "step_s", "compute_s", "comm_s", "exposed_comm_s", "images_per_s", "speedup")
    ar = {k: v for k, v in record["allreduce"].items() if k != "points"}
    ar["points"] = [{k: p[k] for k in ("size_bytes", "nproc", "time_s", "algbw_bytes_per_s", "busbw_bytes_per_s")}
                    for p in record["allreduce"]["points"]]
    out = {"rows": [{k: r[k] for k in keys} for r in record["rows"]], "allreduce": ar,
           "prediction": record["prediction"]}
    if record.get("compare"):
        out["compare"] = record["compare"]
    out["failures"] = record.get("failures", [])
    return out
