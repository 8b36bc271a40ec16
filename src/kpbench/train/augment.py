"""Augmentation on the device, in whole batches: flip, shift, scale, rotation.

Coordinates: a keypoint (x, y) in pixels, pixel i covering [i, i+1); normalised u = (x - 48)/48,
so u = ±1 are the image edges, matching affine_grid/grid_sample with align_corners=False.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from kpbench.data.faceset import FLIP_PAIRS, IMAGE_SIZE

HALF = IMAGE_SIZE / 2


def flip_permutation(n_keypoints: int = 15) -> list[int]:
    """Keypoint order after a horizontal flip: left ↔ right for each FLIP_PAIRS pair."""
    perm = list(range(n_keypoints))
    for a, b in FLIP_PAIRS:
        perm[a], perm[b] = b, a
    return perm


_PERM_CACHE: dict[tuple[str, int], torch.Tensor] = {}


def flip_index(n_keypoints: int, device: torch.device) -> torch.Tensor:
    """flip_permutation as an index tensor on ``device``, made once: no host→device copy per step."""
    key = (str(device), n_keypoints)
    if key not in _PERM_CACHE:
        _PERM_CACHE[key] = torch.tensor(flip_permutation(n_keypoints), device=device)
    return _PERM_CACHE[key]


def to_normalised(keypoints_px: torch.Tensor) -> torch.Tensor:
    return (keypoints_px - HALF) / HALF


def to_pixels(keypoints_norm: torch.Tensor) -> torch.Tensor:
    return keypoints_norm * HALF + HALF


def flip_keypoints(keypoints: torch.Tensor) -> torch.Tensor:
    """Normalised keypoints (B,15,2) of the mirrored images: x → -x, left ↔ right."""
    kp = keypoints[:, flip_index(keypoints.shape[1], keypoints.device)]
    return torch.stack((-kp[..., 0], kp[..., 1]), dim=-1)


def hflip(images: torch.Tensor, keypoints: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mirror images (B,1,H,W) and normalised keypoints (B,15,2): x → -x, left ↔ right."""
    return images.flip(-1), flip_keypoints(keypoints)


def draw_affine(generator: torch.Generator, rows: int, device: torch.device | str, *,
                flip: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The random numbers of ``rows`` transforms: (rows,4) uniform in [-1, 1), and (rows,) flip coins or None.

    Drawn for a whole global batch, so that data-parallel ranks each slice their rows out of the
    same draw and N workers x B rows transform exactly as one process with N·B rows would.
    """
    r = torch.rand(rows, 4, generator=generator, device=device) * 2 - 1
    coins = torch.rand(rows, generator=generator, device=device) < 0.5 if flip else None
    return r, coins


def draw_flips(generator: torch.Generator, rows: int, device: torch.device | str) -> torch.Tensor:
    """(rows,) booleans: which rows of a (global) batch a flip-only augmentation mirrors."""
    return torch.rand(rows, generator=generator, device=device) < 0.5


def random_affine(
    images: torch.Tensor,
    keypoints: torch.Tensor,
    generator: torch.Generator,
    *,
    flip: bool = True,
    shift_px: float = 0.0,
    scale_frac: float = 0.0,
    rotate_deg: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One random similarity transform (and flip with p=0.5) per image, keypoints moved along."""
    r, coins = draw_affine(generator, images.shape[0], images.device, flip=flip)
    return apply_affine(images, keypoints, r, coins, shift_px=shift_px, scale_frac=scale_frac, rotate_deg=rotate_deg)


def apply_affine(
    images: torch.Tensor,
    keypoints: torch.Tensor,
    r: torch.Tensor,
    flipped: torch.Tensor | None,
    *,
    shift_px: float = 0.0,
    scale_frac: float = 0.0,
    rotate_deg: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The transforms drawn by draw_affine (this batch's rows of them), applied to images and keypoints.

    grid_sample reads the output pixel at p from the input at A·p + t; so a keypoint at k
    lands at A⁻¹(k − t). Flips are folded into A: one resampling pass for everything.
    """
    dev = images.device
    angle = r[:, 0] * math.radians(rotate_deg)
    scale = 1 + r[:, 1] * scale_frac  # >1 zooms in
    shift = r[:, 2:] * (shift_px / HALF)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    a = torch.stack((torch.stack((cos, -sin), -1), torch.stack((sin, cos), -1)), -2)  # (B,2,2)
    if flipped is not None:
        sign = torch.where(flipped, -1.0, 1.0)
        a = a * torch.stack((sign, torch.ones_like(sign)), -1)[:, None, :]  # negate the x column
        keypoints = torch.where(flipped[:, None, None], keypoints[:, flip_index(keypoints.shape[1], dev)], keypoints)
    theta = torch.cat((a, shift[:, :, None]), dim=2)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    out = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return out, _apply_inverse(a, keypoints - shift[:, None, :])


def _apply_inverse(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """A⁻¹·v for (B,2,2) matrices and (B,K,2) points; closed-form 2×2 inverse (cheap, exact enough)."""
    det = a[:, 0, 0] * a[:, 1, 1] - a[:, 0, 1] * a[:, 1, 0]
    inv = torch.stack((torch.stack((a[:, 1, 1], -a[:, 0, 1]), -1), torch.stack((-a[:, 1, 0], a[:, 0, 0]), -1)), -2)
    inv = inv / det[:, None, None]
    return torch.einsum("bij,bkj->bki", inv, v)


def draw_photometric(generator: torch.Generator, rows: int, device: torch.device | str) -> torch.Tensor:
    """(rows, 2) uniform in [-1, 1): each image's contrast and brightness draw (for a whole global batch)."""
    return torch.rand(rows, 2, generator=generator, device=device) * 2 - 1


def apply_photometric(images: torch.Tensor, r: torch.Tensor, *, contrast_frac: float, brightness: float) -> torch.Tensor:
    """Normalised images with their contrast scaled by 1 ± contrast_frac and shifted by ± brightness (pixel std units).

    Faces of other videos differ in lighting more than in pose: the keypoints do not move.
    """
    scale = 1 + contrast_frac * r[:, 0]
    return images * scale[:, None, None, None] + (brightness * r[:, 1])[:, None, None, None]
