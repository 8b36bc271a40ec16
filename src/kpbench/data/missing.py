"""What to do with missing keypoint labels before training (pure functions)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from kpbench.data.faceset import FaceSet
from kpbench.errors import KpbenchError

# The one place the strategies are defined: the CLI's choices, TrainConfig, demo and report read these.
MISSING_DESCRIPTIONS: dict[str, str] = {
    "mask": "keep every row; the loss counts only the coordinates that are labelled",
    "ffill": "fill a missing coordinate from the previous row (forward fill, as in the original study)",
    "drop": "keep only the rows with all 15 keypoints",
}
MISSING_STRATEGIES: tuple[str, ...] = tuple(MISSING_DESCRIPTIONS)


def require_labels(faces: FaceSet) -> FaceSet:
    """``faces`` itself when it can be trained on: a training file with at least one label.

    A test file (no keypoint columns) or a training file whose every row is unlabelled is a
    KpbenchError naming the file: training on it would report a perfect "0.000 px".
    """
    name = Path(faces.meta.get("file") or faces.source or "these faces").name
    if faces.keypoints is None:
        raise KpbenchError(f"{name}: no keypoints to train on (a test file?)")
    if len(faces) and np.isnan(faces.keypoints).all():
        raise KpbenchError(f"{name}: none of its {len(faces):,} rows has a keypoint label: nothing to train on")
    return faces


def apply_missing(faces: FaceSet, strategy: str) -> FaceSet:
    """A new FaceSet with missing labels handled by ``strategy``; ``faces`` is not changed.

    ``faces`` must carry labels (``require_labels``): a test file or a file without a
    single label is a KpbenchError.

    - ``mask``: keep the NaNs; the loss ignores them.
    - ``ffill``: fill each of the 30 coordinate columns downwards from the last
      row that has it, as the original study did with pandas
      ``fillna(method="ffill")``. Leading rows whose column has no earlier value
      can't be filled; those rows are dropped, so every row is complete.
    - ``drop``: keep only the complete rows.
    """
    if strategy not in MISSING_STRATEGIES:
        raise KpbenchError(f"unknown missing-label strategy {strategy!r}; expected one of {', '.join(MISSING_STRATEGIES)}")
    require_labels(faces)
    if strategy == "mask":
        return replace(faces)
    if strategy == "drop":
        return faces.subset(np.flatnonzero(faces.complete_mask()))
    return _ffill(faces)


def _ffill(faces: FaceSet) -> FaceSet:
    n = len(faces)
    columns = faces.keypoints.reshape(n, -1)
    # for each cell, the row of the last labelled value at or above it (0 when none: still NaN)
    last = np.where(np.isnan(columns), 0, np.arange(n)[:, None])
    np.maximum.accumulate(last, axis=0, out=last)
    filled = np.take_along_axis(columns, last, axis=0).reshape(faces.keypoints.shape)
    keep = np.flatnonzero(~np.isnan(filled).any(axis=(1, 2)))
    return replace(faces.subset(keep), keypoints=filled[keep])
