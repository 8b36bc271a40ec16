"""Charts of a Comparison: time per machine, cost per machine, time vs cost with the Pareto front.

Drawn on a bare Agg canvas (no pyplot, no global backend switch, safe in any
process) and written atomically. The report calls these with its own paths.
"""

from __future__ import annotations

import io
from pathlib import Path

from kpbench import atomic
from kpbench.cost.types import Comparison
from kpbench.fmt import chart_text

INIT_COLOR, TRAIN_COLOR, COST_COLOR, TARGET_COLOR, FRONT_COLOR = "#9ecae1", "#3182bd", "#e6550d", "#fdae6b", "#31a354"


def _figure(height_rows: int):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, max(2.5, 0.55 * height_rows + 1.5)), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str | Path) -> Path:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    atomic.write_bytes(path, buf.getvalue())
    return Path(path)


def _names(comp: Comparison) -> list[str]:
    # Labels come from Records: plain text (chart_text), never mathtext or control characters.
    return [chart_text(r.label) if r.label == r.machine else f"{chart_text(r.label)}\n{chart_text(r.machine)}"
            for r in comp.rows]


def plot_time(comp: Comparison, path: str | Path) -> Path:
    """Horizontal bars: init and train stacked (medians); whiskers span the repeats' min … max."""
    rows = comp.rows
    fig = _figure(len(rows))
    ax = fig.add_subplot()
    y = list(range(len(rows)))
    ax.barh(y, [r.init_s for r in rows], color=INIT_COLOR, label="init (imports, device, data, model)")
    ax.barh(y, [r.train_s for r in rows], left=[r.init_s for r in rows], color=TRAIN_COLOR, label="train")
    err = [[max(0.0, r.time_s - r.time_min_s) for r in rows], [max(0.0, r.time_max_s - r.time_s) for r in rows]]
    ax.errorbar([r.time_s for r in rows], y, xerr=err, fmt="none", ecolor="black", capsize=3, label="min … max")
    ax.set_yticks(y, _names(comp), fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("seconds per run (median)")
    ax.set_title("Time per machine")
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def plot_cost(comp: Comparison, path: str | Path) -> Path:
    """Bars: cost per run and cost to target, priced rows only."""
    rows = [r for r in comp.rows if r.cost_per_run_usd is not None]
    fig = _figure(len(rows))
    ax = fig.add_subplot()
    if not rows:
        ax.text(0.5, 0.5, "no priced rows (no instance type or price)", ha="center", va="center")
        ax.set_axis_off()
        return _save(fig, path)
    y = list(range(len(rows)))
    h = 0.4
    ax.barh([i - h / 2 for i in y], [r.cost_per_run_usd for r in rows], height=h, color=COST_COLOR, label="per run")
    reached = [(i, r.cost_to_target_usd) for i, r in zip(y, rows) if r.cost_to_target_usd is not None]
    if reached:
        ax.barh([i + h / 2 for i, _ in reached], [c for _, c in reached], height=h, color=TARGET_COLOR,
                label="to target RMSE")
    for i, r in zip(y, rows):
        if r.cost_to_target_usd is None:  # no bar: a $0 bar would read as free
            ax.text(0, i + h / 2, " to target: n/a", va="center", fontsize=7, color="gray")
    ax.set_yticks(y, [n for n, r in zip(_names(comp), comp.rows) if r.cost_per_run_usd is not None], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("USD (per-second billing, 60 s minimum)")
    ax.set_title("Cost per machine" + (" (spot where known)" if comp.spot else " (on-demand)"))
    ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def _plot_estimates(ax, rows: list) -> None:
    """Estimates: hollow markers with their bands as error bars, their own front dashed; never joined to measured rows."""
    for r in rows:
        ax.errorbar(r.time_s, r.cost_per_run_usd, xerr=[[r.time_s - r.time_low_s], [r.time_high_s - r.time_s]],
                    yerr=[[r.cost_per_run_usd - r.cost_low_usd], [r.cost_high_usd - r.cost_per_run_usd]],
                    fmt="o", mfc="none", color=FRONT_COLOR if r.pareto else "grey", capsize=2, zorder=2, alpha=0.8)
        ax.annotate(chart_text(r.label), (r.time_s, r.cost_per_run_usd), textcoords="offset points", xytext=(5, -10), fontsize=7,
                    color="dimgray")
    front = sorted((r for r in rows if r.pareto), key=lambda r: (r.time_s, -r.cost_per_run_usd))
    if front:
        ax.step([r.time_s for r in front], [r.cost_per_run_usd for r in front], where="post", color=FRONT_COLOR,
                linestyle="--", label="estimates' Pareto front (hollow: estimated, bars: band)")


def plot_pareto(comp: Comparison, path: str | Path) -> Path:
    """Scatter of time vs cost per run; the Pareto front joined by a step line."""
    rows = [r for r in comp.rows if r.cost_per_run_usd is not None]
    estimates = [r for r in comp.estimates if r.cost_per_run_usd is not None]
    fig = _figure(6)
    ax = fig.add_subplot()
    if not rows and not estimates:
        ax.text(0.5, 0.5, "no priced rows (no instance type or price)", ha="center", va="center")
        ax.set_axis_off()
        return _save(fig, path)
    _plot_estimates(ax, estimates)
    for r in rows:
        ax.scatter(r.time_s, r.cost_per_run_usd, color=FRONT_COLOR if r.pareto else "grey", zorder=3)
        ax.annotate(chart_text(r.label), (r.time_s, r.cost_per_run_usd), textcoords="offset points", xytext=(5, 4), fontsize=8)
    front = sorted((r for r in rows if r.pareto), key=lambda r: (r.time_s, -r.cost_per_run_usd))
    if len(front) > 1 or estimates:
        ax.step([r.time_s for r in front], [r.cost_per_run_usd for r in front], where="post", color=FRONT_COLOR,
                label="Pareto front")
        ax.legend(fontsize=8)
    ax.margins(x=0.2, y=0.15)  # room for the labels right of the points
    if estimates:
        ax.set_xscale("log")  # retired GPUs and today's differ by orders of magnitude
        ax.set_yscale("log")
    ax.set_xlabel("seconds per run (init + train, median)")
    ax.set_ylabel("USD per run")
    ax.set_title("Time vs cost (lower left is better)")
    ax.grid(alpha=0.3)
    return _save(fig, path)
