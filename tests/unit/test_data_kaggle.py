"""Reading Kaggle's files in every form users have them, the parse cache, lookup and submissions."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kpbench.data import cache as cache_module
from kpbench.data import load_faces, synth_faces
from kpbench.data.csvwrite import write_training_csv
from kpbench.data.kaggle import read_lookup, read_submission, write_submission
from kpbench.errors import KpbenchError


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def _same_faces(a, b) -> None:
    assert np.array_equal(a.images, b.images)
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-4)


def test_training_csv_round_trips_through_write_and_load(synthetic_faces, tmp_path):
    write_training_csv(tmp_path / "training.csv", synthetic_faces)
    faces = load_faces(tmp_path / "training.csv", progress=False)
    _same_faces(faces, synthetic_faces)
    assert faces.image_ids is None and faces.meta["load"] == "parse"


def test_the_header_comes_first_then_9216_space_separated_pixels(synthetic_dir):
    header, first = (synthetic_dir / "training.csv").read_text().splitlines()[:2]
    assert header.startswith("left_eye_center_x,left_eye_center_y,") and header.endswith(",Image")
    assert len(first.split(",")[-1].split(" ")) == 9216


def test_test_csv_gives_image_ids_and_no_keypoints(synthetic_dir):
    test = load_faces(synthetic_dir / "test.csv")
    assert test.keypoints is None and test.image_ids.tolist() == list(range(1, 17))


def test_a_directory_gives_training_by_default_and_test_on_request(synthetic_dir):
    assert load_faces(synthetic_dir).keypoints is not None
    assert load_faces(synthetic_dir, split="test").keypoints is None


def test_training_zip_and_the_competition_zip_load_the_same_faces(synthetic_dir, tmp_path):
    csv = (synthetic_dir / "training.csv").read_bytes()
    expected = load_faces(synthetic_dir / "training.csv")
    training_zip = _zip(tmp_path / "training.zip", {"training.csv": csv})
    test_zip = _zip(tmp_path / "test.zip", {"test.csv": (synthetic_dir / "test.csv").read_bytes()})
    competition = _zip(tmp_path / "facial-keypoints-detection.zip", {
        "training.zip": training_zip.read_bytes(), "test.zip": test_zip.read_bytes(),
        "IdLookupTable.csv": (synthetic_dir / "IdLookupTable.csv").read_bytes(),
    })
    for path in (training_zip, competition):
        _same_faces(load_faces(path), expected)
    test = load_faces(competition, split="test")
    assert test.image_ids.tolist() == list(range(1, 17))
    assert len(read_lookup(competition, test)) == len(read_lookup(synthetic_dir / "IdLookupTable.csv", test))
    assert load_faces(test_zip).keypoints is None  # a lone test.zip is a test file
    os.remove(training_zip), os.remove(test_zip)
    _same_faces(load_faces(tmp_path), expected)  # a directory holding only the competition zip


def test_windows_line_endings_a_bom_and_quoted_fields_are_accepted(synthetic_dir, tmp_path):
    expected = load_faces(synthetic_dir / "training.csv")
    lines = (synthetic_dir / "training.csv").read_bytes().split(b"\n")
    quoted = [lines[0]] + [b",".join(line.rsplit(b",", 1)[:1] + [b'"' + line.rsplit(b",", 1)[1] + b'"']) for line in lines[1:] if line]
    path = tmp_path / "training.csv"
    path.write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(quoted) + b"\r\n")
    _same_faces(load_faces(path), expected)


def test_columns_may_come_in_any_order(synthetic_faces, tmp_path):
    write_training_csv(tmp_path / "a.csv", synthetic_faces.subset(np.arange(3)))
    lines = [line.split(",") for line in (tmp_path / "a.csv").read_text().splitlines()]
    order = [30, *range(29, -1, -1)]  # Image first, then the coordinates backwards
    (tmp_path / "b.csv").write_text("\n".join(",".join(f[i] for i in order) for f in lines) + "\n")
    _same_faces(load_faces(tmp_path / "b.csv"), load_faces(tmp_path / "a.csv"))


def test_extra_spaces_between_pixels_are_accepted(synthetic_faces, tmp_path):
    write_training_csv(tmp_path / "a.csv", synthetic_faces.subset(np.arange(2)))
    text = (tmp_path / "a.csv").read_bytes()
    head, rest = text.split(b"\n", 1)
    (tmp_path / "b.csv").write_bytes(head + b"\n" + rest.replace(b" ", b"  ").replace(b"\n", b" \n"))
    _same_faces(load_faces(tmp_path / "b.csv"), load_faces(tmp_path / "a.csv"))


def test_second_load_comes_from_the_cache_with_the_same_arrays(synthetic_dir, kpbench_cache_dir):
    first = load_faces(synthetic_dir / "training.csv")
    second = load_faces(synthetic_dir / "training.csv")
    assert (first.meta["load"], second.meta["load"]) == ("parse", "cache")
    _same_faces(first, second)
    assert first.sha256 == second.sha256 and len(first.sha256) == 64
    assert list(kpbench_cache_dir.glob("faces-*.npz"))


def test_cache_false_neither_reads_nor_writes_the_cache(synthetic_dir, kpbench_cache_dir):
    load_faces(synthetic_dir / "training.csv", cache=False)
    assert not any(kpbench_cache_dir.iterdir())
    load_faces(synthetic_dir / "training.csv")
    assert load_faces(synthetic_dir / "training.csv", cache=False).meta["load"] == "parse"


def test_a_changed_file_is_parsed_again(synthetic_dir):
    path = synthetic_dir / "training.csv"
    load_faces(path)
    head, first, rest = path.read_bytes().split(b"\n", 2)
    pixel = b"7" if not first.endswith(b" 7") else b"8"
    path.write_bytes(head + b"\n" + first.rsplit(b" ", 1)[0] + b" " + pixel + b"\n" + rest)  # one pixel changed
    again = load_faces(path)
    assert again.meta["load"] == "parse"
    assert again.images[0, -1, -1] == int(pixel)


def test_a_stat_index_entry_skips_hashing_only_when_the_file_is_old(synthetic_dir, monkeypatch):
    path = (synthetic_dir / "training.csv").resolve()
    load_faces(path)
    assert cache_module.indexed_sha256(path) is None  # just written: racy, so hashed again next time
    monkeypatch.setattr(cache_module, "_RACY_NS", -10**12)  # pretend the file is old
    load_faces(path)  # re-records the stat
    sha = cache_module.indexed_sha256(path)
    assert sha is not None and load_faces(path).sha256 == sha


def test_the_same_content_under_another_name_is_taken_from_the_cache(synthetic_dir, tmp_path, monkeypatch):
    from kpbench.data import load as load_module

    class HashFirst(load_module._Hasher):  # the hash is ready before the parse starts
        def __init__(self, file: Path) -> None:
            super().__init__(file)
            self.result()

    monkeypatch.setattr(load_module, "_Hasher", HashFirst)
    first = load_faces(synthetic_dir / "training.csv")
    copy = tmp_path / "copy.csv"
    copy.write_bytes((synthetic_dir / "training.csv").read_bytes())
    again = load_faces(copy)
    assert again.meta["load"] == "cache" and again.sha256 == first.sha256


def test_a_corrupt_cache_entry_is_ignored_and_rewritten(synthetic_dir, kpbench_cache_dir):
    load_faces(synthetic_dir / "training.csv")
    for entry in kpbench_cache_dir.glob("faces-*.npz"):
        entry.write_bytes(b"garbage")
    assert load_faces(synthetic_dir / "training.csv").meta["load"] == "parse"
    assert load_faces(synthetic_dir / "training.csv").meta["load"] == "cache"


def test_meta_names_the_file_and_load_seconds(synthetic_dir):
    faces = load_faces(synthetic_dir / "training.csv")
    assert faces.meta["file"] == str((synthetic_dir / "training.csv").resolve())
    assert 0 < faces.meta["load_s"] < 30


def test_cache_dir_follows_kpbench_cache_dir_then_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("KPBENCH_CACHE_DIR", str(tmp_path / "a"))
    assert cache_module.cache_dir() == tmp_path / "a"
    monkeypatch.delenv("KPBENCH_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_module.cache_dir() == tmp_path / "x" / "kpbench"


def test_lookup_resolves_rows_to_test_images_keypoints_and_axes(synthetic_dir):
    test = load_faces(synthetic_dir / "test.csv")
    lookup = read_lookup(synthetic_dir / "IdLookupTable.csv", test)
    lines = (synthetic_dir / "IdLookupTable.csv").read_text().splitlines()
    assert len(lookup) == len(lines) - 1 and lookup.row_ids.tolist() == list(range(1, len(lines)))
    assert (lookup.image_index[0], lookup.keypoint_index[0], lookup.axis[0]) == (0, 0, 0)  # ImageId 1, left_eye_center_x
    assert (lookup.keypoint_index[1], lookup.axis[1]) == (0, 1)
    per_image = np.bincount(lookup.image_index)
    assert set(per_image.tolist()) <= {8, 30}  # the common four, or all fifteen, like Kaggle


def test_lookup_is_found_in_a_directory(synthetic_dir):
    test = load_faces(synthetic_dir, split="test")
    assert len(read_lookup(synthetic_dir, test)) > 0


def test_submission_round_trips(tmp_path):
    write_submission(tmp_path / "sub.csv", np.array([1, 2, 3]), np.array([10.5, 20.25, 0.0]))
    assert read_submission(tmp_path / "sub.csv") == {1: 10.5, 2: 20.25, 3: 0.0}
    assert (tmp_path / "sub.csv").read_text().splitlines()[0] == "RowId,Location"


def test_synthetic_sample_submission_answers_every_solution_row_with_48(synthetic_dir):
    solution = read_submission(synthetic_dir / "solution.csv")
    sample = read_submission(synthetic_dir / "SampleSubmission.csv")
    assert solution.keys() == sample.keys() and set(sample.values()) == {48.0}
    lookup = read_lookup(synthetic_dir, load_faces(synthetic_dir, split="test"))
    assert sorted(solution) == sorted(lookup.row_ids.tolist())


def test_submission_refuses_nan_locations(tmp_path):
    with pytest.raises(KpbenchError, match="NaN"):
        write_submission(tmp_path / "sub.csv", np.array([1]), np.array([np.nan]))
    assert not (tmp_path / "sub.csv").exists()


def test_a_big_parse_goes_chunk_by_chunk_and_matches(tmp_path):
    faces = synth_faces(150, 4)  # more than one chunk of rows
    write_training_csv(tmp_path / "training.csv", faces)
    _same_faces(load_faces(tmp_path / "training.csv"), faces)
