"""The report's own charts, as PNG bytes (dpi 100 keeps the self-contained HTML small).

Charts that other parts already draw (curves.png, faces.png, the cost charts) are
taken from them; these are drawn only when the report has the numbers but not the
picture, and for the cross-machine timing that only the report sees.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from kpbench.fmt import chart_text

DPI = 100
PHASE_LABELS = {
    "interpreter_s": "interpreter start",
    "imports_s": "imports",
    "device_init_s": "device init",
    "data_load_s": "data load",
    "train_setup_s": "training setup",
    "autotune_s": "speed path measured",
    "model_build_s": "model build",
    "warmup_s": "warm-up / compile",
}
TRAIN_COLOR = "#4d5b6a"
PALETTE = ("#3b6ea8", "#7fb3d5", "#e3a04f", "#a5c882", "#c76b6b", "#8e7cc3", "#d4b483")


def _init_phases(records: list[dict]) -> list[str]:
    """The phases that sum to init_s in any of the Records, in the order they run (bench.record.init_phases)."""
    from kpbench.bench.record import init_phases

    names: list[str] = []
    for r in records:
        names += [n for n in init_phases(r) if n not in names]
    return names


def _subplots(ncols: int, figsize: tuple[float, float], **kwargs: Any) -> tuple[Any, Any]:
    # A bare Agg canvas, no pyplot: no global backend switch, no figure left open in any process.
    fig = Figure(figsize=figsize, dpi=DPI)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, ncols, **kwargs)


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight")
    return buf.getvalue()


def _style(ax: Any) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)


def png_via_file(draw: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes:
    """Call a function that writes a PNG to a path (the data and cost charts) and return its bytes."""
    with tempfile.TemporaryDirectory(prefix="kpbench-report-") as tmp:
        path = Path(tmp) / "figure.png"
        draw(*args, path, **kwargs)
        return path.read_bytes()


def timing_png(machines: list[tuple[str, dict]]) -> bytes:
    """Left: initialization phases stacked per machine (medians), error bar = init_s min…max.
    `machines` are (name, Record) pairs of validated Records: every phase and init_s/train_s is a Figure.
    Right: training time per machine (median, min…max), its warm-up steps (inside train_s) marked."""
    names = [chart_text(n) for n, _ in machines]  # labels from Records: never mathtext
    height = 1.7 + 0.45 * len(names)
    fig, (ax_init, ax_train) = _subplots(2, (9.5, height), sharey=True)
    ys = range(len(names))
    left = [0.0] * len(names)
    for i, phase in enumerate(_init_phases([r for _, r in machines])):
        widths = [float(r["phases"].get(phase, {}).get("median") or 0.0) for _, r in machines]
        ax_init.barh(ys, widths, left=left, color=PALETTE[i % len(PALETTE)], label=PHASE_LABELS.get(phase, phase),
                     height=0.6)
        left = [a + b for a, b in zip(left, widths)]
    _errorbars(ax_init, [r["figures"]["init_s"] for _, r in machines])
    ax_init.set_yticks(list(ys), names)
    ax_init.invert_yaxis()
    ax_init.set_xlabel("initialization (s)")
    # Legend under the plot: inside it would hide the bars of the last machine.
    trains = [r["figures"]["train_s"] for _, r in machines]
    warm = [float(r["phases"]["warmup_s"]["median"] or 0.0) for _, r in machines]
    steady = [max(0.0, float(f.get("median") or 0.0) - w) for f, w in zip(trains, warm)]
    ax_train.barh(ys, warm, color=PALETTE[4], height=0.6, label=PHASE_LABELS["warmup_s"] + " (inside training)")
    ax_train.barh(ys, steady, left=warm, color=TRAIN_COLOR, height=0.6, label="training after warm-up")
    handles, labels = ax_init.get_legend_handles_labels()
    h2, l2 = ax_train.get_legend_handles_labels()
    fig.legend(handles + h2, labels + l2, loc="lower center", ncol=3, fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    _style(ax_init)
    _errorbars(ax_train, trains)
    ax_train.set_xlabel("training (s)")
    _style(ax_train)
    fig.tight_layout(rect=(0, 0.5 / height, 1, 1))  # room for the legend underneath
    return _png(fig)


def _errorbars(ax: Any, figures: list[dict]) -> None:
    for y, f in enumerate(figures):
        med, lo, hi = f.get("median"), f.get("min"), f.get("max")
        if None not in (med, lo, hi):
            ax.errorbar(med, y, xerr=[[med - lo], [hi - med]], fmt="none", ecolor="#222", capsize=3, linewidth=1)


def missing_strategies_png(rows: list[tuple[str, float]]) -> bytes:
    """Final validation RMSE per missing-label strategy."""
    fig, ax = _subplots(1, (5.5, 0.9 + 0.4 * len(rows)))
    ax.barh([chart_text(n) for n, _ in rows], [v for _, v in rows], color=[PALETTE[i % 6] for i in range(len(rows))], height=0.6)
    for y, (_, v) in enumerate(rows):
        ax.text(v, y, f" {v:.2f}", va="center", fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("final validation RMSE (px)")
    _style(ax)
    fig.tight_layout()
    return _png(fig)
