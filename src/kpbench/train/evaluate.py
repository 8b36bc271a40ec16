"""Forward passes for evaluation and prediction, in batches on the device."""

from __future__ import annotations

import contextlib

import torch

from kpbench.train.devdata import DeviceData, Normalisation
from kpbench.train.loss import rmse_px, squared_error_sums_px

_AUTOCAST_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}  # fp16: what `kpbench estimate` traces for V100/T4


def autocast(device: str, precision: str):
    if precision not in _AUTOCAST_DTYPES:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device, dtype=_AUTOCAST_DTYPES[precision])


@torch.inference_mode()
def predict_normalised(model, images_u8: torch.Tensor, norm: Normalisation, *, precision: str, batch_size: int = 512) -> torch.Tensor:
    """(N,1,H,W) uint8 on the model's device → (N,15,2) normalised float32. Leaves the model in eval mode."""
    model.eval()
    device = images_u8.device.type
    out = []
    for i in range(0, images_u8.shape[0], batch_size):
        x = norm.apply(images_u8[i : i + batch_size]).contiguous(memory_format=torch.channels_last)
        with autocast(device, precision):
            out.append(model(x).float().reshape(x.shape[0], -1, 2))
    return torch.cat(out) if out else torch.zeros(0, 15, 2, device=images_u8.device)


def evaluate_rmse(model, data: DeviceData, norm: Normalisation, names: tuple[str, ...], *, precision: str,
                  batch_size: int = 512) -> tuple[float, dict[str, float]]:
    """RMSE in pixels over labelled coordinates: overall and per keypoint."""
    pred = predict_normalised(model, data.images, norm, precision=precision, batch_size=batch_size)
    return rmse_px(*squared_error_sums_px(pred, data.keypoints), names)
