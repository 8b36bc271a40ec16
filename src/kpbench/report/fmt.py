"""Formatting numbers for people: units always, spread as 'median (min … max)'."""

from __future__ import annotations

import math
from typing import Any

DASH = "—"


def num(value: Any, digits: int = 2) -> str:
    """A number with ~`digits` significant decimals; '—' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, (float,)):
        try:
            value = float(value)
        except (TypeError, ValueError):
            return str(value)
    a = abs(value)
    if a >= 1000:
        return f"{value:,.0f}"
    if a >= 100:
        return f"{value:.0f}" if digits <= 2 else f"{value:.1f}"
    if a >= 10:
        return f"{value:.1f}"
    if a >= 10.0**-digits or a == 0:
        return f"{value:.{digits}f}"
    return f"{value:.2g}"  # 0.00076, not 7.6e-04: seconds people read


def spread(figure: dict | None, digits: int = 2) -> str:
    """A Record Figure as 'median (min … max)'."""
    if not figure or figure.get("median") is None:
        return DASH
    med, lo, hi = figure.get("median"), figure.get("min"), figure.get("max")
    if lo is None or hi is None or lo == hi:
        return num(med, digits)
    return f"{num(med, digits)} ({num(lo, digits)} … {num(hi, digits)})"


def usd(value: Any) -> str:
    if value is None:
        return DASH
    value = float(value)
    if value < 0.01 and value != 0:
        return f"${value:.4f}"
    return f"${value:,.3f}" if value < 1 else f"${value:,.2f}"


def si(value: Any, unit: str = "") -> str:
    """1.2e9 → '1.20 G' (FLOPs, parameters)."""
    if value is None:
        return DASH
    value = float(value)
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.2f} {prefix}{unit}"
    return f"{value:g} {unit}".strip()


def humanize(key: str) -> str:
    """'val_rmse_px' → 'Val RMSE (px)'; units in names become units in headers."""
    # the longer suffix first: "images_per_s" is a rate, not seconds
    units = {"_per_s": "/s", "_s": "s", "_px": "px", "_mb": "MB", "_gb": "GB", "_usd": "$"}
    unit = ""
    for suffix, u in units.items():
        if key.endswith(suffix) and key != suffix:
            key, unit = key[: -len(suffix)], u
            break
    words = key.replace("_", " ").strip()
    for short in ("rmse", "gpu", "cpu", "flops", "mfu", "id", "usd"):
        words = " ".join(w.upper() if w == short else w for w in words.split())
    words = words[:1].upper() + words[1:]
    return f"{words} ({unit})" if unit else words
