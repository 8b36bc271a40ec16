"""Statistics over repeats: one Figure per measured quantity.

A Figure is the Record's unit of reporting (docs/design.md):
``{median, min, max, mean, stdev, olympic_mean, cv, unit, values}``. Values keep
the order of the repeats so a reader can see drift (a warming machine, a cache
filling) that the summary hides.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

from kpbench.fmt import percent

# hyperfine warns about outliers; we warn when the spread is this large a
# fraction of the mean (coefficient of variation), because a ratio between two
# such figures then says little.
CV_WARN_FRACTION = 0.05
# The olympic mean drops the fastest and the slowest repeat; with fewer than
# this many repeats there would be too little left to average.
OLYMPIC_MIN_REPEATS = 5


def figure(values: Sequence[float], unit: str) -> dict:
    """Summarise one quantity measured once per repeat (at least one value)."""
    xs = [float(v) for v in values]
    if not xs:
        raise ValueError("a figure needs at least one value")
    mean = statistics.fmean(xs)
    stdev = statistics.stdev(xs) if len(xs) > 1 else 0.0
    return {
        "median": statistics.median(xs),
        "min": min(xs),
        "max": max(xs),
        "mean": mean,
        "stdev": stdev,
        "olympic_mean": olympic_mean(xs),
        "cv": stdev / abs(mean) if mean else 0.0,
        "unit": unit,
        "values": xs,
    }


def olympic_mean(values: Sequence[float]) -> float | None:
    """Mean without the smallest and the largest value; None below OLYMPIC_MIN_REPEATS."""
    if len(values) < OLYMPIC_MIN_REPEATS:
        return None
    xs = sorted(float(v) for v in values)[1:-1]
    return statistics.fmean(xs)


def spread_warning(name: str, fig: dict) -> str | None:
    """hyperfine-style warning when a figure's coefficient of variation exceeds 5 %."""
    if len(fig["values"]) < 2 or fig["cv"] <= CV_WARN_FRACTION:
        return None
    return (
        f"{name}: cv {percent(fig['cv'])} > {percent(CV_WARN_FRACTION, 0)}: other programs or a warming "
        "machine may disturb the measurement; try more --repeats, --warmup or a quieter machine"
    )


def ratio(a: dict, b: dict) -> tuple[float, float]:
    """How many times larger a's mean is than b's, with the spread propagated.

    First-order error propagation for a quotient of independent quantities, as
    hyperfine does for "A ran 1.52 ± 0.05 times faster than B".
    """
    r = a["mean"] / b["mean"]
    rel = math.sqrt((a["stdev"] / a["mean"]) ** 2 + (b["stdev"] / b["mean"]) ** 2)
    return r, r * rel
