"""Synthetic faces: deterministic, Kaggle's conventions, keypoints on the drawn features."""

from __future__ import annotations

import numpy as np

from helpers import run_kpbench
from kpbench.data import COMMON_KEYPOINTS, FLIP_PAIRS, KEYPOINT_NAMES, inspect_faces, load_faces, synth_faces
from kpbench.data.synth import synth_test_faces

IDX = {n: i for i, n in enumerate(KEYPOINT_NAMES)}


def test_same_seed_gives_identical_faces():
    a, b = synth_faces(32, 7), synth_faces(32, 7)
    assert np.array_equal(a.images, b.images)
    assert np.array_equal(a.keypoints, b.keypoints, equal_nan=True)


def test_different_seeds_give_different_faces():
    assert not np.array_equal(synth_faces(8, 0).images, synth_faces(8, 1).images)


def test_shapes_and_dtypes_follow_faceset(synthetic_faces):
    assert synthetic_faces.images.shape == (64, 96, 96) and synthetic_faces.images.dtype == np.uint8
    assert synthetic_faces.keypoints.shape == (64, 15, 2) and synthetic_faces.keypoints.dtype == np.float32


def test_about_a_third_of_rows_are_complete_the_rest_carry_only_the_common_four():
    faces = synth_faces(300, 0)
    complete = faces.complete_mask()
    assert 0.25 < complete.mean() < 0.40
    labelled = ~np.isnan(faces.keypoints[~complete]).any(axis=2)
    common = [IDX[n] for n in COMMON_KEYPOINTS]
    assert labelled[:, common].all()
    assert not np.delete(labelled, common, axis=1).any()


def test_left_eye_lies_on_the_image_right(synthetic_faces):
    kp = synthetic_faces.keypoints
    assert (kp[:, IDX["left_eye_center"], 0] > kp[:, IDX["right_eye_center"], 0]).all()


def test_flip_pairs_have_the_left_point_on_the_image_right():
    kp = synth_faces(200, 3).keypoints
    for left, right in FLIP_PAIRS:
        ok = ~np.isnan(kp[:, left, 0])
        assert (kp[ok, left, 0] > kp[ok, right, 0]).all(), KEYPOINT_NAMES[left]


def test_keypoints_stay_inside_the_image():
    kp = synth_faces(500, 1).keypoints
    assert np.nanmin(kp) >= 1 and np.nanmax(kp) <= 95


def _darkness_at(images: np.ndarray, points: np.ndarray) -> np.ndarray:
    x = np.clip(np.floor(points[:, 0]).astype(int), 0, 95)  # pixel j covers [j, j+1)
    y = np.clip(np.floor(points[:, 1]).astype(int), 0, 95)
    return images[np.arange(len(images)), y, x].astype(float)


def test_eye_centres_land_on_the_dark_pupils():
    faces, truth = synth_test_faces(200, 0)
    for eye in ("left_eye_center", "right_eye_center"):
        centre = _darkness_at(faces.images, truth[:, IDX[eye]])
        # 5 px towards the nose: cheek/skin, not pupil
        beside = _darkness_at(faces.images, truth[:, IDX[eye]] + np.array([0.0, 7.0]))
        assert np.median(centre) < np.median(beside) - 40


def test_brows_and_mouth_are_darker_than_the_skin_between_them():
    faces, truth = synth_test_faces(200, 1)
    forehead = _darkness_at(faces.images, (truth[:, IDX["left_eyebrow_inner_end"]] + truth[:, IDX["right_eyebrow_inner_end"]]) / 2)
    brow_mid = _darkness_at(faces.images, (truth[:, IDX["left_eyebrow_inner_end"]] + truth[:, IDX["left_eyebrow_outer_end"]]) / 2)
    mouth = _darkness_at(faces.images, (truth[:, IDX["mouth_center_top_lip"]] + truth[:, IDX["mouth_center_bottom_lip"]]) / 2)
    assert np.median(brow_mid) < np.median(forehead) - 30
    assert np.median(mouth) < np.median(forehead) - 30


def test_synthetic_loads_by_name_with_meta():
    faces = load_faces("synthetic:40:2")
    assert len(faces) == 40 and faces.meta["load"] == "synthetic"
    assert faces.meta["file"] == "synthetic:40:2" and len(faces.sha256) == 64
    assert np.array_equal(faces.images, synth_faces(40, 2).images)


def test_synthetic_default_is_2000_rows_seed_0_and_each_caller_gets_its_own_copy():
    a = load_faces("synthetic")
    assert len(a) == 2000
    a.images[:] = 0
    b = load_faces("synthetic")
    assert b.images.any() and b.sha256 == a.sha256


# --- writing a synthetic set: overwrites, full disks, and knowing it is synthetic afterwards -----


def _run_synth(out, *extra: str):
    """`kpbench data synth --out OUT --rows 8 --test-rows 4 EXTRA…`."""
    return run_kpbench("data", "synth", "--out", out, "--rows", "8", "--test-rows", "4", *extra)


def _synth(out, *extra: str) -> None:
    r = _run_synth(out, *extra)
    assert r.code == 0, r.err


def _one_line_exit_2(r) -> str:
    assert r.code == 2
    assert r.err.count("\n") == 1 and r.err.startswith("kpbench: error: ")
    return r.err


def test_synth_refuses_to_replace_a_training_csv_it_did_not_write(tmp_path):
    (tmp_path / "training.csv").write_text("my own labels\n")
    err = _one_line_exit_2(_run_synth(tmp_path))
    assert f"{tmp_path / 'training.csv'}: already exists and is not kpbench's own synthetic output; use --force" in err
    assert (tmp_path / "training.csv").read_text() == "my own labels\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["training.csv"]


def test_synth_force_replaces_it(tmp_path):
    (tmp_path / "training.csv").write_text("my own labels\n")
    _synth(tmp_path, "--force")
    assert len(load_faces(tmp_path / "training.csv")) == 8


def test_synth_may_replace_its_own_earlier_output_but_not_a_file_changed_since(tmp_path):
    _synth(tmp_path)
    _synth(tmp_path, "--seed", "3")  # its own files: replaced without --force
    assert load_faces(tmp_path).meta["synthetic_seed"] == 3
    with open(tmp_path / "solution.csv", "a") as f:
        f.write("99999,1.0\n")  # the user's edit
    err = _one_line_exit_2(_run_synth(tmp_path))
    assert f"{tmp_path / 'solution.csv'}: already exists" in err


def test_synth_on_a_full_disk_names_the_target_and_leaves_no_partial_set(full_disk):
    for out in (full_disk / "data", full_disk / "deep" / "er", full_disk):
        err = _one_line_exit_2(_run_synth(out, "--rows", "64"))
        assert err.startswith(f"kpbench: error: {out / 'training.csv'}: can't write (No space left on device)")
        assert not list(full_disk.iterdir()), "nothing half-written, no temporary or empty directory left"


def test_synth_leaves_only_its_files_and_a_marker(tmp_path):
    from kpbench.data.synthwrite import FILES, MARKER

    (tmp_path / "notes.txt").write_text("mine")
    _synth(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*FILES, MARKER, "notes.txt"])
    _synth(tmp_path / "new")
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == sorted([*FILES, MARKER])
    assert oct((tmp_path / "new").stat().st_mode & 0o777) != "0o700"  # not the temporary directory's private mode


def test_meta_says_whether_faces_are_synthetic(tmp_path, synthetic_dir):
    meta = load_faces("synthetic:40:2").meta
    assert (meta["synthetic"], meta["synthetic_rows"], meta["synthetic_seed"]) == (True, 40, 2)
    training = load_faces(synthetic_dir)
    assert (training.meta["synthetic"], training.meta["synthetic_rows"], training.meta["synthetic_seed"]) == (True, 64, 0)
    test = load_faces(synthetic_dir, split="test")
    assert (test.meta["synthetic"], test.meta["synthetic_rows"]) == (True, 16)
    assert load_faces(synthetic_dir).meta["synthetic"]  # from the cache too
    changed = tmp_path / "changed"
    changed.mkdir()
    for p in synthetic_dir.iterdir():
        (changed / p.name).write_bytes(p.read_bytes())
    (changed / "training.csv").write_bytes((synthetic_dir / "training.csv").read_bytes().replace(b"\n", b"\r\n"))
    faces = load_faces(changed)
    assert faces.meta["synthetic"] is False and "synthetic_rows" not in faces.meta
    assert inspect_faces(training).synthetic and not inspect_faces(faces).to_dict()["synthetic"]


def test_head_keeps_the_first_rows_and_gives_them_a_hash_of_their_own():
    whole = load_faces("synthetic:64:0")
    head = whole.head(48)
    assert np.array_equal(head.images, whole.images[:48]) and np.array_equal(head.keypoints, whole.keypoints[:48], equal_nan=True)
    assert len(head.sha256) == 64 and head.sha256 != whole.sha256 and head.sha256 == whole.head(48).sha256
    assert whole.head(64) is whole and whole.head(1000) is whole
    assert head.meta["head_rows"] == 48 and head.meta["synthetic_rows"] == 64


def test_synth_help_shows_the_test_rows_default_and_inspect_split_is_a_choice():
    assert "[default: rows/4]" in run_kpbench("data", "synth", "--help").out
    r = run_kpbench("data", "inspect", "synthetic", "--split", "validation")
    assert r.code == 2 and "'validation' is not one of 'training', 'test'" in r.err
