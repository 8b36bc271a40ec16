"""Parse Kaggle's training.csv / test.csv into arrays, fast, in bounded memory, and say exactly what is wrong.

The common approach (pandas, then one np.fromstring per Image) spends seconds
on 28 million pixel strings. Here Python walks the rows only (a few thousand),
and the pixels of a chunk of rows are parsed at once with numpy: find the
separating spaces, then each number's value from its last three digits.

The text is read as a stream, a few MB of whole lines at a time, straight into
arrays allocated once for the most rows the file's size allows (a row holds at
least 9216 one-digit pixels and their spaces) and shrunk in place at the end:
memory stays about one copy of the images, whatever the file's size.

Errors name the line in the file (the header is row 1) and the column; they
come in file order.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import BinaryIO

import numpy as np

from kpbench.data.faceset import COORD_COLUMNS, COORD_MAX_PX, COORD_MIN_PX, IMAGE_SIZE, KEYPOINT_NAMES
from kpbench.errors import located

PIXELS = IMAGE_SIZE * IMAGE_SIZE
MIN_ROW_BYTES = 2 * PIXELS - 1  # 9216 one-digit pixels and 9215 spaces
_ROWS_PER_CHUNK = 64  # ~2 MB of text: numpy's temporaries stay small and are reused
_BLOCK_BYTES = 4 << 20  # read this much at a time, then parse its whole lines
_MAX_LINE_BYTES = 8 << 20  # 200 times the longest Kaggle row
_BOM = b"\xef\xbb\xbf"


@dataclass
class ParsedCSV:
    images: np.ndarray  # (N, 96, 96) uint8
    keypoints: np.ndarray | None  # (N, 15, 2) float32, NaN = missing; None for a test file
    image_ids: np.ndarray | None  # (N,) int64 for a test file


Progress = Callable[[int, int], None]  # (rows done, rows in all, estimated); may raise to stop early


def parse_faces_stream(stream: BinaryIO, name: str, size_bytes: int, progress: Progress | None = None) -> ParsedCSV:
    """A training.csv (30 coordinate columns + Image) or test.csv (ImageId, Image) read from
    ``stream``, which holds at most ``size_bytes``.

    Accepts a UTF-8 BOM, Windows line endings and quoted fields. ``name`` is the
    file name used in error messages.
    """
    blocks = _line_blocks(stream)
    line = 1
    try:
        first = next(blocks, b"")
        if not first or first.isspace():  # (not first.strip(): that would copy the block)
            if next(blocks, None) is None:
                raise located(name, "empty file, expected a header line", row=1)
        header_end = first.find(b"\n")
        header_end = len(first) if header_end < 0 else header_end
        columns = _header(first[:header_end], name)
        out = _Output("ImageId" in columns, size_bytes // MIN_ROW_BYTES + 1)
        line, read_bytes = 2, header_end + 1
        for block in chain([first[header_end + 1 :]], blocks):
            rows, line = _split_rows(block, columns, name, line)
            read_bytes += len(block)
            for a in range(0, len(rows), _ROWS_PER_CHUNK):
                out.add(block, rows[a : a + _ROWS_PER_CHUNK], columns, name)
                if progress is not None:
                    progress(out.rows, max(out.rows, round(out.rows * size_bytes / max(read_bytes, 1))))
    except _LineTooLong:
        raise located(name, f"a line of more than {_MAX_LINE_BYTES >> 20} MB: not a row of a Kaggle CSV", row=line) from None
    finally:
        blocks.close()
    if out.rows == 0:
        raise located(name, "no data rows after the header", row=1)
    return out.result()


class _LineTooLong(Exception):
    """A line longer than any Kaggle row could be (raised where the line number is known)."""


def _line_blocks(stream: BinaryIO) -> Iterator[bytes]:
    """The stream's bytes in blocks of whole lines, BOM gone, line endings and quotes normalised.

    A line over _MAX_LINE_BYTES is never a row (a row holds at most ~40 KB): raises
    _LineTooLong instead of reading on, so /dev/zero-like input costs no memory.
    """
    pieces: list[bytes] = []
    pending = 0  # bytes in pieces: the start of a line not ended yet
    start = True
    while True:
        block = stream.read(_BLOCK_BYTES)
        if start and block:
            block, start = (block[len(_BOM) :] if block.startswith(_BOM) else block), False
        if not block:
            if pieces:
                yield _normalise(b"".join(pieces))
            return
        # a line ends at "\n", or at a lone "\r" (old Mac files); a "\r" last in the block may be half a "\r\n"
        cut = max(block.rfind(b"\n"), block.rfind(b"\r", 0, len(block) - 1)) + 1
        if cut == 0:
            pieces.append(block)
            pending += len(block)
            if pending > _MAX_LINE_BYTES:
                raise _LineTooLong
            continue
        pieces.append(block[:cut])
        yield _normalise(b"".join(pieces))
        pieces = [block[cut:]]
        pending = len(pieces[0])


def _normalise(data: bytes) -> bytes:
    # Each of these is one pass in C over a block, and only when needed.
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if b'"' in data:  # Kaggle's fields never hold commas, so quotes carry no meaning
        data = data.replace(b'"', b"")
    return data


class _Output:
    """The arrays being filled, allocated once for ``capacity`` rows (pages never touched cost no memory)."""

    def __init__(self, test: bool, capacity: int) -> None:
        self.test, self.rows = test, 0
        self.images = np.empty((capacity, PIXELS), np.uint8)
        self.keypoints = None if test else np.empty((capacity, len(COORD_COLUMNS)), np.float32)
        self.image_ids = np.empty(capacity, np.int64) if test else None
        self._first_line: dict[int, int] = {}  # ImageId -> the row it first appeared on

    def add(self, block: bytes, rows: list[_Row], columns: list[str], name: str) -> None:
        a, b = self.rows, self.rows + len(rows)
        if b > len(self.images):  # the file grew while being read: make room
            self._resize(max(b, 2 * len(self.images)))
        # labels first: a bad coordinate is found before the chunk's pixels are parsed
        if self.test:
            self.image_ids[a:b] = _image_ids(rows, columns, name, self._first_line)
        else:
            self.keypoints[a:b] = _coordinates(rows, columns, name)
        self.images[a:b] = _parse_pixel_chunk(memoryview(block), rows, name)
        self.rows = b

    def _resize(self, rows: int) -> None:
        # in place (realloc: no copy of the filled part); nothing else holds a view of these arrays
        for array in (self.images, self.keypoints, self.image_ids):
            if array is not None:
                array.resize((rows, *array.shape[1:]), refcheck=False)

    def result(self) -> ParsedCSV:
        self._resize(self.rows)
        keypoints = None if self.keypoints is None else self.keypoints.reshape(self.rows, len(KEYPOINT_NAMES), 2)
        return ParsedCSV(self.images.reshape(self.rows, IMAGE_SIZE, IMAGE_SIZE), keypoints, self.image_ids)


def _header(line: bytes, name: str) -> list[str]:
    try:
        columns = [c.strip() for c in line.decode("utf-8").split(",")]
    except UnicodeDecodeError:
        raise located(name, "the header is not text: not a Kaggle training.csv or test.csv", row=1) from None
    twice = [c for c, n in Counter(columns).items() if n > 1]
    if twice:
        raise located(name, f"column {_show(twice[0].encode())} appears twice", row=1)
    if "ImageId" in columns:
        expected = ["ImageId", "Image"]
    elif "Image" in columns or set(columns) & set(COORD_COLUMNS):
        expected = [*COORD_COLUMNS, "Image"]
    else:
        raise located(name, f"not a Kaggle training.csv or test.csv: header starts {_show(line[:60])}", row=1)
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing:
        found = f" (found {_show(extra[0].encode())} instead)" if extra else ""
        raise located(name, f"missing column {missing[0]}{found}", row=1)
    if extra:
        raise located(name, f"unexpected column {_show(extra[0].encode())}", row=1)
    return columns


@dataclass
class _Row:
    line: int  # line number in the file, header = 1
    others: list[bytes]  # the fields other than Image, in file order
    image: tuple[int, int]  # (start, end) byte offsets of the Image field in its block


def _split_rows(data: bytes, columns: list[str], name: str, line: int) -> tuple[list[_Row], int]:
    """The rows of a block of whole lines whose first line is ``line``; and the next line's number."""
    rows, pos, n, ncols = [], 0, len(data), len(columns)
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
    return rows, line


def _coordinates(rows: list[_Row], columns: list[str], name: str) -> np.ndarray:
    """(len(rows), 30) float32 pixels, NaN where the field is empty; anything else not a coordinate is refused."""
    others = [c for c in columns if c != "Image"]
    index = [others.index(c) for c in COORD_COLUMNS]  # where each coordinate sits among the other fields
    ordered = index == list(range(len(COORD_COLUMNS)))
    out = np.empty((len(rows), len(COORD_COLUMNS)), np.float32)
    empty = np.empty(len(rows), np.int64)  # empty fields per row: each must be one of the row's NaNs
    with np.errstate(over="ignore"):  # 1e39 becomes inf as float32: refused below, without a warning
        _fill_coordinates(out, empty, rows, index if not ordered else None, name)
    # "nan", "inf", 1e30 (inf as float32) or -5000 parse but are not coordinates: explain the first one
    bad = (np.isnan(out).sum(axis=1) != empty) | ~((out >= COORD_MIN_PX) & (out <= COORD_MAX_PX) | np.isnan(out)).all(axis=1)
    if bad.any():
        r = int(np.argmax(bad))
        fields = rows[r].others if ordered else [rows[r].others[i] for i in index]
        _coordinates_careful(fields, rows[r].line, name)
        raise AssertionError("a refused coordinate was not explained")  # pragma: no cover
    return out


def _fill_coordinates(out: np.ndarray, empty: np.ndarray, rows: list[_Row], index: list[int] | None, name: str) -> None:
    nan = math.nan
    for r, row in enumerate(rows):
        fields = row.others if index is None else [row.others[i] for i in index]
        try:  # float() takes bytes and ignores surrounding spaces
            out[r] = [float(f) if f else nan for f in fields]
            empty[r] = fields.count(b"")
        except ValueError:
            out[r] = _coordinates_careful(fields, row.line, name)
            empty[r] = np.isnan(out[r]).sum()


def _coordinates_careful(fields: list[bytes], line: int, name: str) -> list[float]:
    """The row's coordinates, or a located error for the first field that is not one (empty = missing)."""
    values = []
    for k, text in enumerate(fields):
        text = text.strip()
        try:
            value = float(text) if text else math.nan
        except ValueError:
            raise located(name, f"{_show(text)} is not a number", row=line, column=COORD_COLUMNS[k]) from None
        if text and not math.isfinite(value):
            raise located(name, f"{_show(text)} is not a coordinate (leave the field empty for a missing label)",
                          row=line, column=COORD_COLUMNS[k])
        if not COORD_MIN_PX <= value <= COORD_MAX_PX and text:
            raise located(name, f"{_show(text)} is far outside the {IMAGE_SIZE}x{IMAGE_SIZE} image "
                          f"(coordinates are pixels, {COORD_MIN_PX:g} to {COORD_MAX_PX:g} allowed)",
                          row=line, column=COORD_COLUMNS[k])
        values.append(value)
    return values


def _image_ids(rows: list[_Row], columns: list[str], name: str, first: dict[int, int]) -> np.ndarray:
    """(len(rows),) int64; ``first`` (ImageId -> its row) carries over from block to block."""
    col = [c for c in columns if c != "Image"].index("ImageId")
    ids = np.empty(len(rows), np.int64)
    for r, row in enumerate(rows):
        text = row.others[col].strip()
        try:
            image_id = int(text) if text.isdigit() and len(text) < 19 else -1
        except ValueError:
            image_id = -1
        if image_id < 0:
            raise located(name, f"ImageId {_show(text)} is not a whole number", row=row.line, column="ImageId")
        if image_id in first:
            raise located(name, f"duplicate ImageId {image_id} (first on row {first[image_id]})", row=row.line, column="ImageId")
        ids[r] = image_id
        first[image_id] = row.line
    return ids


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
        bad = next((t for t in tokens if not t.isdigit() or len(t) > 3 or int(t) > 255), None)
        if bad is not None:
            what = (f"pixel {_show(bad, quote=False)} is out of range 0-255" if bad.isdigit()
                    else f"pixel {_show(bad)} is not an integer 0-255")
            raise located(name, what, row=row.line, column="Image")
        if len(tokens) != PIXELS:
            raise located(name, f"{len(tokens)} pixels, expected {PIXELS}", row=row.line, column="Image")
        out[r] = [int(t) for t in tokens]
    return out


def _show(text: bytes, *, quote: bool = True) -> str:
    """Bytes from the file as a short printable quote (one line, whatever the bytes)."""
    s = text.decode("utf-8", "replace")
    s = s if len(s) <= 20 else s[:20] + "…"
    return repr(s) if quote else s
