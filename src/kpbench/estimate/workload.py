"""The work to estimate: how many training steps and evaluations, from --epochs/--rows or a measured run.

A run directory (metrics.json) or a bench Record gives the step count it ran, and the step at
which it reached its target RMSE, so an estimate answers "how long would *this* run take there".
Records are read only through ``kpbench.bench.record.load_record`` (their config and figures).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from kpbench.errors import KpbenchError
from kpbench.inputs import read_text
from kpbench.train.config import TrainConfig

KAGGLE_ROWS = 7049  # rows of Kaggle's Facial Keypoints training.csv: the study's data set
TRAIN = TrainConfig()  # the workload a run would train by default: kpbench train's own defaults
VAL_FRAC = TRAIN.val_frac
EVAL_BATCH = TRAIN.eval_batch_size


@dataclass(frozen=True)
class Workload:
    epochs: int
    steps: int  # optimizer steps in all
    batch_size: int
    val_rows: int  # rows evaluated after each epoch
    source: str  # where the counts come from, in words
    steps_to_target: int | None = None
    target_rmse_px: float | None = None
    record: dict | None = None  # the bench Record it came from (its own measured figures)

    @property
    def eval_batches(self) -> int:
        return -(-self.val_rows // EVAL_BATCH)

    def to_dict(self) -> dict:
        d = asdict(self)
        d.pop("record")
        return d


def split_rows(rows: int) -> tuple[int, int]:
    """(training rows, validation rows) as kpbench train splits ``rows`` (data/devdata.split_indices)."""
    if rows < 2:
        raise KpbenchError(f"--rows must be at least 2 (one training, one validation row), got {rows}")
    val = min(rows - 1, max(1, round(rows * VAL_FRAC)))
    return rows - val, val


def from_epochs(epochs: int, rows: int | None, batch_size: int) -> Workload:
    """``epochs`` over ``rows`` (default: Kaggle's 7049), split and batched as kpbench train does."""
    if epochs < 1:
        raise KpbenchError(f"--epochs must be positive, got {epochs}")
    rows = KAGGLE_ROWS if rows is None else rows
    train, val = split_rows(rows)
    per_epoch = train // min(batch_size, train)  # train drops the last partial batch
    source = f"{epochs} epochs over {rows:,} rows ({train:,} trained, {val:,} validated), batch {batch_size}"
    return Workload(epochs=epochs, steps=epochs * per_epoch, batch_size=batch_size, val_rows=val, source=source)


def from_path(path: str | Path) -> Workload:
    """The steps a run directory (metrics.json) or a bench Record ran."""
    path = Path(path)
    if path.is_dir():
        return _from_run_dir(path)
    from kpbench.bench.record import load_record

    return from_record(load_record(path), path.name)


def _from_run_dir(path: Path) -> Workload:
    metrics_path = path / "metrics.json"
    if not metrics_path.exists():
        raise KpbenchError(f"{path}: no metrics.json (not a `kpbench train --out` run directory)")
    try:
        metrics = json.loads(read_text(metrics_path, what="run metrics"))  # regular and bounded
        cfg, history = metrics["config"], metrics["history"]
        batch = int((metrics.get("distributed") or {}).get("global_batch") or cfg["batch_size"])
        images = [int(h["images"]) for h in history]
        val_rows = int(metrics["data"]["val_rows"])
    except FileNotFoundError:
        raise KpbenchError(f"{path}: no metrics.json (not a `kpbench train --out` run directory)") from None
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KpbenchError(f"{metrics_path}: not a kpbench run's metrics ({type(e).__name__}: {e})") from None
    if not images:
        raise KpbenchError(f"{metrics_path}: the run has no finished epoch")
    target = cfg.get("target_rmse_px")
    reached = next((i for i, h in enumerate(history) if target is not None and h.get("val_rmse_px", 1e9) <= target), None)
    to_target = None if reached is None else sum(images[: reached + 1]) // batch
    return Workload(epochs=len(history), steps=sum(images) // batch, batch_size=batch, val_rows=val_rows,
                    source=f"run directory {path.name}: {len(history)} epochs, batch {batch}",
                    steps_to_target=to_target, target_rmse_px=target)


def from_record(record: dict, name: str) -> Workload:
    """The steps a (validated) bench Record ran; ``name`` names it in errors."""
    cfg, figures = record["config"], record["figures"]
    batch, rows = cfg.get("batch_size"), cfg.get("rows")
    if not batch or not rows:
        raise KpbenchError(f"{name}: the Record names no batch size or row count to count steps from")
    epochs = cfg.get("epochs")
    if epochs is None:  # a time-budget run: its epochs from the measured times
        epochs = max(1, round(figures["train_s"]["median"] / figures["epoch_s"]["median"]))
    train, val = split_rows(int(rows))
    steps = int(epochs) * (train // min(int(batch), train))
    to_target = None
    if figures.get("time_to_target_s") is not None:
        share = figures["time_to_target_s"]["median"] / figures["train_s"]["median"]
        to_target = max(1, round(steps * min(1.0, share)))
    label = record.get("label") or name
    return Workload(epochs=int(epochs), steps=steps, batch_size=int(batch), val_rows=val,
                    source=f"Record {label}: {epochs} epochs over {rows:,} rows, batch {batch}",
                    steps_to_target=to_target, target_rmse_px=cfg.get("target_rmse_px"), record=record)
