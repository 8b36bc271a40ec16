"""The dist-scale Record: one JSON file per ``kpbench dist scale``, the only result later steps read.

Layout: dist-scale.schema.json beside this file. ``check_scale_record`` checks what kpbench
itself relies on (and the whole schema when jsonschema is installed, as in the tests).
"""

from __future__ import annotations

import json
import platform
import time
from pathlib import Path
from typing import Any

from kpbench import atomic
from kpbench.errors import KpbenchError

SCHEMA = "kpbench.dist-scale/1"
KIND = "dist-scale"
SCHEMA_FILE = Path(__file__).with_name("dist-scale.schema.json")


def build_scale_record(config: dict, rows: list[dict], allreduce: dict, prediction: dict,
                       compare: list[dict] | None = None, *, failures: list[dict] | None = None,
                       complete: bool = True) -> dict:
    """The Record; ``complete`` false while the study is still running (or was stopped), ``failures``
    one entry per job that failed ({job, nproc, message}: the rank and the cause)."""
    import torch

    host = platform.node().split(".")[0] or "host"
    link = config.get("link_limit_bit_per_s")
    where = f"tbf {link / 1e6:g} Mbit/s" if link else "loopback"
    record: dict[str, Any] = {
        "schema": SCHEMA, "kind": KIND, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label": f"{config['model']} on {host}, {where}, hook {config['comm_hook']}",
        "config": config,
        "machine": {"host": host, "torch": torch.__version__, "python": platform.python_version(),
                    "os": f"{platform.system()}-{platform.release()}-{platform.machine()}"},
        "complete": complete, "rows": rows, "allreduce": allreduce, "prediction": prediction,
        "failures": list(failures or []),
    }
    if compare:
        record["compare"] = compare
    return check_scale_record(record, "dist-scale Record")


def check_scale_record(obj: Any, name: str) -> dict:
    """obj if it is a dist-scale Record of this schema; KpbenchError naming ``name`` otherwise."""
    if not isinstance(obj, dict) or obj.get("kind") != KIND:
        raise KpbenchError(f"{name}: not a dist-scale Record (no \"kind\": \"{KIND}\")")
    if obj.get("schema") != SCHEMA:
        raise KpbenchError(f"{name}: dist-scale schema {obj.get('schema')!r} is not supported (this kpbench reads {SCHEMA!r})")
    try:
        import jsonschema
    except ImportError:  # not a runtime dependency: check the parts kpbench reads
        for key, kind in (("rows", list), ("allreduce", dict), ("prediction", dict), ("config", dict)):
            if not isinstance(obj.get(key), kind):
                raise KpbenchError(f"{name}: dist-scale Record lacks {key!r}") from None
        return obj
    try:
        jsonschema.validate(obj, json.loads(SCHEMA_FILE.read_text(encoding="utf-8")))
    except jsonschema.ValidationError as e:
        where = "/".join(str(p) for p in e.absolute_path) or "top level"
        raise KpbenchError(f"{name}: not a valid dist-scale Record at {where}: {e.message}") from None
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
