"""Numbers for people: the one formatting module (as hyperfine has one output/format.rs).

Every terminal line, export and report cell formats through here:
``mean ± σ`` with units, ``min … max`` ranges, "A is 1.52 ± 0.05× faster than B",
dollars, SI prefixes and column headers from unit-carrying names.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

DASH = "—"  # missing value in prose and the report
CELL_DASH = "–"  # missing value in compact tables (cost tables, terminal)


def num(value: Any, digits: int = 2) -> str:
    """A number with ~`digits` significant decimals; '—' for missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if not isinstance(value, float):
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


def fixed(value: float | None, spec: str = ".1f") -> str:
    """``format(value, spec)``; '–' for missing (compact table cells)."""
    return CELL_DASH if value is None else format(value, spec)


def sig4(value: float | None) -> str:
    """Four significant digits, scientific from 1e5 up; '-' for missing (machine-friendly exports)."""
    if value is None:
        return "-"
    return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"


def quantity(value: float, unit: str) -> str:
    """A value with its unit: seconds below 0.1 s as ms, rates and sizes with thousands separators."""
    if unit == "s":
        return f"{value * 1000:.1f} ms" if abs(value) < 0.1 else f"{value:.3f} s"
    return f"{value:,.1f} {unit}"


def mean_sigma(figure: Mapping[str, Any]) -> str:
    """A Figure as hyperfine's 'mean ± σ', with units: '1.949 s ± 0.066 s'."""
    unit = figure["unit"]
    return f"{quantity(figure['mean'], unit)} ± {quantity(figure['stdev'], unit)}"


def value_range(figure: Mapping[str, Any]) -> str:
    """A Figure as hyperfine's 'min … max', with units: '1.882 s … 2.013 s'."""
    unit = figure["unit"]
    return f"{quantity(figure['min'], unit)} … {quantity(figure['max'], unit)}"


def spread(figure: Mapping[str, Any] | None, digits: int = 2) -> str:
    """A Record Figure as 'median (min … max)'."""
    if not figure or figure.get("median") is None:
        return DASH
    med, lo, hi = figure.get("median"), figure.get("min"), figure.get("max")
    if lo is None or hi is None or lo == hi:
        return num(med, digits)
    return f"{num(med, digits)} ({num(lo, digits)} … {num(hi, digits)})"


def times_faster(ratio: float, sigma: float | None) -> str:
    """'1.52 ± 0.05× faster' (hyperfine), or '1.52× faster' when there is no spread."""
    return f"{ratio:.2f}× faster" if sigma is None else f"{ratio:.2f} ± {sigma:.2f}× faster"


def usd(value: Any, digits: int | None = None) -> str:
    """Dollars: fixed ``digits`` decimals (cost tables, '–' if missing), else adaptive (the report, '—')."""
    if digits is not None:
        return CELL_DASH if value is None else f"${float(value):.{digits}f}"
    if value is None:
        return DASH
    value = float(value)
    if value < 0.01 and value != 0:
        return f"${value:.4f}"
    return f"${value:,.3f}" if value < 1 else f"${value:,.2f}"


def percent(fraction: float, digits: int = 1) -> str:
    """0.0523 → '5.2 %'."""
    return f"{fraction * 100:.{digits}f} %"


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


# -- text from files (labels, names, messages) for each medium it is shown in --------------------
# A Record's label, a catalog's notes or a job log's file name may hold anything. Each medium gets
# its own escaping, applied where the text is rendered: never raw.

# C0 and C1 controls (ESC, BEL, CR …), DEL, bidirectional overrides and isolates, zero-width
# characters, line and paragraph separators, and lone surrogates (unprintable: they fail to encode).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ud800-\udfff]")
_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>!|~$&#])")
# What makes a line a list item or a heading underline: "- x", "+ x", "1. x", "2) x", "===", "---".
_LINE_START = re.compile(r"^(\s*)(?:([-+])(?=\s|$)|(\d{1,9})(?=[.)](?:\s|$))|([-=])(?=[-=]*\s*$))")


def plain(text: Any) -> str:
    """``text`` as one printable line: control and invisible characters shown as ``\\xNN``/``\\uNNNN``."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}",
                       str(text))


def rich_text(text: Any) -> str:
    """``plain`` text for a rich console or table cell: markup such as ``[bold]`` shown as typed."""
    from rich.markup import escape

    return escape(plain(text))


def markdown_text(text: Any) -> str:
    """``plain`` text for Markdown: HTML, links, images, emphasis, code and math shown as typed."""
    escaped = _MARKDOWN.sub(r"\\\1", plain(text))
    # a list item or a heading underline at the line's start, escaped: "\- x", "1\. x", "\==="
    return _LINE_START.sub(lambda m: m.group(1) + ("\\" + m.group(2) if m.group(2) else m.group(3) + "\\" if m.group(3)
                                                   else "\\" + m.group(4)), escaped)


def chart_text(text: Any) -> str:
    """``plain`` text for matplotlib: a ``$`` is never mathtext (an unbalanced one would fail the figure)."""
    return plain(text).replace("$", r"\$")


def csv_text(value: Any) -> Any:
    """A CSV cell: text a spreadsheet would run as a formula (=, +, -, @ first) gets a leading quote."""
    if not isinstance(value, str):
        return value
    text = plain(value)  # a tab or carriage return first becomes visible text, so only these four start one
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
