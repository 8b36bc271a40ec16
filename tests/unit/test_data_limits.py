"""Numbers that are not coordinates and files too big to be Kaggle's: each refusal is one line naming
the file (and row and column where they apply). (Memory that stays near one copy of the images,
measured in a process of its own: tests/process/test_data_memory.py.)"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from helpers import run_kpbench
from kpbench.data import FaceSet, apply_missing, load_faces, require_labels
from kpbench.data.csvwrite import write_training_csv
from kpbench.data.kaggle import _Capped, read_submission
from kpbench.errors import KpbenchError

ROW = 3  # the first data row of a file is line 2; the tests below spoil the second (line 3)


def _spoil_coordinate(path: Path, column: int, text: str) -> None:
    lines = path.read_bytes().split(b"\n")
    fields = lines[ROW - 1].split(b",")
    fields[column] = text.encode()
    lines[ROW - 1] = b",".join(fields)
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("1e30", "training.csv: row 3, column left_eye_center_y: '1e30' is far outside the 96x96 image"),
        ("-5000", "training.csv: row 3, column left_eye_center_y: '-5000' is far outside the 96x96 image"),
        ("1e39", "'1e39' is far outside"),  # finite for Python, infinite as float32
        ("nan", "training.csv: row 3, column left_eye_center_y: 'nan' is not a coordinate"),
        ("NaN", "'NaN' is not a coordinate"),
        ("inf", "'inf' is not a coordinate"),
        ("-Infinity", "'-Infinity' is not a coordinate"),
        (" nan ", "'nan' is not a coordinate"),
    ],
)
def test_a_number_that_is_not_a_coordinate_is_a_located_error(synthetic_faces, tmp_path, kpbench_cache_dir, text, message):
    path = tmp_path / "training.csv"
    write_training_csv(path, synthetic_faces.head(4))
    _spoil_coordinate(path, 1, text)
    with pytest.raises(KpbenchError) as e:
        load_faces(path)
    assert message in str(e.value) and "\n" not in str(e.value)
    assert not list(kpbench_cache_dir.rglob("*.npz"))


def test_coordinates_just_off_the_image_are_labels(synthetic_faces, tmp_path):
    path = tmp_path / "training.csv"
    write_training_csv(path, synthetic_faces.head(4))
    _spoil_coordinate(path, 0, "-47.5")
    _spoil_coordinate(path, 1, "143.0")
    faces = load_faces(path)
    assert faces.keypoints[ROW - 2, 0].tolist() == [-47.5, 143.0]


def test_a_training_file_without_a_single_label_loads_but_cannot_be_trained_on(synthetic_faces, tmp_path):
    unlabelled = FaceSet(images=synthetic_faces.images[:5], keypoints=np.full((5, 15, 2), np.nan, np.float32))
    write_training_csv(tmp_path / "training.csv", unlabelled)
    faces = load_faces(tmp_path / "training.csv")  # inspect still shows it: 0 labels everywhere
    assert len(faces) == 5 and np.isnan(faces.keypoints).all()
    for strategy in ("mask", "ffill", "drop"):
        with pytest.raises(KpbenchError, match=r"^training.csv: none of its 5 rows has a keypoint label"):
            apply_missing(faces, strategy)
    with pytest.raises(KpbenchError, match=r"^test.csv: no keypoints to train on \(a test file\?\)$"):
        require_labels(FaceSet(images=faces.images, keypoints=None, source="test.csv"))


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("1e308", "sub.csv: row 3, column Location: '1e308' is far outside the image"),
        ("-5000", "'-5000' is far outside the image"),
        ("inf", "sub.csv: row 3, column Location: 'inf' is not a coordinate"),
        ("nan", "'nan' is not a coordinate"),
        ("twelve", "sub.csv: row 3, column Location: 'twelve' is not a number"),
    ],
)
def test_a_location_that_is_not_a_coordinate_is_a_located_error(tmp_path, location, message):
    (tmp_path / "sub.csv").write_text(f"RowId,Location\n1,10.0\n2,{location}\n")
    with pytest.raises(KpbenchError) as e:
        read_submission(tmp_path / "sub.csv")
    assert message in str(e.value)


def test_score_with_a_huge_location_is_one_line_and_no_numpy_warning(synthetic_dir, tmp_path):
    lines = (synthetic_dir / "SampleSubmission.csv").read_text().splitlines()
    lines[1] = lines[1].split(",")[0] + ",1e308"
    (tmp_path / "sub.csv").write_text("\n".join(lines) + "\n")
    r = run_kpbench("score", str(tmp_path / "sub.csv"), str(synthetic_dir / "solution.csv"))
    assert r.code == 2 and "RMSE" not in r.out
    assert r.err == ("kpbench: error: sub.csv: row 2, column Location: '1e308' is far outside the image "
                     "(locations are pixels, -48 to 144 allowed)\n")


def test_a_row_id_too_big_for_int64_is_a_located_error(tmp_path):
    (tmp_path / "sub.csv").write_text("RowId,Location\n" + "9" * 30 + ",1.0\n")
    with pytest.raises(KpbenchError, match=r"^sub.csv: row 2, column RowId: '9{20}…' is not a whole number$"):
        read_submission(tmp_path / "sub.csv")


# --- sizes ---------------------------------------------------------------------------


def _zip(path: Path, name: str, data: bytes) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, data)
    return path


def test_a_zip_bomb_is_refused_before_it_is_unpacked(tmp_path, monkeypatch):
    monkeypatch.setenv("KPBENCH_MAX_CSV_BYTES", str(1 << 20))
    bomb = _zip(tmp_path / "training.zip", "training.csv", bytes(16 << 20))  # 16 MiB of zeros, 16 KB zipped
    unpacked = []
    monkeypatch.setattr(zipfile.ZipExtFile, "read", lambda self, n=-1: unpacked.append(n) or b"")
    r = run_kpbench("data", "inspect", str(bomb))
    err = r.err
    assert r.code == 2 and err.count("\n") == 1
    assert err.startswith("kpbench: error: training.zip: holds training.csv, which would unpack to 16,777,216 bytes: refused")
    assert "KPBENCH_MAX_CSV_BYTES" in err and unpacked == []


def test_a_zip_bomb_inside_the_competition_zip_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.setenv("KPBENCH_MAX_CSV_BYTES", str(1 << 20))
    inner = _zip(tmp_path / "training.zip", "training.csv", bytes(16 << 20)).read_bytes()
    outer = _zip(tmp_path / "facial-keypoints-detection.zip", "training.zip", inner)
    expected = r"^facial-keypoints-detection.zip: holds training.zip/training.csv, which would unpack to 16,777,216 bytes"
    with pytest.raises(KpbenchError, match=expected):
        load_faces(outer)


def test_a_zip_header_that_understates_the_size_cannot_smuggle_more_bytes(tmp_path, monkeypatch):
    monkeypatch.setenv("KPBENCH_MAX_CSV_BYTES", str(1 << 20))
    path = _zip(tmp_path / "training.zip", "training.csv", bytes(4 << 20))
    data = bytearray(path.read_bytes())
    for signature, offset in ((b"PK\x01\x02", 24), (b"PK\x03\x04", 22)):  # central and local headers: uncompressed size
        at = data.find(signature) + offset
        data[at : at + 4] = struct.pack("<I", 1000)
    path.write_bytes(bytes(data))
    with pytest.raises(KpbenchError, match=r"^training.zip: "):
        load_faces(path)


def test_a_stream_longer_than_the_limit_is_stopped_while_it_is_read(tmp_path):
    stream = _Capped(io.BytesIO(bytes(5000)), tmp_path / "training.zip", "training.csv", 4096)
    assert len(stream.read(4096)) == 4096
    with pytest.raises(KpbenchError, match=r"^training.zip: holds training.csv, which would unpack to more than 4,096 bytes: refused"):
        stream.read(4096)


def test_a_csv_over_the_limit_is_refused_naming_the_file(synthetic_dir, monkeypatch):
    monkeypatch.setenv("KPBENCH_MAX_CSV_BYTES", "100000")
    r = run_kpbench("data", "inspect", str(synthetic_dir / "training.csv"))
    err = r.err
    size = (synthetic_dir / "training.csv").stat().st_size
    assert r.code == 2 and err.startswith(f"kpbench: error: training.csv: is {size:,} bytes: refused")


def test_a_bad_size_limit_in_the_environment_is_a_user_error(synthetic_dir, monkeypatch):
    monkeypatch.setenv("KPBENCH_MAX_CSV_BYTES", "lots")
    with pytest.raises(KpbenchError, match=r"^KPBENCH_MAX_CSV_BYTES='lots': expected a whole number of bytes"):
        load_faces(synthetic_dir / "training.csv")


def test_a_line_longer_than_any_row_is_refused_without_reading_on(tmp_path):
    path = tmp_path / "training.csv"
    path.write_bytes(b"ImageId,Image\n" + b"1 " * (5 << 20))  # 10 MB without a line end
    with pytest.raises(KpbenchError, match=r"^training.csv: row 2: a line of more than 8 MB: not a row of a Kaggle CSV$"):
        load_faces(path)


def test_a_device_is_not_read(tmp_path):
    with pytest.raises(KpbenchError, match=r"^/dev/zero: not a regular file$"):
        load_faces("/dev/zero")


def test_old_mac_line_endings_are_lines(synthetic_faces, tmp_path):
    write_training_csv(tmp_path / "a.csv", synthetic_faces.head(3))
    (tmp_path / "b.csv").write_bytes((tmp_path / "a.csv").read_bytes().replace(b"\n", b"\r"))
    faces = load_faces(tmp_path / "b.csv")
    assert np.array_equal(faces.images, load_faces(tmp_path / "a.csv").images)
