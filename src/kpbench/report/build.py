"""Gather what a report is made of: Records, run directories, the data set, the cost comparison.

Nothing here fails the report: a Record that won't load, a run directory without
metrics or a data set that won't load becomes a warning (stderr, and a
'not available' note in the page) and the report renders what it has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kpbench.bench.record import load_record
from kpbench.cost import Catalog, Comparison, compare, load_catalog
from kpbench.data import SYNTHETIC, FaceSet
from kpbench.errors import KpbenchError
from kpbench.estimate.compare import estimated_run
from kpbench.estimate.record import check_estimate, is_estimate
from kpbench.inputs import Refused, read_bytes, read_text

SCALING_KIND = "dist-scale"
SCALING_KINDS = (SCALING_KIND, "dist-tta")  # the scaling study's Records: section 9 reads them
RUN_PICTURES = ("curves.png", "faces.png", "keypoint_error.png")
PICTURE_LIMIT_BYTES = 64 << 20  # a run's PNG is a few hundred KB


@dataclass
class RunDir:
    path: Path
    metrics: dict | None  # metrics.json, None when missing or unreadable
    pictures: dict[str, bytes]  # file name → PNG bytes (curves.png, faces.png, keypoint_error.png)

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def config(self) -> dict:
        return self.metrics.get("config", {}) if self.metrics else {}


@dataclass
class Inputs:
    records: list[tuple[Path, dict]] = field(default_factory=list)
    scaling: list[tuple[Path, dict]] = field(default_factory=list)  # Records of kind "dist-scale" or "dist-tta"
    estimates: list[tuple[Path, dict]] = field(default_factory=list)  # Records of kind "estimate" (kpbench estimate)
    skipped_records: list[tuple[Path, str]] = field(default_factory=list)
    runs: list[RunDir] = field(default_factory=list)
    data_path: str | None = None
    faces: Any = None  # FaceSet, when --data was given and loads
    inspection: Any = None  # its kpbench.data.Inspection
    data_error: str | None = None
    catalog: Catalog | None = None
    comparison: Comparison | None = None
    cost_error: str | None = None
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        self.warnings.append(message)


def gather(records: list[Path], runs: list[Path], *, data: str | Path | FaceSet | None = None) -> Inputs:
    """Everything the report shows, read once; what could not be read is in `warnings`."""
    inputs = Inputs()
    for path, raw in _expand_records(records, inputs):
        _add_record(path, raw, inputs)
    if not inputs.records and not inputs.scaling and not inputs.estimates:
        inputs.warn("no Records: timing and cost sections are empty (give Record JSON files from `kpbench bench`)")
    for path in _expand_runs(runs, inputs):
        inputs.runs.append(_load_run(path, inputs))
    if not runs:
        inputs.warn("no run directory: model, training and prediction sections are empty (give --runs DIR)")
    _load_data(data, inputs)
    _compare_costs(inputs)
    if inputs.comparison is not None and inputs.comparison.config_mismatches:
        # Records timed on different work are not comparable; say so rather than hide it.
        differ = ", ".join(m.field for m in inputs.comparison.config_mismatches)
        inputs.warn(f"Records differ in config ({differ}): timings compare different work")
    return inputs


# -- Records -----------------------------------------------------------------


def _read_json(path: Path) -> Any:
    """The parsed file, or the error that stopped it (a directory's files are read once, to pick Records)."""
    if not path.exists() and not path.is_symlink():
        return FileNotFoundError(path)
    try:
        return json.loads(read_text(path, what="Record"))  # regular files of bounded size only
    except (OSError, ValueError, RecursionError, KpbenchError) as e:  # RecursionError: absurdly deep nesting
        return e


def _expand_records(paths: list[Path], inputs: Inputs) -> list[tuple[Path, Any]]:
    # A directory stands for the Record JSON files inside it (bench writes one per run).
    out: list[tuple[Path, Any]] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = [(q, _read_json(q)) for q in sorted(p.glob("*.json"))]
            found = [(q, raw) for q, raw in found if _is_record_like(raw)]
            if not found:
                inputs.warn(f"{p}: no Record JSON files in this directory")
            out.extend(found)
        else:
            raw = _read_json(p)
            if isinstance(raw, Refused):  # named on the command line and not a file at all: the user's to fix
                raise raw
            out.append((p, raw))
    return out


def _is_record_like(raw: Any) -> bool:
    if isinstance(raw, Exception):
        return True  # let the loader say what is wrong with it
    return isinstance(raw, dict) and ("schema" in raw or raw.get("kind") in (*SCALING_KINDS, "estimate"))


def _add_record(path: Path, raw: Any, inputs: Inputs) -> None:
    if isinstance(raw, FileNotFoundError):
        return _skip(path, f"{path}: no such file", inputs)
    if isinstance(raw, Exception):
        return _skip(path, f"not a JSON Record ({raw})", inputs)
    if isinstance(raw, dict) and raw.get("kind") in SCALING_KINDS:
        inputs.scaling.append((path, raw))  # hook: scaling Records have their own section
        return None
    if is_estimate(raw):  # kpbench estimate's: never a measurement, shown apart
        try:
            inputs.estimates.append((path, check_estimate(raw, path.name)))
        except KpbenchError as e:
            return _skip(path, str(e), inputs)
        return None
    try:
        record = load_record(path)  # bench's own check of a Record: schema, types, ranges
    except KpbenchError as e:
        return _skip(path, str(e), inputs)
    inputs.records.append((path, record))
    return None


def _skip(path: Path, reason: str, inputs: Inputs) -> None:
    inputs.skipped_records.append((path, reason))
    named = reason if reason.startswith((path.name, str(path))) else f"{path.name}: {reason}"
    inputs.warn(f"Record skipped: {named}")


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
    if not mpath.exists():
        inputs.warn(f"{path}: no metrics.json in this run directory")
    else:
        try:
            metrics = json.loads(read_text(mpath, what="run metrics"))
            if not isinstance(metrics, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError, RecursionError, KpbenchError) as e:
            inputs.warn(f"{mpath}: unreadable ({e})")
            metrics = None
    pictures = {}
    for name in RUN_PICTURES:
        if (path / name).exists():
            try:
                pictures[name] = read_bytes(path / name, what="picture", limit=PICTURE_LIMIT_BYTES)
            except KpbenchError as e:
                inputs.warn(str(e))
    return RunDir(path, metrics, pictures)


# -- data set ------------------------------------------------------------------


def _load_data(data: str | Path | FaceSet | None, inputs: Inputs) -> None:
    if data is None:
        # The run's metrics name the data it trained on (train writes data.source); use it when it is at hand.
        for run in inputs.runs:
            source = run.metrics.get("data", {}).get("source") if run.metrics else None
            if isinstance(source, str) and (source.startswith(SYNTHETIC + ":") or Path(source).exists()):
                data = source
                break
    if data is None:
        inputs.data_error = "no data set given (pass --data PATH)"
        return
    from kpbench.data import inspect_faces, load_faces  # numpy and friends: only when a data set is given

    inputs.data_path = data.source if isinstance(data, FaceSet) else str(data)
    try:
        faces = data if isinstance(data, FaceSet) else load_faces(data, progress=False)
        inspection = inspect_faces(faces)
    except KpbenchError as e:
        inputs.data_error = str(e)
        inputs.warn(f"data set not inspected: {e}")
        return
    inputs.faces = faces
    inputs.inspection = inspection


# -- cost ----------------------------------------------------------------------


def _compare_costs(inputs: Inputs) -> None:
    try:
        inputs.catalog = load_catalog()
    except KpbenchError as e:
        inputs.cost_error = f"instance catalog: {e}"
        inputs.warn(f"cost section empty: {inputs.cost_error}")
        return
    if not inputs.records and not inputs.estimates:
        inputs.cost_error = "no Records to price"
        return
    try:
        inputs.comparison = compare([r for _, r in inputs.records], inputs.catalog,
                                    estimates=[estimated_run(r) for _, r in inputs.estimates])
    except KpbenchError as e:
        inputs.cost_error = str(e)
        inputs.warn(f"cost comparison failed: {e}")
    except Exception as e:  # a Record malformed in a way its check missed: no cost, the rest renders
        inputs.cost_error = f"{type(e).__name__}: {e}"
        inputs.warn(f"cost comparison failed: {inputs.cost_error}")
