"""Every malformed file is one line on stderr naming the file, row and column; exit code 2;
no traceback; nothing left in the cache. Rows are line numbers in the file: the header is row 1."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from helpers import run_kpbench
from kpbench.data import COORD_COLUMNS, load_faces
from kpbench.data.csvwrite import image_fields
from kpbench.data.kaggle import read_lookup
from kpbench.errors import KpbenchError

HEADER = [*COORD_COLUMNS, "Image"]


def _rows(faces, n: int = 3) -> list[list[str]]:
    """Three training rows as fields (rows 2, 3, 4 of the file)."""
    images = image_fields(faces.images[:n])
    out = []
    for kp, image in zip(faces.keypoints[:n].reshape(n, -1), images):
        out.append(["" if np.isnan(v) else f"{v:.4f}" for v in kp.tolist()] + [image.decode()])
    return out


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    return ("\n".join(",".join(r) for r in [header, *rows]) + "\n").encode()


def _set_pixels(row: list[str], pixels: str) -> list[str]:
    return row[:-1] + [pixels]


def _zip(members: dict[str, bytes]) -> Callable[[Path], bytes]:
    def build(tmp: Path) -> bytes:
        path = tmp / "build.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, data in members.items():
                zf.writestr(name, data)
        return path.read_bytes()
    return build


# name -> (file name, builder(rows) -> bytes, expected message)
def _cases(rows: list[list[str]]) -> dict[str, tuple[str, Callable, str]]:
    r2, r3, r4 = rows
    pixels = r3[-1].split(" ")
    good = _csv(HEADER, rows)
    return {
        "empty": ("training.csv", lambda t: b"", "training.csv: row 1: empty file"),
        "header_only": ("training.csv", lambda t: _csv(HEADER, []), "training.csv: row 1: no data rows"),
        "missing_column": ("training.csv", lambda t: _csv(HEADER[1:], [r[1:] for r in rows]),
                           "row 1: missing column left_eye_center_x"),
        "renamed_column": ("training.csv", lambda t: _csv(["left_eye_centre_x", *HEADER[1:]], rows),
                           "row 1: missing column left_eye_center_x (found 'left_eye_centre_x' instead)"),
        "too_few_fields": ("training.csv", lambda t: _csv(HEADER, [r2, r3[1:], r4]), "row 3: 30 fields, expected 31"),
        "9215_pixels": ("training.csv", lambda t: _csv(HEADER, [r2, _set_pixels(r3, " ".join(pixels[:-1])), r4]),
                        "training.csv: row 3, column Image: 9215 pixels, expected 9216"),
        "9217_pixels": ("training.csv", lambda t: _csv(HEADER, [r2, r3, _set_pixels(r4, " ".join(pixels + ["1"]))]),
                        "row 4, column Image: 9217 pixels, expected 9216"),
        "pixel_256": ("training.csv", lambda t: _csv(HEADER, [r2, _set_pixels(r3, " ".join(["256"] + pixels[1:])), r4]),
                      "row 3, column Image: pixel 256 is out of range 0-255"),
        "negative_pixel": ("training.csv", lambda t: _csv(HEADER, [_set_pixels(r2, " ".join(pixels[:5] + ["-3"] + pixels[6:])), r3, r4]),
                           "row 2, column Image: pixel '-3' is not an integer 0-255"),
        "non_numeric_pixel": ("training.csv", lambda t: _csv(HEADER, [r2, r3, _set_pixels(r4, " ".join(pixels[:-1] + ["1x"]))]),
                              "row 4, column Image: pixel '1x' is not an integer 0-255"),
        "non_numeric_coordinate": ("training.csv", lambda t: _csv(HEADER, [r2, ["abc"] + r3[1:], r4]),
                                   "row 3, column left_eye_center_x: 'abc' is not a number"),
        "random_bytes": ("training.csv", lambda t: np.random.default_rng(0).bytes(20000), "training.csv: row 1: "),
        "truncated_row": ("training.csv", lambda t: good[: len(good) - 1000], "row 4, column Image: "),
        "zip_without_member": ("training.zip", _zip({"readme.txt": b"hello"}),
                               "training.zip: no training.csv or training.zip inside (holds: readme.txt)"),
        "truncated_zip": ("training.zip", lambda t: _zip({"training.csv": good})(t)[:-300], "training.zip: "),
        "text_named_zip": ("training.zip", lambda t: good, "training.zip: not a valid zip file"),
        "duplicate_test_ids": ("test.csv", lambda t: _csv(["ImageId", "Image"], [["1", r2[-1]], ["2", r3[-1]], ["1", r4[-1]]]),
                               "test.csv: row 4, column ImageId: duplicate ImageId 1 (first on row 2)"),
    }


CASES = list(_cases([["0"] * 31] * 3))  # names only; the bytes are built per test from synthetic faces


@pytest.mark.parametrize("case", CASES)
def test_malformed_file_is_one_line_exit_2_and_leaves_no_cache(case, synthetic_faces, tmp_path, kpbench_cache_dir):
    name, build, message = _cases(_rows(synthetic_faces))[case]
    path = tmp_path / name
    path.write_bytes(build(tmp_path))
    r = run_kpbench("data", "inspect", str(path))
    err = r.err
    assert r.code == 2
    assert err.count("\n") == 1 and err.startswith("kpbench: error: ") and "Traceback" not in err
    assert message in err
    assert not [p for p in kpbench_cache_dir.rglob("*")], "the cache must stay empty"


def test_9215_pixels_names_row_and_column(synthetic_faces, tmp_path):
    rows = _rows(synthetic_faces)
    rows[1] = _set_pixels(rows[1], " ".join(rows[1][-1].split(" ")[:-1]))
    (tmp_path / "training.csv").write_bytes(_csv(HEADER, rows))
    with pytest.raises(KpbenchError, match=r"^training.csv: row 3, column Image: 9215 pixels, expected 9216$"):
        load_faces(tmp_path / "training.csv")


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(KpbenchError, match="no such file"):
        load_faces(tmp_path / "nope.csv")


def test_bad_synthetic_spec_is_a_user_error():
    with pytest.raises(KpbenchError, match="synthetic:ROWS"):
        load_faces("synthetic:many")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1,99,left_eye_center_x,", "IdLookupTable.csv: row 2, column ImageId: ImageId 99 is not in the test images"),
        ("1,1,left_ear_x,", "IdLookupTable.csv: row 2, column FeatureName: unknown feature 'left_ear_x'"),
    ],
)
def test_lookup_row_naming_an_unknown_image_or_feature(synthetic_dir, row, message):
    test = load_faces(synthetic_dir / "test.csv")
    (synthetic_dir / "IdLookupTable.csv").write_text("RowId,ImageId,FeatureName,Location\n" + row + "\n")
    with pytest.raises(KpbenchError) as e:
        read_lookup(synthetic_dir / "IdLookupTable.csv", test)
    assert str(e.value) == message
