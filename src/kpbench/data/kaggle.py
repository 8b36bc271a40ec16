"""Kaggle's files as users download them: finding the CSV, the lookup table, submissions.

A path may be the competition zip (holding training.zip, test.zip and the two
lookup CSVs), training.zip / test.zip, an extracted CSV, or a directory holding
any of these.

Sizes are capped before anything is unpacked or read whole: a faces CSV (or a zip
member that would unpack to one) may hold at most ``max_csv_bytes()``, 2 GiB unless
``$KPBENCH_MAX_CSV_BYTES`` says otherwise (Kaggle's training.csv is 240 MB); a lookup
table or submission at most 256 MiB (Kaggle's IdLookupTable.csv is 0.8 MB). A zip
member's size is taken from its header and counted again while it is read, since a
header can lie.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np

from kpbench.atomic import atomic_open
from kpbench.data.faceset import COORD_COLUMNS, COORD_MAX_PX, COORD_MIN_PX, FaceSet
from kpbench.errors import KpbenchError, located

SPLITS = ("training", "test")
_LOOKUP_NAMES = ("IdLookupTable.csv", "SampleSubmission.csv")
DEFAULT_MAX_CSV_BYTES = 2 << 30  # ~8x Kaggle's training.csv: room for 50,000 faces
MAX_TABLE_BYTES = 256 << 20
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError, NotImplementedError, RuntimeError)


def max_csv_bytes() -> int:
    """The most bytes a faces CSV may hold: ``$KPBENCH_MAX_CSV_BYTES`` or 2 GiB."""
    text = os.environ.get("KPBENCH_MAX_CSV_BYTES", "").strip()
    if not text:
        return DEFAULT_MAX_CSV_BYTES
    try:
        value = int(text)
        if value < 1:
            raise ValueError
    except ValueError:
        raise KpbenchError(f"KPBENCH_MAX_CSV_BYTES={text[:20]!r}: expected a whole number of bytes >= 1") from None
    return value


def find_file(path: str | Path, split: str = "training") -> Path:
    """The file to read for ``split``: ``path`` itself, or the best candidate in a directory."""
    if split not in SPLITS:
        raise KpbenchError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    path = Path(path).expanduser()
    if not path.is_dir():
        if not path.exists():
            raise KpbenchError(f"{path}: no such file or directory")
        if not path.is_file():  # a FIFO or a device: /dev/zero would never end
            raise KpbenchError(f"{path}: not a regular file")
        return path
    for candidate in (path / f"{split}.csv", path / f"{split}.zip"):
        if candidate.is_file():
            return candidate
    for z in sorted(path.glob("*.zip")):  # the competition zip, e.g. facial-keypoints-detection.zip
        try:
            with _open_zip(z) as zf:
                _member_for(zf, z, split)
            return z
        except KpbenchError:
            continue
    raise KpbenchError(f"{path}: no {split}.csv, {split}.zip or competition zip in this directory")


@contextlib.contextmanager
def open_faces_csv(file: Path, split: str = "training") -> Iterator[tuple[str, IO[bytes], int]]:
    """(member, stream, most bytes it holds) of the faces CSV in ``file``: the CSV itself or a zip's member.

    ``member`` is the CSV's name ("training.csv"), nested as "training.zip/training.csv"
    inside the competition zip. Sizes over ``max_csv_bytes()`` are refused before
    reading; read errors and damaged zips are one-line errors naming ``file``.
    """
    limit = max_csv_bytes()
    if file.suffix.lower() != ".zip":
        with _open_file(file) as f:
            size = os.fstat(f.fileno()).st_size
            _check_size(file, file.name, size, limit)
            yield file.name, _Capped(f, file, file.name, limit), size
        return
    with _open_zip(file) as zf:
        member = _member_for(zf, file, split)
        outer, _, inner = member.partition(".zip/")
        if not inner:
            with _open_member(zf, file, member, limit) as (stream, size):
                yield member, stream, size
            return
        nested = _read_member(zf, file, outer + ".zip", limit)
    with _open_zip(file, nested) as izf, _open_member(izf, file, inner, limit, shown=member) as (stream, size):
        yield member, stream, size


def _check_size(file: Path, member: str, size: int, limit: int, *, counted: bool = False) -> None:
    """Refuse ``size`` bytes over ``limit``; ``counted``: found while reading (so "more than")."""
    if size <= limit:
        return
    what = "is" if member == file.name else f"holds {member}, which would unpack to"
    amount = f"more than {limit:,} bytes" if counted else f"{size:,} bytes"
    if limit == MAX_TABLE_BYTES:
        hint = "a lookup table or submission may hold 256 MiB"
    else:
        hint = f"the limit for a faces CSV is {limit:,} bytes (Kaggle's training.csv is 240 MB); set KPBENCH_MAX_CSV_BYTES to allow more"
    raise located(file, f"{what} {amount}: refused ({hint})")


class _Capped(io.RawIOBase):
    """A read-only stream over ``raw`` that counts what it gives and stops past ``limit`` bytes;
    read errors become one-line errors naming ``file``."""

    def __init__(self, raw: IO[bytes], file: Path, member: str, limit: int) -> None:
        self._raw, self._file, self._member, self._limit, self.read_bytes = raw, file, member, limit, 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        want = self._limit + 1 - self.read_bytes  # one byte more than allowed shows the limit was passed
        try:
            data = self._raw.read(want if size is None or size < 0 else min(size, want))
        except _ZIP_ERRORS as e:
            raise located(self._file, f"can't read {self._member} ({_reason(e)}); the file may be damaged or truncated") from None
        self.read_bytes += len(data)
        _check_size(self._file, self._member, self.read_bytes, self._limit, counted=True)
        return data


def _reason(e: BaseException) -> str:
    text = e.strerror if isinstance(e, OSError) and e.strerror else str(e) or type(e).__name__
    return " ".join(text.split())[:120]  # one line, whatever the library said


@contextlib.contextmanager
def _open_file(file: Path) -> Iterator[IO[bytes]]:
    try:
        fd = os.open(file, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not wait for a writer: refused below
    except OSError as e:
        raise located(file, f"can't read ({_reason(e)})") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise located(file, "not a regular file (a FIFO, a device or a directory would never be a Kaggle file)")
    with os.fdopen(fd, "rb") as f:
        yield f


@contextlib.contextmanager
def _open_member(zf: zipfile.ZipFile, file: Path, member: str, limit: int, *, shown: str | None = None) -> Iterator[tuple[IO[bytes], int]]:
    shown = shown or member
    info = zf.getinfo(member)
    _check_size(file, shown, info.file_size, limit)  # before unpacking anything: a zip bomb stops here
    try:
        raw = zf.open(info)
    except _ZIP_ERRORS as e:
        raise located(file, f"can't read {shown} from the zip ({_reason(e)}); the file may be damaged or truncated") from None
    with raw:
        yield _Capped(raw, file, shown, limit), info.file_size


def _member_for(zf: zipfile.ZipFile, path: Path, split: str) -> str:
    names = [n for n in zf.namelist() if not n.endswith("/")]
    base = {n.rsplit("/", 1)[-1]: n for n in names}
    if f"{split}.csv" in base:
        return base[f"{split}.csv"]
    if f"{split}.zip" in base:
        inner = base[f"{split}.zip"]
        with _open_zip(path, _read_member(zf, path, inner, max_csv_bytes())) as izf:
            return inner + "/" + _member_for(izf, path, split)
    csvs = [n for n in names if n.lower().endswith(".csv") and n.rsplit("/", 1)[-1] not in _LOOKUP_NAMES]
    if len(csvs) == 1:  # e.g. test.zip holding test.csv; the header says what it is
        return csvs[0]
    shown = ", ".join(repr(n)[1:-1][:60] for n in names[:5]) + (" …" if len(names) > 5 else "") or "nothing"
    raise located(path, f"no {split}.csv or {split}.zip inside (holds: {shown})")


def _open_zip(path: Path, data: bytes | None = None) -> zipfile.ZipFile:
    """The zip at ``path`` (read lazily), or held in ``data`` (a zip inside it)."""
    try:
        return zipfile.ZipFile(path if data is None else io.BytesIO(data))
    except _ZIP_ERRORS:
        raise located(path, "not a valid zip file (damaged, truncated, or not a zip)") from None


def _read_member(zf: zipfile.ZipFile, path: Path, member: str, limit: int) -> bytes:
    """A member's bytes whole (a nested zip, a lookup table): at most ``limit``, checked first."""
    with _open_member(zf, path, member, limit) as (stream, _):
        return stream.read()


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
        return path, read_table_bytes(path)
    with _open_zip(path) as zf:
        if "IdLookupTable.csv" not in zf.namelist():
            raise located(path, "no IdLookupTable.csv inside")
        return Path("IdLookupTable.csv"), _read_member(zf, path, "IdLookupTable.csv", MAX_TABLE_BYTES)


def read_table_bytes(path: Path) -> bytes:
    """The bytes of a lookup table or submission; over 256 MiB is refused before reading."""
    with _open_file(path) as f:
        _check_size(path, path.name, os.fstat(f.fileno()).st_size, MAX_TABLE_BYTES)
        return _Capped(f, path, path.name, MAX_TABLE_BYTES).read()


def _zip_names(path: Path) -> list[str]:
    try:
        with zipfile.ZipFile(path) as zf:
            return zf.namelist()
    except _ZIP_ERRORS:
        return []


def _csv_rows(path: Path, data: bytes, header: list[str]) -> list[tuple[int, list[str]]]:
    """(line, fields) of each non-blank row after checking the header; BOM, CRLF and quotes accepted.

    Kaggle's tables never hold a comma inside a field, so a line is split on commas
    and quotes around a field are dropped (no csv module: its field-size limit and
    multi-line quoted fields would turn a damaged file into a confusing error).
    """
    text = data.decode("utf-8-sig", "replace").replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if not lines[0].strip():
        raise located(path, "empty file, expected a header line", row=1)
    got = _fields(lines[0])
    missing = [c for c in header if c not in got]
    if missing:
        raise located(path, f"missing column {missing[0]}", row=1)
    index = [got.index(c) for c in header]
    rows = []
    for line_no, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = _fields(line)
        if len(fields) != len(got):
            raise located(path, f"{len(fields)} fields, expected {len(got)}", row=line_no)
        rows.append((line_no, [fields[i] for i in index]))
    return rows


def _fields(line: str) -> list[str]:
    return [f.strip().strip('"').strip() for f in line.split(",")]


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
            raise located(file, f"unknown feature {_quote(feature)}", row=line, column="FeatureName")
        out[r] = (rid, position[iid], coord[feature] // 2, coord[feature] % 2)
    return Lookup(*(out[:, k].copy() for k in range(4)))


def _int(path: Path, text: str, line: int, column: str) -> int:
    """A whole number 0 <= n < 2**63 (it goes into an int64 array), else a located error."""
    if text.isascii() and text.isdigit() and len(text) < 19:
        return int(text)
    raise located(path, f"{_quote(text)} is not a whole number", row=line, column=column)


def _quote(text: str) -> str:
    return repr(text if len(text) <= 20 else text[:20] + "…")


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
    """{RowId: Location} from a submission (or solution) file.

    A Location is a pixel coordinate: not a number, infinite, or outside the margin
    around the image (-48 to 144 px, as for training labels) is a located error.
    """
    path = Path(path)
    if not path.is_file():
        raise KpbenchError(f"{path}: no such file")
    out: dict[int, float] = {}
    for line, (row_id, location) in _csv_rows(path, read_table_bytes(path), ["RowId", "Location"]):
        rid = _int(path, row_id, line, "RowId")
        if rid in out:
            raise located(path, f"duplicate RowId {rid}", row=line, column="RowId")
        try:
            value = float(location)
        except ValueError:
            raise located(path, f"{_quote(location)} is not a number", row=line, column="Location") from None
        if not math.isfinite(value):
            raise located(path, f"{_quote(location)} is not a coordinate", row=line, column="Location")
        if not COORD_MIN_PX <= value <= COORD_MAX_PX:
            raise located(path, f"{_quote(location)} is far outside the image "
                          f"(locations are pixels, {COORD_MIN_PX:g} to {COORD_MAX_PX:g} allowed)", row=line, column="Location")
        out[rid] = value
    return out
