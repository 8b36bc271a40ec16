"""Write FaceSets as Kaggle CSVs (training.csv, test.csv, IdLookupTable.csv, SampleSubmission.csv).

The Image field is 9216 space-separated integers; formatting them one by one in
Python would take seconds, so each pixel is looked up as up to four bytes
("255 ") in a table and the unused bytes are squeezed out with numpy.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kpbench.atomic import atomic_open
from kpbench.data.faceset import COORD_COLUMNS, FaceSet

_ROWS_PER_CHUNK = 512


def _digit_table() -> np.ndarray:
    table = np.zeros((256, 4), np.uint8)  # 0 = unused byte
    for v in range(256):
        b = f"{v} ".encode()
        table[v, : len(b)] = np.frombuffer(b, np.uint8)
    return table


_TABLE = _digit_table()
_TABLE32 = _TABLE.view(np.uint32).ravel()  # one 4-byte word per value: a cheap 1-D take


def image_fields(images: np.ndarray) -> list[bytes]:
    """Each image (N, 96, 96) uint8 as its Image field: b"12 0 255 ..." (no trailing space)."""
    out: list[bytes] = []
    for a in range(0, len(images), _ROWS_PER_CHUNK):
        chunk = images[a : a + _ROWS_PER_CHUNK].reshape(-1, images.shape[1] * images.shape[2])
        chars = np.take(_TABLE32, chunk).view(np.uint8)  # (n, 9216 * 4)
        keep = chars != 0
        lengths = np.count_nonzero(keep, axis=1)
        data = chars[keep].tobytes()
        ends = np.cumsum(lengths)
        starts = ends - lengths
        out.extend(data[s : e - 1] for s, e in zip(starts.tolist(), ends.tolist()))
    return out


def _coord(value: float) -> str:
    return "" if np.isnan(value) else f"{value:.4f}"


def write_training_csv(path: str | Path, faces: FaceSet) -> None:
    """training.csv: the 30 coordinate columns then Image; a missing label is an empty field."""
    assert faces.keypoints is not None
    coords = faces.keypoints.reshape(len(faces), -1).astype(np.float64)
    with atomic_open(path, "wb") as f:
        f.write((",".join(COORD_COLUMNS) + ",Image\n").encode())
        for row, image in zip(coords, image_fields(faces.images)):
            f.write((",".join(_coord(v) for v in row.tolist()) + ",").encode() + image + b"\n")


def write_test_csv(path: str | Path, faces: FaceSet) -> None:
    """test.csv: ImageId,Image."""
    ids = np.arange(1, len(faces) + 1) if faces.image_ids is None else faces.image_ids
    with atomic_open(path, "wb") as f:
        f.write(b"ImageId,Image\n")
        for image_id, image in zip(ids.tolist(), image_fields(faces.images)):
            f.write(f"{image_id},".encode() + image + b"\n")


def write_lookup_csv(
    lookup_path: str | Path,
    sample_path: str | Path,
    solution_path: str | Path,
    image_ids: np.ndarray,
    asked: Sequence[Sequence[int]],
    truth: np.ndarray,
) -> None:
    """IdLookupTable.csv (Location empty), SampleSubmission.csv (48.0 everywhere) and
    solution.csv (the true locations ``truth`` (N, 15, 2)) for the keypoints ``asked`` per image."""
    lookup, sample, solution = ["RowId,ImageId,FeatureName,Location"], ["RowId,Location"], ["RowId,Location"]
    row_id = 0
    for i, (image_id, keypoints) in enumerate(zip(image_ids.tolist(), asked)):
        for k in keypoints:
            for axis in (0, 1):
                row_id += 1
                lookup.append(f"{row_id},{image_id},{COORD_COLUMNS[2 * k + axis]},")
                sample.append(f"{row_id},48.0")
                solution.append(f"{row_id},{truth[i, k, axis]:.4f}")
    for path, lines in ((lookup_path, lookup), (sample_path, sample), (solution_path, solution)):
        with atomic_open(path, "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(lines) + "\n")
