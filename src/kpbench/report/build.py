"""Gather what a report is made of: Records, run directories, the data set, the cost comparison.

Nothing here fails the report: a Record that won't load, a run directory without
metrics or a part of kpbench that is missing becomes a warning (stderr, and a
'not available' note in the page) and the report renders what it has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpbench.errors import KpbenchError

RECORD_SCHEMA = "kpbench.record/1"
SCALING_KIND = "dist-scale"
RUN_PICTURES = ("curves.png", "faces.png", "keypoint_error.png")


@dataclass
class RunDir:
    path: Path
    metrics: dict | None  # metrics.json, None when missing or unreadable
    summary_md: str | None  # model_summary.md
    pictures: dict[str, bytes]  # file name → PNG bytes (curves.png, faces.png, keypoint_error.png)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict:
        return (self.metrics or {}).get("config") or {}


@dataclass
class Inputs:
    records: list[tuple[Path, dict]] = field(default_factory=list)
    scaling: list[tuple[Path, dict]] = field(default_factory=list)  # Records of kind "dist-scale"
    skipped_records: list[tuple[Path, str]] = field(default_factory=list)
    runs: list[RunDir] = field(default_factory=list)
    data_path: str | None = None
    faces: Any = None  # FaceSet, when --data was given and loads
    inspection: dict | None = None
    data_error: str | None = None
    catalog: Any = None
    comparison: Any = None
    cost_error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def gather(records: list[Path], runs: list[Path], *, data: str | Path | None = None) -> Inputs:
    inputs = Inputs()
    for path in _expand_records(records, inputs):
        _add_record(Path(path), inputs)
    if not inputs.records and not inputs.scaling:
        inputs.warn("no Records: timing and cost sections are empty (give Record JSON files from `kpbench bench`)")
    _check_configs(inputs)
    for path in _expand_runs(runs, inputs):
        inputs.runs.append(_load_run(path, inputs))
    if not runs:
        inputs.warn("no run directory: model, training and prediction sections are empty (give --runs DIR)")
    _load_data(data, inputs)
    _compare_costs(inputs)
    return inputs


# -- Records -----------------------------------------------------------------


def _expand_records(paths: list[Path], inputs: Inputs) -> list[Path]:
    # A directory stands for the Record JSON files inside it (bench writes one per run).
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(q for q in p.glob("*.json") if _is_record_like(q))
            if not found:
                inputs.warn(f"{p}: no Record JSON files in this directory")
            out.extend(found)
        else:
            out.append(p)
    return out


def _is_record_like(path: Path) -> bool:
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return True  # let the loader say what is wrong with it
    return isinstance(obj, dict) and ("schema" in obj or obj.get("kind") == SCALING_KIND)


def _add_record(path: Path, inputs: Inputs) -> None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return _skip(path, f"{path}: no such file", inputs)
    except (OSError, ValueError) as e:
        return _skip(path, f"not a JSON Record ({e})", inputs)
    if isinstance(raw, dict) and raw.get("kind") == SCALING_KIND:
        inputs.scaling.append((path, raw))  # hook: scaling Records have their own section
        return None
    try:
        record = _load_record(path)
    except KpbenchError as e:
        return _skip(path, str(e), inputs)
    inputs.records.append((path, record))
    return None


def _load_record(path: Path) -> dict:
    try:
        from kpbench.bench.record import load_record
    except ImportError:  # bench not in this tree yet: check the version ourselves
        load_record = _load_record_minimal
    return load_record(path)


def _load_record_minimal(path: Path) -> dict:
    obj = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(obj, dict) or obj.get("schema") != RECORD_SCHEMA:
        found = obj.get("schema") if isinstance(obj, dict) else None
        raise KpbenchError(f"{Path(path).name}: schema {found!r}, expected {RECORD_SCHEMA!r}")
    return obj


def _skip(path: Path, reason: str, inputs: Inputs) -> None:
    inputs.skipped_records.append((path, reason))
    named = reason if reason.startswith((path.name, str(path))) else f"{path.name}: {reason}"
    inputs.warn(f"Record skipped: {named}")


def _check_configs(inputs: Inputs) -> None:
    # Records timed on different work are not comparable; say so rather than hide it.
    keys = ("model", "batch_size", "epochs", "rows", "precision", "data_sha256")
    seen = {k: {str((r.get("config") or {}).get(k)) for _, r in inputs.records} for k in keys}
    differ = [k for k, v in seen.items() if len(v) > 1]
    if differ:
        inputs.warn("Records differ in config (" + ", ".join(differ) + "): timings compare different work")


# -- run directories ---------------------------------------------------------


def _expand_runs(paths: list[Path], inputs: Inputs) -> list[Path]:
    # A directory of run directories (the demo's runs/) stands for each of them.
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.is_dir():
            inputs.warn(f"{p}: run directory not found")
            continue
        children = sorted(c for c in p.iterdir() if (c / "metrics.json").is_file())
        if not (p / "metrics.json").is_file() and children:
            out.extend(children)
        else:
            out.append(p)
    return out


def _load_run(path: Path, inputs: Inputs) -> RunDir:
    metrics = None
    mpath = path / "metrics.json"
    try:
        metrics = json.loads(mpath.read_text(encoding="utf-8"))
        if not isinstance(metrics, dict):
            raise ValueError("not a JSON object")
    except FileNotFoundError:
        inputs.warn(f"{path}: no metrics.json in this run directory")
        metrics = None
    except (OSError, ValueError) as e:
        inputs.warn(f"{mpath}: unreadable ({e})")
        metrics = None
    summary = path / "model_summary.md"
    pictures = {n: (path / n).read_bytes() for n in RUN_PICTURES if (path / n).is_file()}
    return RunDir(path, metrics, summary.read_text(encoding="utf-8") if summary.is_file() else None, pictures)


# -- data set ------------------------------------------------------------------


def _load_data(data: str | Path | None, inputs: Inputs) -> None:
    if data is None:
        # The run's metrics name the data it trained on; use it when it is at hand.
        for run in inputs.runs:
            src = (run.metrics or {}).get("data") or {}
            cand = (src.get("source") or src.get("file") or src.get("path")) if isinstance(src, dict) else src
            if cand and (str(cand) == "synthetic" or Path(cand).exists()):
                data = cand
                break
    if data is None:
        inputs.data_error = "no data set given (pass --data PATH)"
        return
    inputs.data_path = str(data)
    try:
        from kpbench.data import load_faces
        from kpbench.data.inspect import inspect_faces  # also exported by kpbench.data
    except ImportError as e:
        inputs.data_error = f"kpbench.data cannot inspect a data set here ({e})"
        inputs.warn(f"data set not inspected: {inputs.data_error}")
        return
    try:
        faces = load_faces(data, progress=False)
        inspection = inspect_faces(faces)
    except KpbenchError as e:
        inputs.data_error = str(e)
        inputs.warn(f"data set not inspected: {e}")
        return
    inputs.faces = faces
    inputs.inspection = {"object": inspection, **inspection.to_dict()}


# -- cost ----------------------------------------------------------------------


def _compare_costs(inputs: Inputs) -> None:
    try:
        from kpbench.cost import compare, load_catalog
    except ImportError:
        inputs.cost_error = "kpbench.cost is not installed in this tree"
        inputs.warn(f"cost section empty: {inputs.cost_error}")
        return
    try:
        inputs.catalog = load_catalog()
    except KpbenchError as e:
        inputs.cost_error = f"instance catalog: {e}"
        inputs.warn(f"cost section empty: {inputs.cost_error}")
        return
    if not inputs.records:
        inputs.cost_error = "no Records to price"
        return
    try:
        inputs.comparison = compare([r for _, r in inputs.records], inputs.catalog)
    except KpbenchError as e:
        inputs.cost_error = str(e)
        inputs.warn(f"cost comparison failed: {e}")
