"""What a trained model.pt is used for, file to file: evaluate on labelled faces, predict a Kaggle submission."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kpbench.errors import KpbenchError


@dataclass(frozen=True)
class Evaluation:
    model: Path
    data: str
    rows: int
    flip_tta: bool
    rmse_px: float
    rmse_per_keypoint_px: dict[str, float]

    def to_dict(self) -> dict:
        return {"model": str(self.model), "data": self.data, "rows": self.rows, "flip_tta": self.flip_tta,
                "rmse_px": self.rmse_px, "rmse_per_keypoint_px": self.rmse_per_keypoint_px}


def _finite_or_error(values, model: Path, what: str) -> None:  # noqa: ANN001 - numpy array or floats
    if not np.isfinite(np.asarray(values, dtype=np.float64)).all():
        raise KpbenchError(f"{model}: the model predicts non-finite {what} (NaN or infinity); "
                           "retrain it (a lower --lr) or use another model file")


def evaluate_file(weights: Path, data: str, *, flip_tta: bool = False, device: str = "auto",
                  progress: bool = True) -> Evaluation:
    """RMSE in pixels of the model in ``weights`` on the labelled faces in ``data``, overall and per keypoint."""
    from kpbench.data import load_faces
    from kpbench.train.loss import rmse_of_predictions_px
    from kpbench.train.predict import load_predictor

    predictor = load_predictor(weights, device=device)
    faces = load_faces(data, progress=progress)
    if not faces.labelled:
        raise KpbenchError(f"{data}: has no keypoint labels to evaluate against")
    pred = predictor.predict(faces.images, flip_tta=flip_tta)
    _finite_or_error(pred, weights, "keypoints")
    overall, per = rmse_of_predictions_px(pred, faces.keypoints, faces.names)
    _finite_or_error([overall, *per.values()], weights, "errors")
    return Evaluation(Path(weights), str(data), len(faces), flip_tta, overall, per)


def write_predictions(weights: Path, data: str, lookup: Path, out: Path, *, flip_tta: bool = False,
                      device: str = "auto", progress: bool = True) -> tuple[int, int]:
    """A Kaggle submission for the lookup rows, locations clipped to [0, 96]; (rows written, test images)."""
    from kpbench.data import load_faces
    from kpbench.data.faceset import IMAGE_SIZE
    from kpbench.data.kaggle import read_lookup, write_submission
    from kpbench.train.predict import load_predictor

    predictor = load_predictor(weights, device=device)
    test = load_faces(data, progress=progress, split="test")
    table = read_lookup(lookup, test)
    pred = predictor.predict(test.images, flip_tta=flip_tta)
    _finite_or_error(pred, weights, "keypoints")
    locations = np.clip(pred[table.image_index, table.keypoint_index, table.axis], 0.0, float(IMAGE_SIZE))
    write_submission(out, table.row_ids, locations)
    return len(table.row_ids), len(test)
