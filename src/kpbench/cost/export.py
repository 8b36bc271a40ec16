"""A Comparison as CSV, Markdown and a directory of files; formatting only, no arithmetic."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import TYPE_CHECKING

from kpbench import atomic, fmt

if TYPE_CHECKING:
    from kpbench.cost.compare import Comparison

CSV_COLUMNS: tuple[str, ...] = (
    "label", "machine", "instance_type", "gpu", "gpus_used", "instance_gpu_count", "price_per_hour",
    "price_source", "init_s", "train_s", "time_s", "time_mean_s", "time_stdev_s", "time_min_s", "time_max_s",
    "repeats", "images_per_s", "time_to_target_s", "billed_s", "cost_per_run_usd", "cost_to_target_usd",
    "cost_per_million_images_usd", "retired", "pareto", "note",
)


def comparison_csv(comp: Comparison) -> str:
    """One line per row, full precision; empty cells where there is no price or no target."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in comp.rows:
        writer.writerow({k: ("" if v is None else v) for k, v in row.to_dict().items()})
    return buf.getvalue()


def usd(value: float | None) -> str:
    return fmt.usd(value, 4)


def table_cells(comp: Comparison) -> tuple[list[str], list[list[str]]]:
    """Header and text cells shared by the Markdown and terminal tables."""
    header = ["", "machine", "GPU", "$/h", "init s", "train s", "billed s", "$/run", "$/target",
              "$/M images", "Pareto", "note"]
    body = []
    for r in comp.rows:
        gpu = r.gpu or fmt.CELL_DASH
        if r.instance_gpu_count and r.instance_gpu_count > 1:
            gpu += f" ({r.gpus_used} of {r.instance_gpu_count})"
        body.append([
            r.label, r.machine + (" (retired)" if r.retired else ""), gpu,
            fmt.CELL_DASH if r.price_per_hour is None else f"{r.price_per_hour:g}",
            fmt.fixed(r.init_s), fmt.fixed(r.train_s), fmt.CELL_DASH if r.price_per_hour is None else str(r.billed_s),
            usd(r.cost_per_run_usd),
            usd(r.cost_to_target_usd), usd(r.cost_per_million_images_usd), "★" if r.pareto else "", r.note,
        ])
    return header, body


def comparison_markdown(comp: Comparison, *, verdicts: bool = True) -> str:
    header, body = table_cells(comp)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    align = ["---" if i < 3 or i == len(header) - 1 else "---:" for i in range(len(header))]  # numbers right
    out = [line(header), "|" + "|".join(align) + "|"]
    out += [line(cells) for cells in body]
    if verdicts:
        out += [""] + [f"- {v}" for v in comp.verdicts]
        for m in comp.config_mismatches:
            out.append(f"- **config mismatch:** {m.message}")
    out += ["", f"Method: {comp.method}." + (" Spot prices where the catalog has them." if comp.spot else ""),
            f"Prices: {_sources(comp)}."]
    return "\n".join(out) + "\n"


def _sources(comp: Comparison) -> str:
    seen = sorted({f"{r.machine}: {r.price_source}" for r in comp.rows if r.price_source})
    return "; ".join(seen) if seen else "none"


def write_comparison(comp: Comparison, out_dir: str | Path) -> dict[str, Path]:
    """compare.json, compare.csv, compare.md and three PNG charts in ``out_dir``, each written atomically."""
    from kpbench.cost.charts import plot_cost, plot_pareto, plot_time

    out = Path(out_dir)
    paths = {
        "json": out / "compare.json",
        "csv": out / "compare.csv",
        "markdown": out / "compare.md",
        "time_png": out / "compare_time.png",
        "cost_png": out / "compare_cost.png",
        "pareto_png": out / "compare_pareto.png",
    }
    atomic.write_text(paths["json"], json.dumps(comp.to_dict(), indent=2) + "\n")
    atomic.write_text(paths["csv"], comparison_csv(comp))
    atomic.write_text(paths["markdown"], "# Cost comparison\n\n" + comparison_markdown(comp))
    plot_time(comp, paths["time_png"])
    plot_cost(comp, paths["cost_png"])
    plot_pareto(comp, paths["pareto_png"])
    return paths
