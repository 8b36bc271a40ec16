"""Exports of one Record: JSON (the Record itself), CSV and Markdown.

Every format reads the same Record dict, as hyperfine's exporters read one
result; nothing here measures or recomputes a figure.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from kpbench import atomic
from kpbench.errors import KpbenchError
from kpbench.fmt import markdown_text, percent
from kpbench.fmt import sig4 as _num

COLUMNS = ("group", "name", "unit", "median", "mean", "stdev", "min", "max", "olympic_mean", "cv", "n")


def figure_rows(record: dict) -> list[dict]:
    """One row per figure, then per phase, in the Record's order."""
    rows = []
    for group in ("figures", "phases"):
        for name, fig in record[group].items():
            rows.append(
                {
                    "group": group[:-1],
                    "name": name,
                    "unit": fig["unit"],
                    **{k: fig[k] for k in ("median", "mean", "stdev", "min", "max", "olympic_mean", "cv")},
                    "n": len(fig["values"]),
                }
            )
    return rows


def to_csv(record: dict) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in figure_rows(record):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buf.getvalue()


def to_markdown(record: dict) -> str:
    cfg, machine, flops = record["config"], record["machine"], record["flops"]
    where = machine.get("instance_type") or machine.get("gpu") or machine.get("cpu_model") or "this machine"
    reps = record["repeats"]
    md = markdown_text  # the label, machine and data are the user's text: shown as typed, never rendered
    lines = [
        f"### {md(record.get('label') or cfg['model'])} on {md(where)}",
        "",
        md(f"{cfg['model']}, batch {cfg['batch_size']}, {cfg['epochs']} epochs, {cfg['precision']} on "
           f"{cfg['device']}, data {cfg['data']} ({record['data_load']}); "
           f"{reps['completed']} of {reps['requested']} repeats ok, {reps['warmup']} warm-up."),
        "",
        "| Figure | Mean ± σ | Median | Min … Max | Unit |",
        "|:---|---:|---:|---:|:---|",
    ]
    for row in figure_rows(record):
        name = row["name"] if row["group"] == "figure" else f"phase {row['name']}"
        lines.append(
            f"| {name} | {_num(row['mean'])} ± {_num(row['stdev'])} | {_num(row['median'])} | "
            f"{_num(row['min'])} … {_num(row['max'])} | {row['unit']} |"
        )
    if flops.get("achieved_flops_per_s"):
        mfu = "n/a" if flops.get("mfu") is None else percent(flops["mfu"], 2)
        lines += ["", md(f"Achieved {flops['achieved_flops_per_s'] / 1e9:.1f} GFLOP/s, MFU {mfu} ({flops['peak_note']}).")]
    for warning in record.get("warnings", []):
        lines += ["", f"> Warning: {md(warning)}"]
    return "\n".join(lines) + "\n"


def write_exports(record: dict, *, csv_path: str | Path | None = None, markdown_path: str | Path | None = None) -> list[Path]:
    """Write the requested exports atomically; returns the paths written. KpbenchError names a file that failed."""
    written = []
    for path, render in ((csv_path, to_csv), (markdown_path, to_markdown)):
        if path is None:
            continue
        try:
            atomic.write_text(path, render(record))
        except OSError as e:  # the export asked for, never atomic's temporary sibling
            raise KpbenchError(f"{path}: cannot write the export ({e.strerror or e})") from None
        written.append(Path(path))
    return written
