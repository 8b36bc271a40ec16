"""The pictures of a run: learning curves, best/median/worst faces, error per keypoint."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kpbench.data.plots import pyplot, save_png


def _save(fig, path: Path) -> None:
    save_png(fig, path, dpi=110, bbox_inches="tight")


def plot_curves(history: list[dict], path: Path) -> None:
    plt = pyplot()
    epochs = [h["epoch"] for h in history]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 3.6))
    a.plot(epochs, [h["train_loss"] for h in history], marker=".")
    a.set(xlabel="epoch", ylabel="train loss (masked MSE, normalised)", yscale="log", title="Training loss")
    b.plot(epochs, [h["val_rmse_px"] for h in history], marker=".", color="tab:orange")
    b.set(xlabel="epoch", ylabel="RMSE (px)", title="Validation RMSE")
    for ax in (a, b):
        ax.grid(alpha=0.3)
    _save(fig, path)


def plot_faces(images: np.ndarray, true_px: np.ndarray, pred_px: np.ndarray, path: Path) -> None:
    """Best, median and worst validation faces by per-face RMSE; green = true, red = predicted."""
    plt = pyplot()
    err = np.sqrt(np.nanmean((pred_px - true_px) ** 2, axis=(1, 2)))
    order = np.argsort(np.nan_to_num(err, nan=np.inf))
    n = len(order)
    picks = [("best", order[0]), ("median", order[n // 2]), ("worst", order[np.isfinite(err).sum() - 1 if np.isfinite(err).any() else 0])]
    fig, axes = plt.subplots(1, 3, figsize=(9, 3.4))
    for ax, (label, i) in zip(axes, picks):
        ax.imshow(images[i], cmap="gray", vmin=0, vmax=255, extent=(0, 96, 96, 0))
        ax.scatter(true_px[i, :, 0], true_px[i, :, 1], s=14, c="lime", label="true")
        ax.scatter(pred_px[i, :, 0], pred_px[i, :, 1], s=14, c="red", marker="x", label="predicted")
        ax.set_title(f"{label}: {err[i]:.2f} px")
        ax.axis("off")
    axes[0].legend(loc="lower left", fontsize=7)
    _save(fig, path)


def plot_keypoint_error(per_keypoint_px: dict[str, float], path: Path) -> None:
    plt = pyplot()
    names = list(per_keypoint_px)
    values = [per_keypoint_px[n] for n in names]
    fig, ax = plt.subplots(figsize=(8, 4.2))
    ax.barh(names[::-1], values[::-1], color="tab:blue")
    ax.set(xlabel="validation RMSE (px)", title="Error per keypoint")
    ax.grid(axis="x", alpha=0.3)
    _save(fig, path)
