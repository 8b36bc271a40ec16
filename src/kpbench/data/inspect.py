"""What a FaceSet holds: rows, complete rows, labels per keypoint, pixel statistics."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from kpbench.data.faceset import FaceSet


@dataclass(frozen=True)
class Inspection:
    source: str
    rows: int
    complete_rows: int  # rows with all 15 keypoints (0 for a test file)
    missing: dict[str, int]  # {keypoint name: rows without it}; empty for a test file
    labelled: dict[str, int]  # {keypoint name: rows with it}
    pixel_mean: float
    pixel_std: float
    pixel_min: int
    pixel_max: int
    has_keypoints: bool
    sha256: str
    load: str  # "parse" | "cache" | "synthetic" | "" (from FaceSet.meta)
    load_s: float | None
    synthetic: bool = False  # kpbench's synthetic faces (FaceSet.meta["synthetic"])

    def to_dict(self) -> dict:
        return asdict(self)


def inspect_faces(faces: FaceSet) -> Inspection:
    """Counts and pixel statistics of ``faces`` (a histogram pass: fast even for 7000 faces)."""
    histogram = np.bincount(faces.images.reshape(-1), minlength=256).astype(np.float64)
    values = np.arange(256)
    total = histogram.sum()
    mean = float((histogram * values).sum() / total) if total else float("nan")
    std = float(np.sqrt((histogram * (values - mean) ** 2).sum() / total)) if total else float("nan")
    present = np.flatnonzero(histogram)
    if faces.keypoints is not None:
        has = ~np.isnan(faces.keypoints).any(axis=2)  # (N, 15): a keypoint counts when x and y are there
        labelled = {n: int(c) for n, c in zip(faces.names, has.sum(axis=0))}
        complete = int(has.all(axis=1).sum())
    else:
        labelled, complete = {}, 0
    return Inspection(
        source=faces.meta.get("file", faces.source),
        rows=len(faces),
        complete_rows=complete,
        missing={n: len(faces) - c for n, c in labelled.items()},
        labelled=labelled,
        pixel_mean=mean,
        pixel_std=std,
        pixel_min=int(present[0]) if len(present) else 0,
        pixel_max=int(present[-1]) if len(present) else 0,
        has_keypoints=faces.keypoints is not None,
        sha256=faces.sha256,
        load=faces.meta.get("load", ""),
        load_s=faces.meta.get("load_s"),
        synthetic=bool(faces.meta.get("synthetic", False)),
    )

