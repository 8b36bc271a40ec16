"""Augmentation moves keypoints with the image; the loss ignores missing labels."""

from __future__ import annotations

import math

import numpy as np
import torch

from kpbench.data.faceset import FLIP_PAIRS, KEYPOINT_NAMES
from kpbench.train.augment import flip_permutation, hflip, random_affine, to_normalised, to_pixels
from kpbench.train.loss import masked_mse, rmse_of_predictions_px
from kpbench.train.schedule import lr_factor

LEFT_EYE, RIGHT_EYE = KEYPOINT_NAMES.index("left_eye_center"), KEYPOINT_NAMES.index("right_eye_center")


def _dot_image(points_px: list[tuple[float, float]], sigma: float = 1.5) -> torch.Tensor:
    """A dark (1,1,96,96) image with a Gaussian blob centred on each point (pixel i covers [i, i+1))."""
    c = torch.arange(96, dtype=torch.float32) + 0.5
    img = torch.zeros(96, 96)
    for x, y in points_px:
        img += torch.exp(-((c[None, :] - x) ** 2 + (c[:, None] - y) ** 2) / (2 * sigma**2))
    return img[None, None]


def _centroid_px(img: torch.Tensor) -> tuple[float, float]:
    w = img[0, 0].clamp(min=0)
    c = torch.arange(96, dtype=torch.float32) + 0.5
    return float((w.sum(0) * c).sum() / w.sum()), float((w.sum(1) * c).sum() / w.sum())


def test_flip_swaps_left_and_right_eye():
    kp_px = torch.full((1, 15, 2), float("nan"))
    kp_px[0, LEFT_EYE] = torch.tensor([66.0, 37.0])  # the subject's left eye is on the image's right
    kp_px[0, RIGHT_EYE] = torch.tensor([30.0, 38.0])
    img = _dot_image([(66.0, 37.0)])
    img2, kp2 = hflip(img, to_normalised(kp_px))
    kp2 = to_pixels(kp2)
    assert torch.allclose(kp2[0, LEFT_EYE], torch.tensor([96 - 30.0, 38.0]))
    assert torch.allclose(kp2[0, RIGHT_EYE], torch.tensor([96 - 66.0, 37.0]))
    assert np.allclose(_centroid_px(img2), (30.0, 37.0), atol=0.05)  # the dot went where x → 96 - x says


def test_flip_permutation_swaps_the_six_pairs_and_nothing_else():
    perm = flip_permutation()
    assert sorted(perm) == list(range(15))
    for a, b in FLIP_PAIRS:
        assert perm[a] == b and perm[b] == a
    assert perm[KEYPOINT_NAMES.index("nose_tip")] == KEYPOINT_NAMES.index("nose_tip")


def test_affine_moves_keypoints_with_the_image():
    points = {0: (40.0, 30.0), 1: (60.0, 50.0), 10: (48.0, 70.0)}  # slot: (x, y) px
    rows = [(slot, xy) for _ in range(8) for slot, xy in points.items()]
    images = torch.cat([_dot_image([xy]) for _, xy in rows])  # one dot per image
    kp = torch.full((len(rows), 15, 2), float("nan"))
    for i, (slot, xy) in enumerate(rows):
        kp[i, slot] = torch.tensor(xy)  # only the dot's own keypoint is labelled
    out, moved = random_affine(images, to_normalised(kp), torch.Generator().manual_seed(3),
                               flip=True, shift_px=6, scale_frac=0.1, rotate_deg=15)
    moved = to_pixels(moved)
    flips = 0
    for i, (slot, _) in enumerate(rows):
        if torch.isnan(moved[i, slot]).any():  # flipped: the point now sits in its mirror slot
            slot = flip_permutation()[slot]
            flips += 1
        assert np.allclose(_centroid_px(out[i : i + 1]), moved[i, slot].tolist(), atol=0.3), (i, moved[i, slot])
    assert 0 < flips < len(rows)  # both flipped and unflipped rows were checked


def test_affine_keeps_missing_keypoints_missing():
    kp = torch.full((4, 15, 2), float("nan"))
    kp[:, 10] = 0.1
    _, moved = random_affine(torch.zeros(4, 1, 96, 96), kp, torch.Generator().manual_seed(0), shift_px=3, rotate_deg=5)
    assert torch.isnan(moved[:, :10]).all() and torch.isfinite(moved[:, 10]).all()


def test_masked_loss_ignores_missing_labels():
    target = torch.tensor([[0.5, float("nan")], [float("nan"), -0.5]])
    pred = torch.tensor([[0.0, 100.0], [-100.0, 0.0]])
    assert torch.isclose(masked_mse(pred, target), torch.tensor(0.25))
    pred.requires_grad_()
    masked_mse(pred, target).backward()
    assert pred.grad[0, 1] == 0 and pred.grad[1, 0] == 0 and torch.isfinite(pred.grad).all()


def test_masked_loss_of_an_all_missing_batch_is_zero_not_nan():
    assert masked_mse(torch.ones(2, 30), torch.full((2, 15, 2), float("nan"))) == 0


def test_rmse_counts_only_labelled_coordinates_in_pixels():
    true = np.full((2, 15, 2), np.nan, dtype=np.float32)
    true[0, 0] = (10, 20)
    true[1, 0] = (30, 40)
    pred = np.zeros((2, 15, 2), dtype=np.float32)
    pred[0, 0], pred[1, 0] = (13, 20), (30, 44)  # errors 3 and 4 px
    overall, per = rmse_of_predictions_px(pred, true, KEYPOINT_NAMES)
    assert math.isclose(overall, math.sqrt((9 + 16) / 4), rel_tol=1e-6)
    assert math.isclose(per["left_eye_center"], overall, rel_tol=1e-6) and math.isnan(per["nose_tip"])


def test_onecycle_rises_then_falls_to_nearly_zero():
    values = [lr_factor("onecycle", p / 100) for p in range(101)]
    assert values[0] < 0.1 and max(values) == 1.0 and values[-1] < 1e-3
    assert lr_factor("constant", 0.7) == 1.0
