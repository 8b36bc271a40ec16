"""A synthetic set on disk in Kaggle's layout, written all or nothing, and knowing it again later.

write_synthetic writes the five CSVs and a marker (kpbench-synthetic.json: rows, seed
and each file's hash) into a temporary directory and moves them into place, so a
failure leaves no partial set; it replaces only files the marker vouches for, unless
forced. synthetic_origin tells load_faces whether a CSV is such a file, unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from kpbench.atomic import write_json
from kpbench.data import csvwrite
from kpbench.data.faceset import COMMON_KEYPOINTS, KEYPOINT_NAMES, FaceSet
from kpbench.data.synth import COMPLETE_FRACTION, DEFAULT_ROWS, DEFAULT_SEED, synth_faces, synth_test_faces
from kpbench.errors import KpbenchError

FILES = ("training.csv", "test.csv", "IdLookupTable.csv", "SampleSubmission.csv", "solution.csv")
# Written beside them: what was written, so that a later `data synth` may replace its own
# files (and nobody else's) and load_faces can tell these faces are synthetic.
MARKER = "kpbench-synthetic.json"


def write_synthetic(out_dir: str | Path, rows: int = DEFAULT_ROWS, seed: int = DEFAULT_SEED, test_rows: int | None = None,
                    *, force: bool = False) -> dict[str, Path]:
    """Write training.csv, test.csv, IdLookupTable.csv, SampleSubmission.csv and solution.csv in Kaggle's layout.

    ``test_rows`` defaults to a quarter of ``rows`` (Kaggle: 1783 test vs 7049 training).
    Like Kaggle's lookup table, each test image asks for all 30 coordinates or the common 8.
    Unlike Kaggle, the answers are known: solution.csv (RowId,Location) scores a submission
    offline. Returns {file name: path}.

    Files already in ``out_dir`` are replaced only if kpbench wrote them (unchanged since,
    per MARKER) or ``force``; else a KpbenchError names the first one. The set is written
    into a temporary directory and moved into place: a failure (a full disk) leaves no
    partial set, and its error names the target file.
    """
    out = Path(out_dir)
    test_rows = max(1, rows // 4) if test_rows is None else test_rows
    _refuse_overwrite(out, force)
    train = synth_faces(rows, seed)
    test, truth = synth_test_faces(test_rows, seed)
    rng = np.random.default_rng([seed, 3])
    full = rng.random(test_rows) < COMPLETE_FRACTION
    common = [i for i, n in enumerate(KEYPOINT_NAMES) if n in COMMON_KEYPOINTS]
    asked = [list(range(len(KEYPOINT_NAMES))) if f else common for f in full]
    with _staging(out) as tmp:
        paths = {name: tmp / name for name in FILES}
        with _naming_target(out, "training.csv"):
            csvwrite.write_training_csv(paths["training.csv"], train)
        with _naming_target(out, "test.csv"):
            csvwrite.write_test_csv(paths["test.csv"], test)
        with _naming_target(out, "IdLookupTable.csv"):
            csvwrite.write_lookup_csv(paths["IdLookupTable.csv"], paths["SampleSubmission.csv"], paths["solution.csv"],
                                      test.image_ids, asked, truth)
        marker = {"written_by": "kpbench data synth", "rows": rows, "seed": seed, "test_rows": test_rows,
                  "sha256": {name: _file_sha256(path) for name, path in paths.items()}}
        with _naming_target(out, MARKER):
            write_json(tmp / MARKER, marker)
        _move_into_place(tmp, out)
    return {name: out / name for name in FILES}


def synthetic_origin(file: Path, faces: FaceSet) -> dict | None:
    """{"synthetic_rows", "synthetic_seed"} when ``file`` is a training.csv or test.csv that
    write_synthetic wrote and nobody changed since (its hash is the one MARKER recorded); else None."""
    if file.name not in ("training.csv", "test.csv") or not faces.sha256:
        return None
    marker = _read_marker(file.parent)
    if marker is None or marker["sha256"].get(file.name) != faces.sha256:
        return None
    return {"synthetic_rows": marker["rows" if file.name == "training.csv" else "test_rows"], "synthetic_seed": marker["seed"]}


def _read_marker(folder: Path) -> dict | None:
    try:
        marker = json.loads((folder / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = (isinstance(marker, dict) and isinstance(marker.get("sha256"), dict)
          and all(isinstance(marker.get(k), int) for k in ("rows", "seed", "test_rows")))
    return marker if ok else None


def _refuse_overwrite(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise KpbenchError(f"{out}: exists and is not a directory")
    existing = [out / name for name in FILES if (out / name).exists()]
    if not existing or force:
        return
    marker = _read_marker(out)
    for path in existing:
        if marker is None or marker["sha256"].get(path.name) != _file_sha256(path):
            raise KpbenchError(f"{path}: already exists and is not kpbench's own synthetic output; "
                               "use --force to replace it")


def _file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@contextlib.contextmanager
def _staging(out: Path) -> Iterator[Path]:
    """A temporary directory on the same file system as ``out``: inside it when it exists, else beside it.

    Directories made for it are removed again when the set did not move in."""
    existed = out.is_dir()
    parent = out if existed else out.parent
    made = [p for p in (parent, *parent.parents) if not p.exists()]  # deepest first
    try:
        parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".kpbench-synth-" if existed else f".{out.name}.", suffix=".tmp", dir=parent))
        os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes 0700; the set is meant to be shared
    except OSError as e:
        raise KpbenchError(f"{out}: can't create the directory ({e.strerror or e})") from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)  # gone already when the set moved in whole
        for folder in made:
            with contextlib.suppress(OSError):
                folder.rmdir()  # only empty ones go: after success they hold the set


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _naming_target(out: Path, name: str) -> Iterator[None]:
    """OSErrors while writing into the staging directory name the file the user asked for."""
    try:
        yield
    except OSError as e:
        raise KpbenchError(f"{out / name}: can't write ({e.strerror or e})") from None


def _move_into_place(tmp: Path, out: Path) -> None:
    if not out.exists():
        with _naming_target(out.parent, out.name):
            os.rename(tmp, out)  # the whole set appears at once
        return
    for name in (*FILES, MARKER):  # renames within one file system: they need no space
        with _naming_target(out, name):
            os.replace(tmp / name, out / name)
