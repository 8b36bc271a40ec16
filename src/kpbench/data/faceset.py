"""FaceSet: the one in-memory form of a keypoint data set, and Kaggle's keypoint table."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

import numpy as np

# The word that names kpbench's built-in synthetic faces wherever a data path is accepted
# ("synthetic", "synthetic:ROWS", "synthetic:ROWS:SEED").
SYNTHETIC = "synthetic"

# Kaggle's column order; x then y for each. Left/right are the subject's:
# left_eye_center lies on the image's right.
KEYPOINT_NAMES: tuple[str, ...] = (
    "left_eye_center",
    "right_eye_center",
    "left_eye_inner_corner",
    "left_eye_outer_corner",
    "right_eye_inner_corner",
    "right_eye_outer_corner",
    "left_eyebrow_inner_end",
    "left_eyebrow_outer_end",
    "right_eyebrow_inner_end",
    "right_eyebrow_outer_end",
    "nose_tip",
    "mouth_left_corner",
    "mouth_right_corner",
    "mouth_center_top_lip",
    "mouth_center_bottom_lip",
)
COORD_COLUMNS: tuple[str, ...] = tuple(f"{n}_{a}" for n in KEYPOINT_NAMES for a in ("x", "y"))
# The four keypoints nearly every Kaggle row carries.
COMMON_KEYPOINTS: tuple[str, ...] = ("left_eye_center", "right_eye_center", "nose_tip", "mouth_center_bottom_lip")


def _pairs() -> tuple[tuple[int, int], ...]:
    idx = {n: i for i, n in enumerate(KEYPOINT_NAMES)}
    return tuple((idx[n], idx["right_" + n[5:]]) for n in KEYPOINT_NAMES if n.startswith("left_")) + tuple(
        (idx[n], idx[n.replace("_left_", "_right_")]) for n in KEYPOINT_NAMES if "_left_" in n
    )


# The six left/right pairs a horizontal flip swaps (indices into KEYPOINT_NAMES).
FLIP_PAIRS: tuple[tuple[int, int], ...] = _pairs()
IMAGE_SIZE = 96
# A label is a pixel coordinate; Kaggle's all lie inside 0..96. Half an image of margin on
# each side admits a point just off the edge; anything farther (-5000, 1e30) is not a label.
COORD_MIN_PX = -IMAGE_SIZE / 2
COORD_MAX_PX = IMAGE_SIZE * 1.5


@dataclass(frozen=True)
class FaceSet:
    """Images uint8 (N, 96, 96); keypoints float32 (N, 15, 2) in pixels, NaN = missing.

    Keypoints in pixels; pixel i covers [i, i+1), so its centre is i + 0.5; a horizontal
    flip maps x to 96 - x.

    A test file has ``keypoints`` None and ``image_ids`` set. ``meta`` says how the faces
    were loaded (see ``load_faces``); ``meta["synthetic"]`` is True for kpbench's own
    synthetic faces, with ``meta["synthetic_rows"]`` and ``meta["synthetic_seed"]``.
    """

    images: np.ndarray
    keypoints: np.ndarray | None
    names: tuple[str, ...] = KEYPOINT_NAMES
    image_ids: np.ndarray | None = None
    source: str = ""
    sha256: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.images.shape[0])

    @property
    def labelled(self) -> bool:
        """True for training faces (keypoints, possibly with missing labels), False for a test file."""
        return self.keypoints is not None

    def complete_mask(self) -> np.ndarray:
        """Rows with all 15 keypoints."""
        assert self.keypoints is not None
        return ~np.isnan(self.keypoints).any(axis=(1, 2))

    def subset(self, index: np.ndarray) -> FaceSet:
        """The faces at ``index`` (copies, as numpy fancy indexing makes); source, hash and meta kept."""
        return replace(
            self,
            images=self.images[index],
            keypoints=None if self.keypoints is None else self.keypoints[index],
            image_ids=None if self.image_ids is None else self.image_ids[index],
        )

    def head(self, rows: int) -> FaceSet:
        """The first ``rows`` faces (all of them when there are fewer), with a sha256 of its own.

        The hash is derived from the whole set's hash and ``rows``: the same source and
        ``rows`` give the same hash, and it never equals the whole set's unless all rows are kept.
        """
        if rows < 0:
            raise ValueError("rows must be >= 0")
        if rows >= len(self):
            return self
        sha = hashlib.sha256(f"{self.sha256}:head:{rows}".encode()).hexdigest() if self.sha256 else ""
        head = self.subset(np.arange(rows))
        return replace(head, sha256=sha, meta={**self.meta, "head_rows": rows, "head_of_sha256": self.sha256})
