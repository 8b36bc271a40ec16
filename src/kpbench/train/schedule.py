"""Learning-rate schedules as a factor of the peak rate, over the run's progress in [0, 1].

Progress is steps/planned steps for an epoch count, or elapsed/budget for a time budget, so a
time-budgeted run always completes its schedule whatever the machine's speed.
"""

from __future__ import annotations

import math


def lr_factor(schedule: str, progress: float, warmup_frac: float = 0.15) -> float:
    p = min(max(progress, 0.0), 1.0)
    if schedule == "constant":
        return 1.0
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * p))
    if schedule == "onecycle":  # linear warm-up from 1/25, cosine down to ~0 (as torch's OneCycleLR)
        if p < warmup_frac:
            return 0.04 + 0.96 * p / warmup_frac
        q = (p - warmup_frac) / max(1e-9, 1 - warmup_frac)
        return 0.5 * (1 + math.cos(math.pi * q)) * (1 - 1e-4) + 1e-4
    raise ValueError(f"unknown schedule {schedule!r}")
