"""BenchConfig: what to bench, as plain data; and the training settings a repeat uses."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from kpbench.data import SYNTHETIC
from kpbench.errors import KpbenchError


@dataclass
class BenchConfig:
    """What to bench; None means the training default (kpbench.train.TrainConfig)."""

    data: str = SYNTHETIC
    model: str | None = None
    batch_size: int | None = None
    epochs: int | None = None
    time_budget_s: float | None = None
    target_rmse_px: float | None = None
    repeats: int = 3
    warmup_repeats: int = 0
    precision: str | None = None
    device: str | None = None
    instance_type: str | None = None
    price_per_hour: float | None = None
    seed: int = 0
    label: str | None = None
    rows: int | None = None  # the first N rows only (quick benches and tests); None = all
    cold: bool = False  # evict the repeat's files from the page cache before each repeat (bench.cold)

    def to_dict(self) -> dict:
        return asdict(self)

    def check(self) -> BenchConfig:
        """Refuse a price that would poison every later compare (the CLI's ranges are checked by typer)."""
        price = self.price_per_hour
        if price is not None and (not math.isfinite(price) or price < 0):
            raise KpbenchError(f"--price-per-hour must be a non-negative number, got {price}")
        return self


def train_settings(cfg: dict, repeat: int) -> dict:
    """The TrainConfig fields a repeat sets (everything else keeps training's default).

    Repeat i trains with seed + i: repeats differ like independent runs would.
    """
    settings = {
        "model": cfg["model"],
        "epochs": cfg["epochs"],
        "time_budget_s": cfg["time_budget_s"],
        "target_rmse_px": cfg["target_rmse_px"],
        "batch_size": cfg["batch_size"],
        "seed": cfg["seed"] + repeat,
        "device": cfg["device"],
        "precision": cfg["precision"],
    }
    return {k: v for k, v in settings.items() if v is not None}
