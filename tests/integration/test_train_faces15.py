"""Integration: the default recipe learns real faces (../shared/datasets/faces15)."""

from __future__ import annotations

import numpy as np
import pytest

from kpbench.data import load_faces
from kpbench.train import TrainConfig, train

pytestmark = pytest.mark.integration


def test_two_epochs_of_the_default_recipe_beat_the_mean_face(faces15):
    faces = load_faces(faces15 / "training.zip", progress=False)
    kp = faces.keypoints
    mean_face_rmse_px = float(np.sqrt(np.nanmean((kp - np.nanmean(kp, axis=0)) ** 2)))
    # two epochs (the one-cycle schedule over both) reach about 0.71x the mean face's RMSE; 0.8x leaves room
    result = train(faces, TrainConfig(epochs=2), progress=False)
    assert result.final_val_rmse_px < 0.8 * mean_face_rmse_px, mean_face_rmse_px
    assert len(result.val_rmse_per_keypoint_px) == 15 and result.steady_images_per_s > 0
