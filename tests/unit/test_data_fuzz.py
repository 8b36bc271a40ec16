"""Property-based tests of every data reader: whatever the bytes, a reader gives its result or exactly one
KpbenchError, on one line, naming the file (and the row and column where they apply); never another
exception, never a numpy warning, and nothing written to the cache when it fails.

The default run is quick (60 examples per test). A long fuzzing run:
``HYPOTHESIS_PROFILE=fuzz python -m pytest tests/test_data_fuzz.py`` (5000 examples per test).
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import warnings
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kpbench.data import COORD_COLUMNS, COORD_MAX_PX, COORD_MIN_PX, FaceSet, load_faces, synth_faces
from kpbench.data.csvwrite import write_test_csv, write_training_csv
from kpbench.data.kaggle import read_lookup, read_submission
from kpbench.errors import KpbenchError

_COMMON = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("data-ci", max_examples=60, **_COMMON)
settings.register_profile("fuzz", max_examples=5000, **_COMMON)
PROFILE = settings.get_profile("fuzz" if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else "data-ci")


# --- valid files to start from ------------------------------------------------------


def _bytes_of(write, faces: FaceSet) -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp) / "f.csv", faces)
        return (Path(tmp) / "f.csv").read_bytes()


_FACES = synth_faces(3, 0)
TRAINING = _bytes_of(write_training_csv, _FACES)
TEST = _bytes_of(write_test_csv, FaceSet(images=_FACES.images, keypoints=None, image_ids=np.array([1, 2, 3])))

# texts that look like numbers, or nearly: where parsers slip
NUMBERISH = st.sampled_from(["", " ", "nan", "NaN", "-nan", "inf", "-Infinity", "1e30", "-5000", "1e39", "1e308", "-1e-320",
                             "0x1A", "1_0", "+5", "-0", "48.0", "144.0001", "-48", "\u0663", "9" * 30, "1,5", '"7"', "\x00"])
FIELD = NUMBERISH | st.text(max_size=12)


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with a few edits: a field replaced, bytes inserted, deleted or overwritten, the end cut."""
    data = bytearray(base)
    lines = data.split(b"\n")
    for _ in range(draw(st.integers(0, 3))):
        r = draw(st.integers(0, len(lines) - 1))
        fields = lines[r].split(b",")
        fields[draw(st.integers(0, len(fields) - 1))] = draw(FIELD).encode("utf-8", "surrogatepass")
        lines[r] = bytearray(b",".join(fields))
    data = bytearray(b"\n".join(lines))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["insert", "delete", "overwrite", "cut"]))
        chunk = draw(st.binary(min_size=1, max_size=8) | st.sampled_from([b"\r\n", b"\n", b",", b" ", b'"', b"\xef\xbb\xbf", b"  "]))
        if op == "insert":
            data[at:at] = chunk
        elif op == "delete":
            del data[at : at + len(chunk) * draw(st.integers(1, 2000))]
        elif op == "overwrite":
            data[at : at + len(chunk)] = chunk
        else:
            del data[at:]
    return bytes(data)


# --- checking one reader's answer ---------------------------------------------------


@contextlib.contextmanager
def _sandbox() -> Iterator[tuple[Path, Path]]:
    """(a directory for the file, an empty cache dir) per example; numpy and Python warnings are errors."""
    with tempfile.TemporaryDirectory() as files, tempfile.TemporaryDirectory() as cache:
        old = os.environ.get("KPBENCH_CACHE_DIR")
        os.environ["KPBENCH_CACHE_DIR"] = cache
        try:
            with warnings.catch_warnings(), np.errstate(all="raise"):
                warnings.simplefilter("error")
                yield Path(files), Path(cache)
        finally:
            if old is None:
                os.environ.pop("KPBENCH_CACHE_DIR", None)
            else:
                os.environ["KPBENCH_CACHE_DIR"] = old


def _refusal_names(error: KpbenchError, *names: str) -> None:
    message = str(error)
    assert message and "\n" not in message, repr(message)
    assert message.startswith(tuple(f"{n}: " for n in names)), message


def _load_or_refuse(path: Path, cache: Path, *names: str, split: str = "training") -> FaceSet | None:
    try:
        faces = load_faces(path, progress=False, split=split)
    except KpbenchError as e:
        _refusal_names(e, *names)
        assert not [p for p in cache.rglob("*") if p.is_file()], "nothing cached for a refused file"
        return None
    _check_faces(faces)
    return faces


def _check_faces(faces: FaceSet) -> None:
    assert faces.images.dtype == np.uint8 and faces.images.shape[1:] == (96, 96) and len(faces) >= 1
    if faces.keypoints is not None:
        kp = faces.keypoints[~np.isnan(faces.keypoints)]
        assert ((kp >= COORD_MIN_PX) & (kp <= COORD_MAX_PX)).all()
    else:
        assert faces.image_ids is not None and len(set(faces.image_ids.tolist())) == len(faces)


# --- the readers -------------------------------------------------------------------


@PROFILE
@given(st.binary(max_size=3000))
def test_any_bytes_as_a_training_csv(data: bytes) -> None:
    with _sandbox() as (files, cache):
        (files / "training.csv").write_bytes(data)
        _load_or_refuse(files / "training.csv", cache, "training.csv")


@PROFILE
@given(mutated(TRAINING))
def test_an_edited_training_csv(data: bytes) -> None:
    with _sandbox() as (files, cache):
        (files / "training.csv").write_bytes(data)
        _load_or_refuse(files / "training.csv", cache, "training.csv")


@PROFILE
@given(mutated(TEST))
def test_an_edited_test_csv(data: bytes) -> None:
    with _sandbox() as (files, cache):
        (files / "test.csv").write_bytes(data)
        _load_or_refuse(files / "test.csv", cache, "test.csv", split="test")


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


TRAINING_ZIP = _zip_bytes({"training.csv": TRAINING})


@PROFILE
@given(st.one_of(mutated(TRAINING).map(lambda csv: _zip_bytes({"training.csv": csv})), mutated(TRAINING_ZIP),
                 st.binary(max_size=400)))
def test_an_edited_or_damaged_training_zip(data: bytes) -> None:
    with _sandbox() as (files, cache):
        (files / "training.zip").write_bytes(data)
        _load_or_refuse(files / "training.zip", cache, "training.zip", "training.csv")


@PROFILE
@given(st.dictionaries(st.sampled_from(["training.csv", "training.zip", "test.csv", "a/training.csv", "x.csv", "IdLookupTable.csv"]),
                       st.sampled_from([TRAINING, TRAINING_ZIP, TEST, b"", b"PK\x03\x04"]), max_size=3))
def test_a_competition_zip_of_any_members(members: dict[str, bytes]) -> None:
    with _sandbox() as (files, cache):
        (files / "facial-keypoints-detection.zip").write_bytes(_zip_bytes(members))
        members_named = {name.rsplit("/", 1)[-1] for name in members}  # a CSV inside names itself
        _load_or_refuse(files / "facial-keypoints-detection.zip", cache, "facial-keypoints-detection.zip", *members_named)


_TEST_FACES = FaceSet(images=_FACES.images, keypoints=None, image_ids=np.array([1, 2, 3]))
ROW_ID = st.integers(0, 40).map(str) | FIELD
IMAGE_ID = st.sampled_from(["1", "2", "3", "4", "0"]) | FIELD
FEATURE = st.sampled_from(COORD_COLUMNS[:4]) | FIELD


def _table(header: str, rows: list[list[str]]) -> bytes:
    return ("\n".join([header, *(",".join(r) for r in rows)]) + "\n").encode("utf-8", "surrogatepass")


@PROFILE
@given(st.lists(st.tuples(ROW_ID, IMAGE_ID, FEATURE).map(list), max_size=6), st.sampled_from(
    ["RowId,ImageId,FeatureName,Location", "RowId,ImageId,FeatureName", "ImageId,RowId,FeatureName,Location", "RowId,FeatureName", ""]))
def test_any_id_lookup_table(rows: list[list[str]], header: str) -> None:
    with _sandbox() as (files, _):
        width = len(header.split(","))
        (files / "IdLookupTable.csv").write_bytes(_table(header, [(r + [""])[:width] if width == 4 else r[:width] for r in rows]))
        try:
            lookup = read_lookup(files / "IdLookupTable.csv", _TEST_FACES)
        except KpbenchError as e:
            _refusal_names(e, "IdLookupTable.csv")
            return
        assert len(lookup) == len(rows) and set(lookup.image_index.tolist()) <= {0, 1, 2}


@PROFILE
@given(st.lists(st.tuples(ROW_ID, NUMBERISH | st.floats(allow_nan=True, allow_infinity=True).map(repr) | FIELD).map(list), max_size=6))
def test_any_submission(rows: list[list[str]]) -> None:
    with _sandbox() as (files, _):
        (files / "sub.csv").write_bytes(_table("RowId,Location", rows))
        try:
            submission = read_submission(files / "sub.csv")
        except KpbenchError as e:
            _refusal_names(e, "sub.csv")
            return
        assert all(COORD_MIN_PX <= v <= COORD_MAX_PX for v in submission.values())


@PROFILE
@given(st.binary(max_size=600))
def test_any_bytes_as_a_submission_or_lookup_table(data: bytes) -> None:
    with _sandbox() as (files, _):
        for name, read in (("sub.csv", read_submission), ("IdLookupTable.csv", lambda p: read_lookup(p, _TEST_FACES))):
            (files / name).write_bytes(data)
            try:
                read(files / name)
            except KpbenchError as e:
                _refusal_names(e, name)


def test_the_fuzz_profile_runs_thousands_of_examples() -> None:
    assert settings.get_profile("fuzz").max_examples >= 1000
    assert PROFILE.max_examples <= 100 or os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"
