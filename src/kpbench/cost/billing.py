"""What a run costs under EC2's Linux billing: per second, with a 60-second minimum.

A run is billed from the moment the instance works for us (init: imports, device,
data, model) to the end of training; per-epoch evaluation is inside train_s
(docs/design.md), so it is not added again. Boot time before the process starts
is not in a Record and not billed here.
"""

from __future__ import annotations

import math

MINIMUM_BILLED_S = 60
SECONDS_PER_HOUR = 3600.0
# Timings are sums of floats (1.952 + 58.048 = 60.00000000000001); round away such
# noise before rounding up, or a 60.0 s run would be billed 61 s.
_NOISE_DIGITS = 6


def billed_s(seconds: float) -> int:
    """Seconds EC2 bills for a run of ``seconds``: whole seconds rounded up, at least 60."""
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"run time must be a non-negative number of seconds, got {seconds!r}")
    return max(MINIMUM_BILLED_S, math.ceil(round(seconds, _NOISE_DIGITS)))


def cost_usd(seconds: float, price_per_hour: float) -> float:
    """Cost of one run of ``seconds`` on an instance at ``price_per_hour`` (whole instance)."""
    _check_price(price_per_hour)
    return billed_s(seconds) / SECONDS_PER_HOUR * price_per_hour


def cost_per_million_images_usd(images_per_s: float, price_per_hour: float) -> float:
    """Steady-state cost of training on a million images (no minimum: a rate, not a run)."""
    _check_price(price_per_hour)
    if not math.isfinite(images_per_s) or images_per_s <= 0:
        raise ValueError(f"images_per_s must be positive, got {images_per_s!r}")
    return price_per_hour / SECONDS_PER_HOUR / images_per_s * 1e6


def _check_price(price_per_hour: float) -> None:
    if not math.isfinite(price_per_hour) or price_per_hour < 0:
        raise ValueError(f"price_per_hour must be a non-negative number, got {price_per_hour!r}")
