"""write_report: Records + run directories → report.html (self-contained) and report.md + PNGs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from kpbench.report import figures, sections, sections_bench, sections_dist
from kpbench.report.blocks import Report, Section
from kpbench.report.build import Inputs, gather
from kpbench.report.render_html import render_html
from kpbench.report.render_md import render_md
from kpbench import atomic


@dataclass
class ReportPaths:
    html: Path
    markdown: Path
    pictures: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # also shown in the page


def write_report(records: list[Path], runs: list[Path], out_dir: str | Path, *, data: str | Path | None = None) -> ReportPaths:
    """Build the study from what exists; a missing input is a warning and a note, never a failure."""
    out_dir = Path(out_dir)
    inputs = gather([Path(p) for p in records], [Path(p) for p in runs], data=data)
    report = build_report(inputs)
    html = out_dir / "report.html"
    atomic.write_text(html, render_html(report))
    md_text, pictures = render_md(report)
    written = []
    for name, png in pictures.items():
        atomic.write_bytes(out_dir / name, png)
        written.append(out_dir / name)
    md = out_dir / "report.md"
    atomic.write_text(md, md_text)
    return ReportPaths(html, md, written, list(report.warnings))


def build_report(inputs: Inputs) -> Report:
    body: list[Section] = [
        sections.objective_and_machines(inputs),
        sections.dataset(inputs, **_data_pictures(inputs)),
        sections.model(inputs),
        sections.optimizer(inputs),
        sections.training(inputs),
        sections.predictions(inputs),
        sections_bench.timing(inputs),
        sections_bench.cost(inputs, _cost_charts(inputs)),
    ]
    scaling = sections_dist.distributed(inputs)
    if scaling is not None:
        body.append(scaling)
    return Report(
        title="Facial keypoints: where to train, how long, at what cost",
        created_utc=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        headline=sections_bench.headline(inputs),
        sections=body,
        inputs=_input_lines(inputs),
        warnings=list(inputs.warnings),
    )


def _data_pictures(inputs: Inputs) -> dict:
    if inputs.faces is None:
        return {}
    out = {}
    for key, fname, arg, caption in (("faces_png", "plot_samples", inputs.faces, "sample faces"),
                                     ("missing_png", "plot_missing", (inputs.inspection or {}).get("object"),
                                      "missing-label chart")):
        draw = _data_function(fname)
        if draw is None:
            inputs.warn(f"{caption} not drawn: kpbench.data has no {fname}")
            continue
        try:
            out[key] = figures.png_via_file(draw, arg)
        except Exception as e:  # a picture failing must not lose the rest of the report
            inputs.warn(f"{caption} not drawn: {e}")
    return out


def _data_function(name: str):
    # kpbench.data exports the plots; older trees keep them in data.inspect or data.plots.
    import importlib

    for module in ("kpbench.data", "kpbench.data.inspect", "kpbench.data.plots"):
        try:
            return getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
    return None


def _cost_charts(inputs: Inputs) -> list[tuple[str, bytes, str]]:
    """The cost module's own charts for this Comparison (it owns how costs are drawn)."""
    comp = inputs.comparison
    if comp is None or comp.cheapest is None:  # nothing priced: no cost chart to draw
        return []
    from kpbench.cost import charts

    out = []
    for draw, name, caption in (
        (charts.plot_cost, "cost-per-run.png", "Cost per run and to target per machine ($)."),
        (charts.plot_pareto, "cost-pareto.png", "Time vs cost per run; the Pareto front is the set no machine beats on both."),
    ):
        try:
            out.append((name, figures.png_via_file(draw, comp), caption))
        except Exception as e:  # a chart failing must not lose the report
            inputs.warn(f"cost chart {name} not drawn: {e}")
    return out


def _input_lines(inputs: Inputs) -> list[str]:
    lines = [f"Record: {p}" for p, _ in inputs.records]
    lines += [f"Record skipped: {p} — {why}" for p, why in inputs.skipped_records]
    lines += [f"Scaling Record: {p}" for p, _ in inputs.scaling]
    lines += [f"Run: {r.path}" + ("" if r.metrics else " (no metrics.json)") for r in inputs.runs]
    if inputs.data_path:
        lines.append(f"Data: {inputs.data_path}")
    return lines
