"""BenchConfig: what to bench, as plain data; and the training settings a repeat uses."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from kpbench.data import SYNTHETIC
from kpbench.inputs import instance_type, number


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
        """Refuse, before any repeat runs, a number that is not finite and in range (a price that would
        poison every later compare, a repeat count no machine finishes) and an instance type that is not a name."""
        if self.instance_type is not None:
            instance_type(self.instance_type, "--instance-type")
        for option, value, lo, hi, integer in (
            ("--price-per-hour", self.price_per_hour, 0, 1e5, False), ("--repeats", self.repeats, 1, 1000, True),
            ("--warmup", self.warmup_repeats, 0, 100, True), ("--epochs", self.epochs, 1, 100_000, True),
            ("--time-budget", self.time_budget_s, 0.1, 1e7, False), ("--target-rmse", self.target_rmse_px, 0, 1e9, False),
            ("--batch-size", self.batch_size, 1, 1 << 20, True), ("--rows", self.rows, 1, 10**8, True),
            ("--seed", self.seed, 0, 2**32 - 1, True),
        ):
            if value is not None:
                number(value, option, lo=lo, hi=hi, integer=integer)
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
