"""Kaggle's files as users download them: finding the CSV, the lookup table, submissions.

A path may be the competition zip (holding training.zip, test.zip and the two
lookup CSVs), training.zip / test.zip, an extracted CSV, or a directory holding
any of these.
"""

from __future__ import annotations

import csv
import io
import math
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kpbench.atomic import atomic_open
from kpbench.data.faceset import COORD_COLUMNS, FaceSet
from kpbench.errors import KpbenchError, located

SPLITS = ("training", "test")
_LOOKUP_NAMES = ("IdLookupTable.csv", "SampleSubmission.csv")


def find_file(path: str | Path, split: str = "training") -> Path:
    """The file to read for ``split``: ``path`` itself, or the best candidate in a directory."""
    if split not in SPLITS:
        raise KpbenchError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    path = Path(path).expanduser()
    if not path.is_dir():
        if not path.exists():
            raise KpbenchError(f"{path}: no such file or directory")
        return path
    for candidate in (path / f"{split}.csv", path / f"{split}.zip"):
        if candidate.is_file():
            return candidate
    for z in sorted(path.glob("*.zip")):  # the competition zip, e.g. facial-keypoints-detection.zip
        try:
            with _open_zip(z, z.read_bytes()) as zf:
                _member_for(zf, z, split)
            return z
        except KpbenchError:
            continue
    raise KpbenchError(f"{path}: no {split}.csv, {split}.zip or competition zip in this directory")


def csv_bytes(file: Path, data: bytes, split: str = "training") -> tuple[str, bytes]:
    """(member, CSV bytes) from the bytes of ``file``: the CSV itself, or the right member of a zip.

    ``member`` is the CSV's name ("training.csv"), nested as "training.zip/training.csv"
    inside the competition zip.
    """
    if file.suffix.lower() != ".zip":
        return file.name, data
    with _open_zip(file, data) as zf:
        member = _member_for(zf, file, split)
        outer, _, inner = member.partition(".zip/")
        if not inner:
            return member, _read_member(zf, file, member)
        nested = _read_member(zf, file, outer + ".zip")
    with _open_zip(file, nested) as izf:
        return member, _read_member(izf, file, inner)


def _member_for(zf: zipfile.ZipFile, path: Path, split: str) -> str:
    names = [n for n in zf.namelist() if not n.endswith("/")]
    base = {n.rsplit("/", 1)[-1]: n for n in names}
    if f"{split}.csv" in base:
        return base[f"{split}.csv"]
    if f"{split}.zip" in base:
        inner = base[f"{split}.zip"]
        with _open_zip(path, _read_member(zf, path, inner)) as izf:
            return inner + "/" + _member_for(izf, path, split)
    csvs = [n for n in names if n.lower().endswith(".csv") and n.rsplit("/", 1)[-1] not in _LOOKUP_NAMES]
    if len(csvs) == 1:  # e.g. test.zip holding test.csv; the header says what it is
        return csvs[0]
    shown = ", ".join(names[:5]) + (" …" if len(names) > 5 else "") or "nothing"
    raise located(path, f"no {split}.csv or {split}.zip inside (holds: {shown})")


def _open_zip(path: Path, data: bytes) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, EOFError, ValueError):
        raise located(path, "not a valid zip file (damaged, truncated, or not a zip)") from None


def _read_member(zf: zipfile.ZipFile, path: Path, member: str) -> bytes:
    try:
        return zf.read(member)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError) as e:
        raise located(path, f"can't read {member} from the zip ({e}); the file may be damaged or truncated") from None


# --- IdLookupTable.csv and submissions -------------------------------------------


@dataclass(frozen=True)
class Lookup:
    """The coordinates a submission must give: row ``i`` asks for
    ``test.images[image_index[i]]``'s keypoint ``keypoint_index[i]``, ``axis[i]`` (0=x, 1=y)."""

    row_ids: np.ndarray
    image_index: np.ndarray
    keypoint_index: np.ndarray
    axis: np.ndarray

    def __len__(self) -> int:
        return int(self.row_ids.shape[0])


def _lookup_bytes(path: Path) -> tuple[Path, bytes]:
    """(name for errors, bytes) of IdLookupTable.csv: the file, one in a directory, or one in a zip."""
    path = Path(path).expanduser()
    if path.is_dir():
        if (path / "IdLookupTable.csv").is_file():
            path = path / "IdLookupTable.csv"
        else:  # the competition zip in the directory
            zips = [z for z in sorted(path.glob("*.zip")) if "IdLookupTable.csv" in _zip_names(z)]
            if not zips:
                raise KpbenchError(f"{path}: no IdLookupTable.csv or competition zip in this directory")
            path = zips[0]
    if not path.is_file():
        raise KpbenchError(f"{path}: no such file")
    if path.suffix.lower() != ".zip":
        return path, path.read_bytes()
    with _open_zip(path, path.read_bytes()) as zf:
        if "IdLookupTable.csv" not in zf.namelist():
            raise located(path, "no IdLookupTable.csv inside")
        return Path("IdLookupTable.csv"), _read_member(zf, path, "IdLookupTable.csv")


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except (zipfile.BadZipFile, OSError):
        return []


def _csv_rows(path: Path, data: bytes, header: list[str]) -> list[tuple[int, list[str]]]:
    """(line, fields) of each non-blank row after checking the header; BOM and CRLF accepted."""
    text = data.decode("utf-8-sig", "replace")
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise located(path, "empty file, expected a header line", row=1)
    got = [c.strip() for c in next(csv.reader([lines[0]]))]
    missing = [c for c in header if c not in got]
    if missing:
        raise located(path, f"missing column {missing[0]}", row=1)
    index = [got.index(c) for c in header]
    rows = []
    for line_no, fields in enumerate(csv.reader(lines[1:]), start=2):
        if not fields or all(not f.strip() for f in fields):
            continue
        if len(fields) != len(got):
            raise located(path, f"{len(fields)} fields, expected {len(got)}", row=line_no)
        rows.append((line_no, [fields[i].strip() for i in index]))
    return rows


def read_lookup(path: str | Path, test: FaceSet) -> Lookup:
    """IdLookupTable.csv (or a directory / competition zip holding it), resolved against ``test``."""
    if test.image_ids is None:
        raise KpbenchError("read_lookup needs the test faces (a FaceSet with image_ids)")
    file, data = _lookup_bytes(Path(path))
    position = {int(i): k for k, i in enumerate(test.image_ids.tolist())}
    coord = {c: k for k, c in enumerate(COORD_COLUMNS)}
    rows = _csv_rows(file, data, ["RowId", "ImageId", "FeatureName"])
    out = np.empty((len(rows), 4), np.int64)
    seen: set[int] = set()
    for r, (line, (row_id, image_id, feature)) in enumerate(rows):
        rid = _int(file, row_id, line, "RowId")
        if rid in seen:
            raise located(file, f"duplicate RowId {rid}", row=line, column="RowId")
        seen.add(rid)
        iid = _int(file, image_id, line, "ImageId")
        if iid not in position:
            raise located(file, f"ImageId {iid} is not in the test images", row=line, column="ImageId")
        if feature not in coord:
            raise located(file, f"unknown feature {feature!r}", row=line, column="FeatureName")
        out[r] = (rid, position[iid], coord[feature] // 2, coord[feature] % 2)
    return Lookup(*(out[:, k].copy() for k in range(4)))


def _int(path: Path, text: str, line: int, column: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise located(path, f"{text[:20]!r} is not an integer", row=line, column=column) from None


def write_submission(path: str | Path, row_ids: np.ndarray, locations: np.ndarray) -> None:
    """RowId,Location for Kaggle, written atomically."""
    row_ids, locations = np.asarray(row_ids), np.asarray(locations, dtype=np.float64)
    if row_ids.shape != locations.shape or row_ids.ndim != 1:
        raise KpbenchError(f"submission: {row_ids.shape} row ids but {locations.shape} locations")
    if not np.isfinite(locations).all():
        raise KpbenchError("submission: some locations are NaN or infinite")
    with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write("RowId,Location\n")
        f.writelines(f"{int(r)},{v:.4f}\n" for r, v in zip(row_ids.tolist(), locations.tolist()))


def read_submission(path: str | Path) -> dict[int, float]:
    """{RowId: Location} from a submission file."""
    path = Path(path)
    if not path.is_file():
        raise KpbenchError(f"{path}: no such file")
    out: dict[int, float] = {}
    for line, (row_id, location) in _csv_rows(path, path.read_bytes(), ["RowId", "Location"]):
        rid = _int(path, row_id, line, "RowId")
        if rid in out:
            raise located(path, f"duplicate RowId {rid}", row=line, column="RowId")
        try:
            value = float(location)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise located(path, f"{location[:20]!r} is not a number", row=line, column="Location")
        out[rid] = value
    return out
