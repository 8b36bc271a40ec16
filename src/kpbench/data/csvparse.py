"""Parse Kaggle's training.csv / test.csv bytes into arrays, fast, and say exactly what is wrong.

The common approach (pandas, then one np.fromstring per Image) spends seconds
on 28 million pixel strings. Here Python walks the rows only (a few thousand),
and the pixels of a chunk of rows are parsed at once with numpy: find the
separating spaces, then each number's value from its last three digits.

Errors name the line in the file (the header is row 1) and the column.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from kpbench.data.faceset import COORD_COLUMNS, IMAGE_SIZE, KEYPOINT_NAMES
from kpbench.errors import located

PIXELS = IMAGE_SIZE * IMAGE_SIZE
_ROWS_PER_CHUNK = 64  # ~2 MB of text: numpy's temporaries stay small and are reused
_BOM = b"\xef\xbb\xbf"


@dataclass
class ParsedCSV:
    images: np.ndarray  # (N, 96, 96) uint8
    keypoints: np.ndarray | None  # (N, 15, 2) float32, NaN = missing; None for a test file
    image_ids: np.ndarray | None  # (N,) int64 for a test file


Progress = Callable[[int, int], None]  # (rows done, rows in all); may raise to stop early


def parse_faces_csv(data: bytes, name: str, progress: Progress | None = None) -> ParsedCSV:
    """A training.csv (30 coordinate columns + Image) or test.csv (ImageId, Image) from its bytes.

    Accepts a UTF-8 BOM, Windows line endings and quoted fields. ``name`` is the
    file name used in error messages.
    """
    data = _normalise(data)
    if not data or data.isspace():  # (not data.strip(): that would copy 100 MB)
        raise located(name, "empty file, expected a header line", row=1)
    header_end = data.find(b"\n")
    header_end = len(data) if header_end < 0 else header_end
    columns = _header(data[:header_end], name)
    test = "ImageId" in columns
    rows = _split_rows(data, header_end + 1, columns, name)
    if not rows:
        raise located(name, "no data rows after the header", row=1)
    # labels first: a bad coordinate is found before seconds of pixel parsing
    if test:
        image_ids = _image_ids(rows, columns, name)
        return ParsedCSV(_parse_images(data, rows, name, progress), None, image_ids)
    keypoints = _coordinates(rows, columns, name)
    return ParsedCSV(_parse_images(data, rows, name, progress), keypoints, None)


def _normalise(data: bytes) -> bytes:
    # Each of these is one pass in C, and only when needed.
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b'"' in data:  # Kaggle's fields never hold commas, so quotes carry no meaning
        data = data.replace(b'"', b"")
    return data


def _header(line: bytes, name: str) -> list[str]:
    try:
        columns = [c.strip() for c in line.decode("utf-8").split(",")]
    except UnicodeDecodeError:
        raise located(name, "the header is not text: not a Kaggle training.csv or test.csv", row=1) from None
    for c in columns:
        if columns.count(c) > 1:
            raise located(name, f"column {c!r} appears twice", row=1)
    if "ImageId" in columns:
        expected = ["ImageId", "Image"]
    elif "Image" in columns or set(columns) & set(COORD_COLUMNS):
        expected = [*COORD_COLUMNS, "Image"]
    else:
        shown = line[:60].decode("utf-8", "replace")
        raise located(name, f"not a Kaggle training.csv or test.csv: header starts {shown!r}", row=1)
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing:
        found = f" (found {extra[0]!r} instead)" if extra else ""
        raise located(name, f"missing column {missing[0]}{found}", row=1)
    if extra:
        raise located(name, f"unexpected column {extra[0]!r}", row=1)
    return columns


@dataclass
class _Row:
    line: int  # line number in the file, header = 1
    others: list[bytes]  # the fields other than Image, in file order
    image: tuple[int, int]  # (start, end) byte offsets of the Image field


def _split_rows(data: bytes, pos: int, columns: list[str], name: str) -> list[_Row]:
    rows, line, n, ncols = [], 2, len(data), len(columns)
    k = columns.index("Image")
    while pos < n:
        end = data.find(b"\n", pos)
        end = n if end < 0 else end
        # a blank line is skipped (only short lines are checked: a data row is never blank)
        if end > pos and not (end - pos < 64 and data[pos:end].isspace()):
            if k == ncols - 1:  # Kaggle's layout, Image last: every comma precedes it
                comma = data.rfind(b",", pos, end)
                others = data[pos:comma].split(b",") if comma >= 0 else []
                if len(others) != ncols - 1:
                    raise located(name, f"{len(others) + 1} fields, expected {ncols}", row=line)
                start, stop = comma + 1, end
            else:
                commas = data.count(b",", pos, end)
                if commas != ncols - 1:
                    raise located(name, f"{commas + 1} fields, expected {ncols}", row=line)
                start = pos
                for _ in range(k):
                    start = data.find(b",", start, end) + 1
                stop = data.find(b",", start, end)
                others = (data[pos : start - 1].split(b",") if k else []) + data[stop + 1 : end].split(b",")
            rows.append(_Row(line, others, (start, stop)))
        pos, line = end + 1, line + 1
    return rows


def _coordinates(rows: list[_Row], columns: list[str], name: str) -> np.ndarray:
    others = [c for c in columns if c != "Image"]
    index = [others.index(c) for c in COORD_COLUMNS]  # where each coordinate sits among the other fields
    ordered = index == list(range(len(COORD_COLUMNS)))
    nan = math.nan
    out = np.empty((len(rows), len(COORD_COLUMNS)), np.float32)
    for r, row in enumerate(rows):
        fields = row.others if ordered else [row.others[i] for i in index]
        try:  # float() takes bytes and ignores surrounding spaces
            out[r] = [float(f) if f else nan for f in fields]
        except ValueError:
            out[r] = _coordinates_careful(fields, row.line, name)
    if not np.isfinite(out[~np.isnan(out)]).all():
        r, k = (int(v[0]) for v in np.nonzero(np.isinf(out)))
        raise located(name, "infinite coordinate", row=rows[r].line, column=COORD_COLUMNS[k])
    return out.reshape(len(rows), len(KEYPOINT_NAMES), 2)


def _coordinates_careful(fields: list[bytes], line: int, name: str) -> list[float]:
    values = []
    for k, text in enumerate(fields):
        text = text.strip()
        try:
            value = float(text) if text else math.nan
        except ValueError:
            value = math.inf
        if math.isinf(value):
            raise located(name, f"{_show(text)} is not a number", row=line, column=COORD_COLUMNS[k])
        values.append(value)
    return values


def _image_ids(rows: list[_Row], columns: list[str], name: str) -> np.ndarray:
    col = [c for c in columns if c != "Image"].index("ImageId")
    ids = np.empty(len(rows), np.int64)
    first: dict[int, int] = {}
    for r, row in enumerate(rows):
        text = row.others[col].strip()
        try:
            ids[r] = image_id = int(text)
        except ValueError:
            raise located(name, f"ImageId {_show(text)} is not an integer", row=row.line, column="ImageId") from None
        if image_id in first:
            raise located(name, f"duplicate ImageId {image_id} (first on row {first[image_id]})", row=row.line, column="ImageId")
        first[image_id] = row.line
    return ids


def _parse_images(data: bytes, rows: list[_Row], name: str, progress: Progress | None) -> np.ndarray:
    images = np.empty((len(rows), PIXELS), np.uint8)
    view = memoryview(data)
    for a in range(0, len(rows), _ROWS_PER_CHUNK):
        chunk = rows[a : a + _ROWS_PER_CHUNK]
        images[a : a + len(chunk)] = _parse_pixel_chunk(view, chunk, name)
        if progress is not None:
            progress(a + len(chunk), len(rows))
    return images.reshape(len(rows), IMAGE_SIZE, IMAGE_SIZE)


def _parse_pixel_chunk(view: memoryview, rows: list[_Row], name: str) -> np.ndarray:
    """(len(rows), 9216) uint8 from the rows' Image fields."""
    spans = [row.image for row in rows]
    # one buffer: three leading spaces (so index e-3 exists), each field followed by one space
    buf = b"   " + b" ".join(view[s:e] for s, e in spans) + b" "
    arr = np.frombuffer(buf, np.uint8)
    digit = arr - np.uint8(48)  # '0'..'9' -> 0..9; everything else >= 10 (wraps)
    is_digit = digit < 10
    spaces = np.flatnonzero(arr == 32)  # the three pads, then the space after each number
    ends = spaces[3:]
    lengths = ends - spaces[2:-1]  # digits + 1
    regular = (
        len(ends) > 0
        and np.count_nonzero(is_digit) + len(spaces) == len(arr)  # only digits and spaces
        and lengths.min() >= 2  # no doubled spaces
        and lengths.max() <= 4  # at most three digits
    )
    if not regular:
        # bad characters, extra spaces or long numbers: the slow, careful path explains which
        return _parse_pixel_chunk_careful(buf, rows, spans, name)
    # offsets of the row boundaries in buf, to count numbers per row
    sizes = np.array([e - s + 1 for s, e in spans])
    row_ends = 3 + np.cumsum(sizes)  # one past each row's trailing space
    counts = np.diff(np.searchsorted(ends, row_ends), prepend=0)
    if (counts != PIXELS).any():
        r = int(np.flatnonzero(counts != PIXELS)[0])
        raise located(name, f"{counts[r]} pixels, expected {PIXELS}", row=rows[r].line, column="Image")
    digit *= is_digit  # spaces -> 0: a one-digit number's "tens" is its leading space
    values = digit[ends - 1].astype(np.uint16)
    values += digit[ends - 2] * np.uint16(10)
    values += digit[ends - 3] * (lengths == 4) * np.uint16(100)  # e-3 may be the previous number's
    if values.max() > 255:
        i = int(np.argmax(values > 255))
        raise located(name, f"pixel {values[i]} is out of range 0-255", row=rows[i // PIXELS].line, column="Image")
    return values.astype(np.uint8).reshape(len(rows), PIXELS)


def _parse_pixel_chunk_careful(buf: bytes, rows: list[_Row], spans: list[tuple[int, int]], name: str) -> np.ndarray:
    """Row by row: any run of spaces separates; reports the first bad pixel with its row."""
    out = np.empty((len(rows), PIXELS), np.uint8)
    pos = 3
    for r, (row, (s, e)) in enumerate(zip(rows, spans)):
        field = buf[pos : pos + (e - s)]
        pos += e - s + 1
        tokens = field.split()
        bad = next((t for t in tokens if not t.isdigit() or int(t) > 255), None)
        if bad is not None:
            what = f"pixel {int(bad)} is out of range 0-255" if bad.isdigit() else f"pixel {_show(bad)} is not an integer 0-255"
            raise located(name, what, row=row.line, column="Image")
        if len(tokens) != PIXELS:
            raise located(name, f"{len(tokens)} pixels, expected {PIXELS}", row=row.line, column="Image")
        out[r] = [int(t) for t in tokens]
    return out


def _show(text: bytes) -> str:
    """Bytes from the file as a short printable quote."""
    s = text.decode("utf-8", "replace")
    return repr(s if len(s) <= 20 else s[:20] + "…")
