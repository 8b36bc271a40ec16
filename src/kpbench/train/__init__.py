"""kpbench.train: training, evaluation and prediction of the keypoint networks.

`train(faces, cfg)` → TrainResult; `load_predictor(model.pt)` → Predictor; see docs/design.md.
Names resolve lazily so that `import kpbench.train` (and `kpbench --help`) does not import torch.
"""

from __future__ import annotations

from typing import Any

from kpbench.train.config import TrainConfig

__all__ = ["TrainConfig", "TrainResult", "train", "Predictor", "load_predictor", "score_submission"]
_LAZY = {
    "TrainResult": "kpbench.train.loop", "train": "kpbench.train.loop",
    "Predictor": "kpbench.train.predict", "load_predictor": "kpbench.train.predict",
    "score_submission": "kpbench.train.predict",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kpbench.train' has no attribute {name!r}")
