"""PNG pictures of a data set: sample faces with their keypoints, missing labels per keypoint.

matplotlib (Agg) is imported inside the functions: importing kpbench.data stays cheap.
pyplot() and save_png() are shared with the run pictures (kpbench.train.pictures).
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from kpbench.atomic import atomic_open
from kpbench.data.faceset import FaceSet
from kpbench.data.inspect import Inspection

if TYPE_CHECKING:
    from matplotlib.figure import Figure

LEFT_COLOUR = "#e8453c"  # the subject's left: the image's right
RIGHT_COLOUR = "#2fa8e0"
CENTRE_COLOUR = "#f2c12e"


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the Agg backend: files only, never a window."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_png(fig: Figure, path: str | Path, **savefig_kw) -> None:
    """Write ``fig`` as a PNG atomically (a reader never sees half a file), then close it."""
    try:
        with atomic_open(path, "wb") as f:
            fig.savefig(f, format="png", **savefig_kw)
    finally:
        pyplot().close(fig)


def plot_samples(faces: FaceSet, path: str | Path, n: int = 16) -> None:
    """A grid of ``n`` faces spread over the set, keypoints drawn: left red, right blue, centre yellow."""
    plt = pyplot()
    n = max(0, min(n, len(faces)))
    cols = max(1, int(np.ceil(np.sqrt(n))))
    rows = max(1, int(np.ceil(n / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(1.6 * cols, 1.6 * rows), squeeze=False)
    colours = [LEFT_COLOUR if "left" in k else RIGHT_COLOUR if "right" in k else CENTRE_COLOUR for k in faces.names]
    for ax, i in zip(axes.flat, np.linspace(0, len(faces) - 1, n).round().astype(int) if n else []):
        ax.imshow(faces.images[i], cmap="gray", vmin=0, vmax=255)
        if faces.keypoints is not None:
            kp = faces.keypoints[i]
            ok = ~np.isnan(kp).any(axis=1)
            ax.scatter(kp[ok, 0], kp[ok, 1], s=7, c=[c for c, o in zip(colours, ok) if o], linewidths=0)
        ax.set_title(f"row {i}" if faces.image_ids is None else f"ImageId {faces.image_ids[i]}", fontsize=7)
    for ax in axes.flat:
        ax.axis("off")
    fig.tight_layout(pad=0.3)
    save_png(fig, path, dpi=100)


def plot_missing(inspection: Inspection, path: str | Path) -> None:
    """Horizontal bars: rows missing each keypoint, out of all rows."""
    plt = pyplot()
    names = list(inspection.missing)
    fig, ax = plt.subplots(figsize=(6.5, 0.28 * max(len(names), 1) + 1.0))
    ax.barh(names, [inspection.missing[n] for n in names], color="#8a8a8a")
    ax.invert_yaxis()
    ax.set_xlim(0, max(inspection.rows, 1))
    ax.set_xlabel(f"rows missing the keypoint (of {inspection.rows}; {inspection.complete_rows} complete)")
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    save_png(fig, path, dpi=100)


def inspect_path(path: str | Path, *, png_dir: Path | None = None, cache: bool = True, progress: bool = True,
                 split: str = "training") -> tuple[Inspection, list[Path]]:
    """Loads ``path`` and inspects it; with ``png_dir``, also writes samples.png (and missing.png for labels)."""
    from kpbench.data.inspect import inspect_faces
    from kpbench.data.load import load_faces

    faces = load_faces(path, cache=cache, progress=progress, split=split)
    inspection = inspect_faces(faces)
    pictures: list[Path] = []
    if png_dir is not None:
        pictures.append(Path(png_dir) / "samples.png")
        plot_samples(faces, pictures[0])
        if inspection.has_keypoints:
            pictures.append(Path(png_dir) / "missing.png")
            plot_missing(inspection, pictures[1])
    return inspection, pictures
