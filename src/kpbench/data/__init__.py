"""kpbench.data: Kaggle facial-keypoint files and synthetic faces into one FaceSet.

Modules: faceset (the FaceSet and Kaggle's keypoint table), load (load_faces),
csvparse (fast CSV parsing), cache (parse cache), kaggle (finding files, size limits, lookup
table, submissions), csvwrite (writing Kaggle CSVs), synth (synthetic faces),
synthwrite (a synthetic set on disk),
missing (missing-label strategies), inspect (summaries), plots (PNGs).
Nothing here imports torch or pandas.
"""

from kpbench.data.faceset import (
    COMMON_KEYPOINTS,
    COORD_COLUMNS,
    COORD_MAX_PX,
    COORD_MIN_PX,
    FLIP_PAIRS,
    IMAGE_SIZE,
    KEYPOINT_NAMES,
    SYNTHETIC,
    FaceSet,
)
from kpbench.data.inspect import Inspection, inspect_faces
from kpbench.data.load import load_faces
from kpbench.data.missing import MISSING_DESCRIPTIONS, MISSING_STRATEGIES, apply_missing, require_labels
from kpbench.data.plots import plot_missing, plot_samples
from kpbench.data.synth import synth_faces
from kpbench.data.synthwrite import write_synthetic

__all__ = [
    "COMMON_KEYPOINTS",
    "COORD_COLUMNS",
    "COORD_MAX_PX",
    "COORD_MIN_PX",
    "FLIP_PAIRS",
    "IMAGE_SIZE",
    "KEYPOINT_NAMES",
    "MISSING_DESCRIPTIONS",
    "MISSING_STRATEGIES",
    "SYNTHETIC",
    "FaceSet",
    "Inspection",
    "apply_missing",
    "inspect_faces",
    "load_faces",
    "plot_missing",
    "plot_samples",
    "require_labels",
    "synth_faces",
    "write_synthetic",
]
