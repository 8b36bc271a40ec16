"""PNG charts of a dist-scale Record: scaling (measured and predicted), stacked step split, break-even.

Each function takes the Record and returns PNG bytes, for ``dist scale --out`` and the report alike.
"""

from __future__ import annotations

import io

from kpbench.fmt import chart_text

PART_COLOURS = (("forward_s", "forward", "#4c72b0"), ("backward_s", "backward", "#55a868"),
                ("exposed_comm_s", "exposed comm", "#c44e52"), ("optimizer_s", "optimizer", "#8172b2"))


def _figure(figsize=(6.4, 3.8)):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=figsize, dpi=110)


def _png(fig) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def _finish(fig, ax, xlabel: str, ylabel: str, title: str) -> bytes:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(chart_text(title), fontsize=9)  # the model and link names come from a Record: never mathtext
    ax.legend(fontsize=6, loc="best", ncol=2)
    return _png(fig)


def scaling_png(record: dict) -> bytes:
    """Efficiency (speedup over one worker ÷ workers) against worker count: measured, and predicted per link."""
    fig, ax = _figure()
    measured = [(r["nproc"], r["efficiency"]) for r in record["rows"] if r.get("efficiency") is not None]
    if measured:
        ax.plot(*zip(*measured), "ko", label="measured (same total cores)", zorder=3)
    lines: dict[tuple[str, str], list] = {}
    for s in record["prediction"].get("scenarios", []):
        lines.setdefault((s["link"], s["batch_mode"]), []).append((s["nproc"], s["speedup"] / s["nproc"]))
    colours: dict[str, str] = {}
    for (link, mode), pts in lines.items():
        style = "-" if mode == "per-worker" else "--"
        kw = {"color": colours[link]} if link in colours else {}
        label = chart_text(link) if mode == "per-worker" else None  # one legend entry per link; dashes explained in the title
        (line,) = ax.plot(*zip(*[(1, 1.0), *sorted(pts)]), style, marker=".", label=label, **kw)
        colours.setdefault(link, line.get_color())
    ax.axhline(1.0, color="grey", lw=0.8, ls=":")
    ax.set_xscale("log", base=2)
    ax.set_ylim(bottom=0)
    return _finish(fig, ax, "workers", "efficiency = speedup ÷ workers",
                   f"{record['config']['model']}: predicted scaling (solid: fixed per-worker batch, dashed: fixed global)")


def time_split_png(record: dict) -> bytes:
    """Median step time per worker count, stacked: forward, backward, exposed comm, optimizer, rest."""
    fig, ax = _figure()
    rows = record["rows"]
    labels = [f"{r['nproc']}×{r['threads']}t" for r in rows]
    bottom = [0.0] * len(rows)
    for key, name, colour in PART_COLOURS:
        vals = [r[key] * 1e3 for r in rows]
        ax.bar(labels, vals, bottom=bottom, label=name, color=colour)
        bottom = [b + v for b, v in zip(bottom, vals)]
    rest = [max(0.0, r["step_s"] * 1e3 - b) for r, b in zip(rows, bottom)]
    ax.bar(labels, rest, bottom=bottom, label="rest of step", color="#cccccc")
    ax.plot(labels, [r["step_s"] * 1e3 for r in rows], "k_", markersize=30, label="step (timed whole)")
    return _finish(fig, ax, "workers × threads each", "median step (ms)",
                   f"{record['config']['model']}: where a step's time goes")


def allreduce_png(record: dict) -> bytes:
    """Bus bandwidth against message size, with the α-β fit."""
    fig, ax = _figure()
    ar = record["allreduce"]
    for n in sorted({p["nproc"] for p in ar["points"]}):
        pts = [(p["size_bytes"], p["busbw_bytes_per_s"] * 8 / 1e9) for p in ar["points"] if p["nproc"] == n]
        ax.plot(*zip(*pts), "o", label=f"measured, {n} workers")
        fit = [(p["size_bytes"], p["size_bytes"] * 2 * (n - 1) / n / p["predicted_s"] * 8 / 1e9)
               for p in ar["points"] if p["nproc"] == n and p.get("predicted_s")]
        if fit:
            ax.plot(*zip(*fit), "-", label=f"α-β fit, {n} workers")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    return _finish(fig, ax, "message size (bytes)", "busbw (Gbit/s)", "all-reduce bus bandwidth")


CHARTS = {"scaling.png": scaling_png, "time_split.png": time_split_png, "allreduce.png": allreduce_png}


def write_charts(record: dict, out_dir) -> list[str]:
    """Every chart that has data, atomically, into ``out_dir``; their file names."""
    from pathlib import Path

    from kpbench import atomic

    names = []
    for name, draw in CHARTS.items():
        if name == "allreduce.png" and not record["allreduce"]["points"]:
            continue
        atomic.write_bytes(Path(out_dir) / name, draw(record))
        names.append(name)
    return names
