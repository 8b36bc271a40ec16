"""A Comparison as CSV, Markdown and a directory of files; formatting only, no arithmetic."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import tempfile
from pathlib import Path

from kpbench import atomic, fmt
from kpbench.cost.charts import plot_cost, plot_pareto, plot_time
from kpbench.cost.types import Comparison
from kpbench.errors import KpbenchError

CSV_COLUMNS: tuple[str, ...] = (
    "label", "machine", "instance_type", "gpu", "gpus_used", "instance_gpu_count", "price_per_hour",
    "price_source", "init_s", "train_s", "time_s", "time_mean_s", "time_stdev_s", "time_min_s", "time_max_s",
    "repeats", "images_per_s", "time_to_target_s", "billed_s", "cost_per_run_usd", "cost_to_target_usd",
    "cost_per_million_images_usd", "retired", "pareto", "note", "estimated", "time_low_s", "time_high_s",
    "cost_low_usd", "cost_high_usd",
)


def comparison_csv(comp: Comparison) -> str:
    """One line per row, full precision; empty cells where there is no price or no target."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in comp.rows + comp.estimates:
        writer.writerow({k: ("" if v is None else fmt.csv_text(v)) for k, v in row.to_dict().items()})
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
    body += [_estimate_cells(r) for r in comp.estimates]
    return header, body


def _estimate_cells(r) -> list[str]:
    """An estimated row: "(estimate)" on the machine, the band beside init + train and the cost; ☆ its own front."""
    def band(value: float | None, low: float | None, high: float | None, show) -> str:
        return fmt.CELL_DASH if value is None else f"{show(value)} ({show(low)} … {show(high)})"

    return [
        r.label, r.machine + " (estimate" + (", retired)" if r.retired else ")"), r.gpu or fmt.CELL_DASH,
        fmt.CELL_DASH if r.price_per_hour is None else f"{r.price_per_hour:g}", fmt.fixed(r.init_s),
        band(r.train_s, r.time_low_s - (r.time_s - r.train_s), r.time_high_s - (r.time_s - r.train_s), fmt.fixed),
        fmt.CELL_DASH if r.price_per_hour is None else str(r.billed_s),
        band(r.cost_per_run_usd, r.cost_low_usd, r.cost_high_usd, usd), usd(r.cost_to_target_usd),
        usd(r.cost_per_million_images_usd), "☆" if r.pareto else "", r.note,
    ]


def comparison_markdown(comp: Comparison, *, verdicts: bool = True) -> str:
    header, body = table_cells(comp)

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(fmt.markdown_text(c) for c in cells) + " |"

    align = ["---" if i < 3 or i == len(header) - 1 else "---:" for i in range(len(header))]  # numbers right
    out = [line(header), "|" + "|".join(align) + "|"]
    out += [line(cells) for cells in body]
    if verdicts:
        out += [""] + [f"- {fmt.markdown_text(v)}" for v in comp.verdicts]
        for m in comp.config_mismatches:
            out.append(f"- **config mismatch:** {fmt.markdown_text(m.message)}")
    out += ["", fmt.markdown_text(f"Method: {comp.method}." + (" Spot prices where the catalog has them." if comp.spot
                                                               else "")),
            fmt.markdown_text(f"Prices: {_sources(comp)}.")]
    return "\n".join(out) + "\n"


def _sources(comp: Comparison) -> str:
    seen = sorted({f"{r.machine}: {r.price_source}" for r in comp.rows + comp.estimates if r.price_source})
    return "; ".join(seen) if seen else "none"


FILES: dict[str, str] = {
    "json": "compare.json", "csv": "compare.csv", "markdown": "compare.md",
    "time_png": "compare_time.png", "cost_png": "compare_cost.png", "pareto_png": "compare_pareto.png",
}


def write_comparison(comp: Comparison, out_dir: str | Path) -> dict[str, Path]:
    """compare.json, compare.csv, compare.md and three PNG charts in ``out_dir``: all of them or none.

    The set is written into a temporary directory beside the files, then each is renamed
    into place (renames on one file system do not fail for space); on any failure the
    temporary directory goes and ``out_dir`` keeps what it had.
    """
    out = Path(out_dir)
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=".compare-", dir=out))
    except OSError as e:
        raise KpbenchError(f"{out}: cannot write the comparison there ({e.strerror or e})") from None
    try:
        _write_set(comp, {key: stage / name for key, name in FILES.items()}, out)
        for name in FILES.values():
            os.replace(stage / name, out / name)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        if created:  # leave no empty directory behind either
            shutil.rmtree(out, ignore_errors=True)
        raise
    shutil.rmtree(stage, ignore_errors=True)
    return {key: out / name for key, name in FILES.items()}


def _write_set(comp: Comparison, paths: dict[str, Path], out: Path) -> None:
    writers = [
        ("json", lambda p: atomic.write_text(p, json.dumps(comp.to_dict(), indent=2) + "\n")),
        ("csv", lambda p: atomic.write_text(p, comparison_csv(comp))),
        ("markdown", lambda p: atomic.write_text(p, "# Cost comparison\n\n" + comparison_markdown(comp))),
        ("time_png", lambda p: plot_time(comp, p)),
        ("cost_png", lambda p: plot_cost(comp, p)),
        ("pareto_png", lambda p: plot_pareto(comp, p)),
    ]
    for key, write in writers:
        try:
            write(paths[key])
        except OSError as e:  # name the file the user asked for, never the staging copy
            raise KpbenchError(f"{out / FILES[key]}: cannot write ({e.strerror or e}); "
                               f"nothing written in {out}") from None
