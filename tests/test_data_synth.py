"""Synthetic faces: deterministic, Kaggle's conventions, keypoints on the drawn features."""

from __future__ import annotations

import numpy as np

from kpbench.data import COMMON_KEYPOINTS, FLIP_PAIRS, KEYPOINT_NAMES, load_faces, synth_faces
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
