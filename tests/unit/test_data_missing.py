"""Missing labels: mask keeps them, ffill fills each column downwards, drop keeps complete rows."""

from __future__ import annotations

import numpy as np
import pytest

from kpbench.data import FaceSet, apply_missing
from kpbench.errors import KpbenchError


def _faces(columns: list[list[float]]) -> FaceSet:
    """Faces whose keypoint 0 x-coordinate is each column value; every other coordinate 1.0."""
    n = len(columns)
    kp = np.ones((n, 15, 2), np.float32)
    kp[:, 0, 0] = [c[0] for c in columns]
    kp[:, 3, 1] = [c[1] for c in columns]
    images = np.arange(n, dtype=np.uint8)[:, None, None] * np.ones((1, 96, 96), np.uint8)
    return FaceSet(images=images, keypoints=kp)


NAN = float("nan")


def test_mask_keeps_every_row_and_every_nan():
    faces = _faces([[1, NAN], [NAN, 2]])
    out = apply_missing(faces, "mask")
    assert np.array_equal(out.keypoints, faces.keypoints, equal_nan=True) and len(out) == 2


def test_ffill_fills_down_each_column():
    faces = _faces([[1, 10], [NAN, 20], [NAN, NAN], [4, NAN]])
    out = apply_missing(faces, "ffill")
    assert out.keypoints[:, 0, 0].tolist() == [1, 1, 1, 4]
    assert out.keypoints[:, 3, 1].tolist() == [10, 20, 20, 20]


def test_ffill_drops_leading_rows_it_cannot_fill():
    faces = _faces([[NAN, 1], [2, NAN], [NAN, 3]])
    out = apply_missing(faces, "ffill")
    assert len(out) == 2 and out.images[:, 0, 0].tolist() == [1, 2]  # row 0 had nothing above it
    assert not np.isnan(out.keypoints).any()


def test_ffill_matches_pandas_fillna_ffill(synthetic_faces):
    pd = pytest.importorskip("pandas")
    flat = synthetic_faces.keypoints.reshape(len(synthetic_faces), -1)
    expected = pd.DataFrame(flat).ffill().dropna().to_numpy(np.float32)
    out = apply_missing(synthetic_faces, "ffill")
    assert np.array_equal(out.keypoints.reshape(len(out), -1), expected)


def test_drop_keeps_only_complete_rows(synthetic_faces):
    out = apply_missing(synthetic_faces, "drop")
    assert len(out) == synthetic_faces.complete_mask().sum() and out.complete_mask().all()


def test_strategies_leave_the_input_unchanged(synthetic_faces):
    before = synthetic_faces.keypoints.copy()
    for strategy in ("mask", "ffill", "drop"):
        apply_missing(synthetic_faces, strategy)
    assert np.array_equal(synthetic_faces.keypoints, before, equal_nan=True)


def test_unknown_strategy_is_a_user_error(synthetic_faces):
    with pytest.raises(KpbenchError, match="unknown missing-label strategy 'zero'"):
        apply_missing(synthetic_faces, "zero")


def test_a_test_file_has_no_labels_to_handle():
    faces = FaceSet(images=np.zeros((2, 96, 96), np.uint8), keypoints=None, image_ids=np.array([1, 2]))
    with pytest.raises(KpbenchError, match="no keypoints"):
        apply_missing(faces, "drop")
