"""model.pt and the Predictor: everything needed to turn 96x96 uint8 faces into keypoints."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kpbench.data.faceset import IMAGE_SIZE, KEYPOINT_NAMES
from kpbench.errors import KpbenchError
from kpbench.train.checkpoint import NUMBER, TENSORS, check_normalisation, first_line, load_checked, refuse_nonfinite

MODEL_FORMAT = "kpbench.model/1"


def model_file_state(model, cfg_dict: dict, norm_dict: dict, names: tuple[str, ...], val_rmse_px: float) -> dict:
    return {
        "format": MODEL_FORMAT, "model_name": cfg_dict["model"], "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "config": cfg_dict, "normalisation": norm_dict, "keypoint_names": list(names), "final_val_rmse_px": val_rmse_px,
    }


@dataclass
class Predictor:
    model: Any
    model_name: str
    normalisation: Any  # devdata.Normalisation
    keypoint_names: tuple[str, ...]
    device: str
    precision: str
    config: dict

    def predict(self, images_uint8: np.ndarray, flip_tta: bool = False, batch_size: int = 256) -> np.ndarray:
        """(N,96,96) uint8 → (N,15,2) keypoints in pixels. flip_tta averages with the mirrored image."""
        import torch

        from kpbench.train.augment import flip_keypoints, to_pixels
        from kpbench.train.evaluate import predict_normalised

        images = np.asarray(images_uint8)
        if images.ndim != 3 or images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE):
            raise KpbenchError(f"expected images of shape (N, {IMAGE_SIZE}, {IMAGE_SIZE}), got {images.shape}")
        x = torch.from_numpy(np.ascontiguousarray(images, dtype=np.uint8)).to(self.device).unsqueeze(1)
        kw = {"precision": self.precision, "batch_size": batch_size}
        pred = predict_normalised(self.model, x, self.normalisation, **kw)
        if flip_tta:
            mirrored = flip_keypoints(predict_normalised(self.model, x.flip(-1), self.normalisation, **kw))
            pred = (pred + mirrored) / 2
        return to_pixels(pred).cpu().numpy()


def load_predictor(model_pt: str | Path, *, device: str = "auto", precision: str = "fp32") -> Predictor:
    """Load a model.pt written by `kpbench train` (KpbenchError naming it for a foreign, damaged or diverged file)."""
    from kpbench.models import build_model
    from kpbench.train.config import resolve_device, resolve_precision
    from kpbench.train.devdata import Normalisation

    path = Path(model_pt)
    if path.is_dir():
        path = path / "model.pt"
    state = load_model_file(path)
    name = state["model_name"]
    model = build_model(name)
    try:
        model.load_state_dict(state["state_dict"])
    except (RuntimeError, KeyError, ValueError, TypeError) as e:
        raise KpbenchError(f"{path}: weights do not fit model {name!r} ({first_line(e)})") from None
    dev = resolve_device(device)
    import torch

    model = model.to(dev).to(memory_format=torch.channels_last).eval()
    return Predictor(
        model=model, model_name=name, normalisation=Normalisation.from_dict(state["normalisation"]),
        keypoint_names=tuple(state.get("keypoint_names", KEYPOINT_NAMES)), device=dev,
        precision=resolve_precision(precision, dev, name), config=state.get("config", {}),
    )


MODEL_SPEC = {"format": str, "model_name": str, "state_dict": TENSORS, "normalisation": {"pixel_mean": NUMBER, "pixel_std": NUMBER}}
MODEL_OPTIONAL_SPEC = {"config": dict, "keypoint_names": list, "final_val_rmse_px": NUMBER}


def load_model_file(path: Path) -> dict:
    """A model.pt with what the Predictor needs, checked: structure, model name, finite weights."""
    from kpbench.models import MODEL_NAMES

    state = load_checked(path, "model file", MODEL_FORMAT, MODEL_SPEC, MODEL_OPTIONAL_SPEC)
    if state["model_name"] not in MODEL_NAMES:
        raise KpbenchError(f"{path}: unknown model {state['model_name']!r}")
    names = state.get("keypoint_names", KEYPOINT_NAMES)
    if len(names) != len(KEYPOINT_NAMES) or not all(isinstance(n, str) for n in names):
        raise KpbenchError(f"{path}: damaged model file: 'keypoint_names' is not {len(KEYPOINT_NAMES)} names")
    check_normalisation(path, state["normalisation"], "model file")
    refuse_nonfinite(path, state["state_dict"], "the run that wrote it diverged (train again with a lower --lr) "
                     "or the file is damaged")
    return state


def score_submission(submission: dict[int, float], solution: dict[int, float], *, name: str = "submission") -> float:
    """RMSE of a Kaggle submission against a solution, both {RowId: Location}; rows must match exactly."""
    missing = sorted(set(solution) - set(submission))
    extra = sorted(set(submission) - set(solution))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"{len(missing)} rows missing (RowId {_ids(missing)})")
        if extra:
            parts.append(f"{len(extra)} rows not in the solution (RowId {_ids(extra)})")
        raise KpbenchError(f"{name}: " + "; ".join(parts))
    if not solution:
        raise KpbenchError(f"{name}: the solution has no rows")
    ids = sorted(solution)
    a = np.array([submission[i] for i in ids], dtype=np.float64)
    b = np.array([solution[i] for i in ids], dtype=np.float64)
    if not np.isfinite(a).all():
        raise KpbenchError(f"{name}: {int((~np.isfinite(a)).sum())} locations are not numbers")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow is reported below, not warned about
        rmse = float(np.sqrt(np.mean((a - b) ** 2)))
        far = ids[int(np.argmax(np.abs(a - b)))]
    if not np.isfinite(rmse):
        raise KpbenchError(f"{name}: RowId {far}: a location so far from the solution that the RMSE overflows "
                           f"({submission[far]!r} against {solution[far]!r}); locations are pixels in 0..96")
    return rmse


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:3])
    return shown + (", …" if len(ids) > 3 else "")
