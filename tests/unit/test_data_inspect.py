"""inspect_faces counts labels and pixels; the PNG writers; the `kpbench data` commands."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import run_kpbench
from kpbench.data import FaceSet, inspect_faces, load_faces, plot_missing, plot_samples


def test_inspection_counts_rows_complete_rows_and_missing_per_keypoint(synthetic_faces):
    d = inspect_faces(synthetic_faces).to_dict()
    complete = int(synthetic_faces.complete_mask().sum())
    assert d["rows"] == 64 and d["complete_rows"] == complete
    assert d["missing"]["left_eye_center"] == 0 and d["missing"]["mouth_left_corner"] == 64 - complete
    assert all(d["labelled"][k] + d["missing"][k] == 64 for k in d["missing"])


def test_pixel_statistics_match_numpy(synthetic_faces):
    d = inspect_faces(synthetic_faces).to_dict()
    images = synthetic_faces.images.astype(np.float64)
    assert d["pixel_mean"] == pytest.approx(images.mean()) and d["pixel_std"] == pytest.approx(images.std())
    assert (d["pixel_min"], d["pixel_max"]) == (images.min(), images.max())


def test_a_test_file_has_no_label_counts():
    faces = FaceSet(images=np.full((3, 96, 96), 9, np.uint8), keypoints=None, image_ids=np.array([1, 2, 3]))
    d = inspect_faces(faces).to_dict()
    assert (d["rows"], d["complete_rows"], d["missing"], d["has_keypoints"]) == (3, 0, {}, False)


def test_plots_write_png_files(synthetic_faces, tmp_path):
    plot_samples(synthetic_faces, tmp_path / "samples.png", n=4)
    plot_missing(inspect_faces(synthetic_faces), tmp_path / "missing.png")
    for name in ("samples.png", "missing.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["missing.png", "samples.png"]  # no temporaries left


def test_cli_inspect_json_reports_rows_complete_rows_and_missing(synthetic_dir):
    r = run_kpbench("data", "inspect", str(synthetic_dir / "training.csv"), "--json")
    assert r.code == 0
    d = json.loads(r.out)
    faces = load_faces(synthetic_dir / "training.csv")
    assert d["rows"] == 64 and d["complete_rows"] == int(faces.complete_mask().sum())
    assert set(d["missing"]) == set(faces.names)


def test_cli_inspect_prints_tables_and_writes_pictures(synthetic_dir, tmp_path):
    r = run_kpbench("data", "inspect", str(synthetic_dir), "--png-dir", str(tmp_path / "pics"))
    assert r.code == 0
    out = r.out
    assert "complete rows" in out and "mouth_left_corner" in out
    assert (tmp_path / "pics" / "samples.png").exists() and (tmp_path / "pics" / "missing.png").exists()


def test_cli_synth_writes_the_kaggle_files(tmp_path):
    r = run_kpbench("data", "synth", "--out", str(tmp_path / "s"), "--rows", "12", "--seed", "3", "--test-rows", "4")
    assert r.code == 0
    names = {p.name for p in (tmp_path / "s").iterdir()}
    assert {"training.csv", "test.csv", "IdLookupTable.csv", "SampleSubmission.csv"} <= names
    assert len(load_faces(tmp_path / "s")) == 12 and len(load_faces(tmp_path / "s", split="test")) == 4
