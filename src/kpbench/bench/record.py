"""The Record: one JSON file per bench, the only result object later steps read.

``build_record`` assembles it from the per-repeat results of the worker; every
figure the terminal, the exports, cost and report show is read from it, never
recomputed elsewhere. The layout is documented in docs/design.md, typed in
record_types.py, and checked on every load against record.schema.json
(bench/validate.py; jsonschema is only a test dependency).
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from kpbench.bench.phases import PHASES as SPLIT_PHASES
from kpbench.bench.record_types import Record
from kpbench.bench.stats import figure, spread_warning
from kpbench.bench.validate import SchemaViolation, validate
from kpbench.errors import KpbenchError, RunFailed
from kpbench.fmt import percent
from kpbench.inputs import read_text

SCHEMA = "kpbench.record/2"
SCHEMA_FILE = Path(__file__).with_name("record.schema.json")
# Version 1 measured init_s from the spawn to *before* `import torch` and the device's start
# (they ran on no clock) and had no teardown; its Records stay readable, and compare flags them.
SCHEMA_V1 = "kpbench.record/1"
SCHEMA_FILES = {SCHEMA: SCHEMA_FILE, SCHEMA_V1: Path(__file__).with_name("record-v1.schema.json")}
PHASES_V1: tuple[str, ...] = ("imports_s", "device_init_s", "data_load_s", "model_build_s", "warmup_s")

PHASES: tuple[str, ...] = SPLIT_PHASES  # the split of each repeat's wall clock (bench.phases.SPLIT)
# figure name -> unit; the order here is the order of every table.
FIGURE_UNITS: dict[str, str] = {
    "wall_s": "s",
    "init_s": "s",
    "train_s": "s",
    "epoch_s": "s",
    "images_per_s": "images/s",
    "eval_s": "s",
    "time_to_target_s": "s",
    "peak_memory_mb": "MB",
    "peak_device_memory_mb": "MB",
}
OPTIONAL_FIGURES = ("time_to_target_s", "peak_device_memory_mb")
UNATTRIBUTED_WARN_FRACTION = 0.02  # a split that misses more than this of a repeat says a timer is missing


def load_record(path: str | Path) -> Record:
    """Read and validate a Record; KpbenchError (one line naming the file and the bad value) otherwise."""
    path = Path(path)
    return check_record(read_json(path), path.name)


def read_json(path: Path) -> Any:
    """A JSON file's values (parse_json's rules); KpbenchError naming the file when it cannot be read."""
    try:
        text = read_text(path, what="Record")  # a regular file of at most 16 MiB: /dev/zero never ends
    except KpbenchError as e:
        if "not UTF-8" in str(e):
            raise KpbenchError(f"{path.name}: not valid JSON (not UTF-8 text)") from None
        raise
    return parse_json(text, path.name)


def parse_json(text: str, name: str, what: str = "kpbench Record") -> Any:
    """JSON text as Python values; NaN, Infinity and absurd nesting are refused, naming ``name``."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise KpbenchError(f"{name}: not a {what} (JSON nested too deeply)") from None
    except ValueError as e:  # JSONDecodeError, the constants above, over-long integers
        raise KpbenchError(f"{name}: not valid JSON ({' '.join(str(e).split())})") from None


def _refuse_constant(word: str) -> None:
    raise ValueError(f"{word} is not a JSON number")


def check_record(obj: Any, name: str) -> Record:
    """obj if it is a valid Record of this schema (types and ranges); KpbenchError naming ``name`` otherwise."""
    schema = obj.get("schema") if isinstance(obj, dict) else None
    if not isinstance(schema, str) or not schema.startswith("kpbench.record/"):
        raise KpbenchError(f"{name}: not a kpbench Record (no \"schema\": \"{SCHEMA}\")")
    if schema not in SCHEMA_FILES:
        readable = " and ".join(repr(v) for v in SCHEMA_FILES)
        raise KpbenchError(f"{name}: Record schema {schema!r} is not supported (this kpbench reads {readable})")
    validated(obj, record_schema(schema), name, "Record")
    return obj


def validated(obj: Any, schema: dict, name: str, what: str) -> Any:
    """obj if ``schema`` accepts it; KpbenchError "NAME: not a valid WHAT: where: problem" otherwise."""
    try:
        validate(obj, schema)
    except SchemaViolation as e:
        raise KpbenchError(f"{name}: not a valid {what}: {e}") from None
    except RecursionError:  # a path the schema leaves open, nested absurdly deep
        raise KpbenchError(f"{name}: not a valid {what} (nested too deeply)") from None
    return obj


@functools.cache
def record_schema(version: str = SCHEMA) -> dict:
    """The JSON Schema of a Record version (record.schema.json for this one), read once."""
    return json.loads(SCHEMA_FILES[version].read_text(encoding="utf-8"))


def init_s_meaning(record: Record) -> str:
    """What a Record's init_s covers, in a few words (compare flags Records that differ in it)."""
    return "v1 (partial)" if record["schema"] == SCHEMA_V1 else "v2 (complete)"


def init_phases(record: Record) -> tuple[str, ...]:
    """The phases whose sum is the Record's init_s, in the order they ran (version 1: four of them)."""
    from kpbench.bench.phases import INIT_PHASES

    return PHASES_V1[:4] if record["schema"] == SCHEMA_V1 else INIT_PHASES


def write_new_record(out_dir: Path, stem: str, record: Record) -> Path:
    """Write ``record`` under a name no other file has (``stem.json``, else ``stem-1.json`` …).

    The name is claimed with a hard link from a complete temporary file, which the
    kernel refuses when the name exists (as O_EXCL does): two benches finishing in the
    same second keep both Records, and no reader ever sees half of one.
    """
    text = json.dumps(record, indent=2) + "\n"
    target = out_dir / f"{stem}.json"
    fd, tmp = tempfile.mkstemp(prefix=f".{stem}.", suffix=".tmp", dir=out_dir)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        for n in range(1, 10_000):
            try:
                os.link(tmp, target)
                return target
            except FileExistsError:
                target = out_dir / f"{stem}-{n}.json"
        raise KpbenchError(f"{out_dir}: no free Record name for {stem}")
    except OSError as e:
        raise KpbenchError(f"{target}: cannot write the Record ({e.strerror or e})") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def ok_runs(runs: list[dict]) -> list[dict]:
    """The repeats that succeeded; RunFailed (exit 3) when every one failed."""
    ok = [r for r in runs if r["ok"]]
    if not ok:
        raise RunFailed(f"all {len(runs)} repeats failed; first error: {runs[0].get('error', 'unknown')}")
    return ok


def build_record(
    runs: list[dict],
    *,
    requested: int,
    warmup: int,
    label: str | None,
    config: dict,
    machine: dict,
    software: dict,
    flops: dict,
    cold: bool = False,
) -> Record:
    """The Record from the worker results of the counted repeats (failed ones included).

    ``cold``: every repeat started with the page cache evicted (runner.cold_start); a Record
    is all warm or all cold.
    """
    ok = ok_runs(runs)
    figures: dict[str, dict] = {}
    for name, unit in FIGURE_UNITS.items():
        values = [r["wall_s"] if name == "wall_s" else r["figures"].get(name) for r in ok]
        present = [v for v in values if v is not None]
        if name in OPTIONAL_FIGURES and not present:
            continue
        figures[name] = figure(present, unit)
    phases = {name: figure([r["phases"][name] for r in ok], "s") for name in PHASES}
    # Spread warnings for the figures; a phase of milliseconds is noisy by nature and
    # its noise shows in init_s when it matters.
    warnings = [w for name, fig in figures.items() if (w := spread_warning(name, fig))]
    if "time_to_target_s" in figures and len(figures["time_to_target_s"]["values"]) < len(ok):
        reached = len(figures["time_to_target_s"]["values"])
        warnings.append(f"time_to_target_s: target reached in {reached} of {len(ok)} repeats; the figure covers those")
    elif config.get("target_rmse_px") is not None and "time_to_target_s" not in figures:
        warnings.append(f"time_to_target_s: target {config['target_rmse_px']} px not reached in any repeat")
    warnings += unattributed_warnings(ok)
    return {
        "schema": SCHEMA,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "label": label,
        "cold": bool(cold),
        "repeats": {
            "requested": requested,
            "completed": len(ok),
            "warmup": warmup,
            "failed": [{"repeat": r["repeat"], "error": r.get("error", "")} for r in runs if not r["ok"]],
        },
        "figures": figures,
        "phases": phases,
        "data_load": _most_common([r["data_load"] for r in ok]),
        "flops": flops,
        "machine": machine,
        "software": software,
        "config": config,
        "runs": [_run_entry(r) for r in runs],
        "warnings": warnings,
    }


def unattributed_warnings(ok: list[dict]) -> list[str]:
    """One warning per repeat whose timers missed more than UNATTRIBUTED_WARN_FRACTION of its wall clock."""
    out = []
    for r in ok:
        share = r["phases"]["unattributed_s"] / r["wall_s"] if r["wall_s"] > 0 else 0.0
        if share > UNATTRIBUTED_WARN_FRACTION:
            out.append(f"repeat {r['repeat']}: {percent(share)} of its {r['wall_s']:.2f} s wall clock is in no phase "
                       f"(unattributed_s {r['phases']['unattributed_s']:.3f} s)")
    return out


def _most_common(values: list[str]) -> str:
    # Warm-up repeats usually fill the parse cache; the counted ones then agree.
    return Counter(values).most_common(1)[0][0]


def _run_entry(r: dict) -> dict[str, Any]:
    entry: dict[str, Any] = {"repeat": r["repeat"], "ok": r["ok"]}
    if not r["ok"]:
        entry["error"] = r.get("error", "")
    entry["phases"] = r.get("phases", {})
    entry["figures"] = r.get("figures", {})
    entry["final_val_rmse_px"] = r.get("final_val_rmse_px")
    for key in ("data_load", "wall_s", "eviction"):
        if key in r:
            entry[key] = r[key]
    return entry
