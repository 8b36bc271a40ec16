"""The files that make a Kaggle data set at a path, and nothing else: what may be copied to a cluster.

``kpbench cloud plan --data PATH`` uploads these to every cluster, so a path that is not a data set
(``/``, a home directory, ``/etc/passwd``) must never be taken whole. A directory gives its training
file (training.csv, training.zip or the competition zip, as ``find_file`` picks) and the test and
lookup files beside it; a file must be one of them itself. Each is checked by what it holds, not by
its name alone: a CSV's first line must be a Kaggle header, a zip must hold only Kaggle's files.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from kpbench.data.faceset import COORD_COLUMNS
from kpbench.data.kaggle import find_file
from kpbench.errors import KpbenchError

SIBLINGS = ("test.csv", "test.zip", "IdLookupTable.csv", "SampleSubmission.csv")
KAGGLE_COLUMNS = frozenset(COORD_COLUMNS) | {"Image", "ImageId", "RowId", "FeatureName", "Location"}
KAGGLE_MEMBERS = frozenset({"training.csv", "test.csv", "training.zip", "test.zip", *SIBLINGS})
_HEADER_BYTES = 64 << 10
WHAT = "training.csv, training.zip, the competition zip, or a directory holding them"


def dataset_files(path: str | Path) -> list[Path]:
    """The data set's files at ``path`` (training first); KpbenchError naming ``path`` when it holds none."""
    path = Path(path).expanduser()
    if not path.exists():
        raise KpbenchError(f"{path}: no such file or directory")
    try:
        training = find_file(path, "training")
    except KpbenchError as e:
        raise KpbenchError(f"{path}: not a Kaggle data set ({WHAT}): {e}") from None
    files = [training]
    if path.is_dir():
        files += [path / n for n in SIBLINGS if (path / n).is_file() and path / n != training]
    for f in files:
        why = _not_kaggle(f)
        if why:
            raise KpbenchError(f"{f}: not a Kaggle data set file ({why}); only {WHAT} is uploaded")
    return files


def _not_kaggle(file: Path) -> str | None:
    """Why ``file`` is not one of Kaggle's files, or None."""
    if not file.is_file():
        return "not a regular file"
    if file.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(file) as zf:
                names = {n.rsplit("/", 1)[-1] for n in zf.namelist() if not n.endswith("/")}
        except (zipfile.BadZipFile, OSError, ValueError):
            return "not a valid zip"
        odd = sorted(names - KAGGLE_MEMBERS)
        return f"holds {odd[0]!r}, which is not a Kaggle file" if odd else (None if names else "an empty zip")
    if file.suffix.lower() != ".csv":
        return "neither a .csv nor a .zip"
    try:
        with open(file, "rb") as f:
            head = f.read(_HEADER_BYTES)
    except OSError as e:
        return e.strerror or str(e)
    first = head.split(b"\n", 1)[0].decode("utf-8-sig", "replace").strip().strip("\r")
    cells = {c.strip().strip('"') for c in first.split(",")}
    return None if cells and cells <= KAGGLE_COLUMNS else "its first line is not a Kaggle header"
