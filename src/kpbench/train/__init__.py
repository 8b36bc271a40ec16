"""kpbench.train: training, evaluation and prediction of the keypoint networks.

`train(faces, cfg)` → TrainResult; `load_predictor(model.pt)` → Predictor; see docs/design.md.
"""

from kpbench.train.config import TrainConfig
from kpbench.train.loop import TrainResult, train
from kpbench.train.predict import Predictor, load_predictor, score_submission

__all__ = ["TrainConfig", "TrainResult", "train", "Predictor", "load_predictor", "score_submission"]
