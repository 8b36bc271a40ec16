"""Masked MSE (missing labels ignored) and RMSE in pixels over labelled coordinates."""

from __future__ import annotations

import torch

from kpbench.data.faceset import IMAGE_SIZE


def masked_sse(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(summed squared error over the finite entries of ``target``, their count); NaN = missing."""
    pred = pred.reshape(target.shape).float()
    mask = ~torch.isnan(target)
    diff = torch.where(mask, pred - torch.nan_to_num(target), 0.0)
    return diff.square().sum(), mask.sum()


def masked_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the finite entries of ``target`` (NaN = missing); 0 if none."""
    sse, count = masked_sse(pred, target)
    return sse / count.clamp(min=1)


def squared_error_sums_px(pred_norm: torch.Tensor, target_norm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per keypoint (15,): summed squared pixel error and count of labelled coordinates."""
    target = target_norm.reshape(pred_norm.shape[0], -1, 2)
    pred = pred_norm.reshape(target.shape).float()
    mask = ~torch.isnan(target)
    err = torch.where(mask, (pred - torch.nan_to_num(target)) * (IMAGE_SIZE / 2), 0.0)
    return err.square().sum(dim=(0, 2)), mask.sum(dim=(0, 2))


def rmse_px(sq_sum: torch.Tensor, count: torch.Tensor, names: tuple[str, ...]) -> tuple[float, dict[str, float]]:
    """Overall and per-keypoint RMSE from squared_error_sums_px (one host read)."""
    sq, n = sq_sum.double().cpu(), count.double().cpu()
    overall = float((sq.sum() / n.sum().clamp(min=1)).sqrt())
    per = {name: (float((s / c).sqrt()) if c > 0 else float("nan")) for name, s, c in zip(names, sq, n)}
    return overall, per


def rmse_of_predictions_px(pred_px, true_px, names: tuple[str, ...]) -> tuple[float, dict[str, float]]:
    """RMSE of (N,15,2) pixel predictions against pixel labels (NaN = missing): overall, per keypoint."""
    import numpy as np

    half = IMAGE_SIZE / 2
    pred = torch.from_numpy((np.asarray(pred_px, dtype=np.float32) - half) / half)
    true = torch.from_numpy((np.asarray(true_px, dtype=np.float32) - half) / half)
    return rmse_px(*squared_error_sums_px(pred, true), names)


def masked_mse_of_global_batch(pred: torch.Tensor, target: torch.Tensor, global_count: torch.Tensor,
                               world_size: int) -> torch.Tensor:
    """This rank's share of the global batch's masked MSE, scaled so that DDP's gradient average is exact.

    DDP averages gradients over ranks; the mean of per-rank means is not the global mean when
    ranks hold different numbers of labelled coordinates, so each rank divides its squared error
    sum by the global batch's count (known to every rank: all hold all labels) and multiplies by
    the world size that DDP then divides by.
    """
    sse, _ = masked_sse(pred, target)
    return sse * world_size / global_count.clamp(min=1)
