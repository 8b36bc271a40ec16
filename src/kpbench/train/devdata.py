"""The data set on the device: uint8 images and normalised keypoints, split once by seed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from kpbench.data.faceset import FaceSet
from kpbench.errors import KpbenchError
from kpbench.train.augment import to_normalised


@dataclass
class Normalisation:
    """Pixel scaling, fitted on the training split and stored in model.pt."""

    pixel_mean: float
    pixel_std: float

    @classmethod
    def fit(cls, images_u8: np.ndarray) -> Normalisation:
        x = images_u8.astype(np.float32)
        return cls(pixel_mean=float(x.mean()), pixel_std=float(x.std()) or 1.0)

    def apply(self, images_u8: torch.Tensor) -> torch.Tensor:
        """uint8 (B,1,H,W) → float normalised, on the device."""
        return (images_u8.float() - self.pixel_mean) * (1.0 / self.pixel_std)

    def to_dict(self) -> dict:
        return {"pixel_mean": self.pixel_mean, "pixel_std": self.pixel_std, "coord_center_px": 48.0, "coord_scale_px": 48.0}

    @classmethod
    def from_dict(cls, d: dict) -> Normalisation:
        return cls(pixel_mean=float(d["pixel_mean"]), pixel_std=float(d["pixel_std"]))


@dataclass
class DeviceData:
    images: torch.Tensor  # uint8 (N,1,96,96) on the device
    keypoints: torch.Tensor | None  # float32 (N,15,2) normalised, NaN = missing

    def __len__(self) -> int:
        return int(self.images.shape[0])


def to_device(faces: FaceSet, device: str) -> DeviceData:
    images = torch.from_numpy(np.ascontiguousarray(faces.images)).to(device).unsqueeze(1)
    kp = None
    if faces.keypoints is not None:
        kp = to_normalised(torch.from_numpy(np.asarray(faces.keypoints, dtype=np.float32))).to(device)
    return DeviceData(images=images, keypoints=kp)


def split_indices(rows: int, val_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(train, val) row indices; the same rows for the same seed, whatever the model."""
    if rows < 2:
        raise KpbenchError(f"need at least 2 labelled rows to split off a validation set, got {rows}")
    order = np.random.default_rng(seed).permutation(rows)
    n_val = min(rows - 1, max(1, round(rows * val_frac)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])
