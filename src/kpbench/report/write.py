"""write_report: Records + run directories → report.html (self-contained) and report.md + PNGs."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kpbench.data import FaceSet
from kpbench.fmt import plain
from kpbench.report import figures, sections, sections_bench, sections_dist, sections_study
from kpbench.report.blocks import Columns, Figure, Headline, Note, Paragraph, Report, Section, Table
from kpbench.report.build import Inputs, gather
from kpbench.report.outdir import check_replaceable, write_staged
from kpbench.report.render_html import render_html
from kpbench.report.render_md import render_md


@dataclass
class ReportPaths:
    html: Path
    markdown: Path
    pictures: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # also shown in the page


def write_report(records: list[Path], runs: list[Path], out_dir: str | Path, *,
                 data: str | Path | FaceSet | None = None, force: bool = False) -> ReportPaths:
    """Build the study from what exists; a missing or bad input is a warning and a note, never a failure.

    `data`: the data set to describe, as a path for `load_faces` or a FaceSet already loaded.

    `out_dir` gets all of the report or none of it; a directory holding files that are not an earlier
    report's is refused (KpbenchError) unless `force`, which writes the report beside them.
    """
    out_dir = Path(out_dir)
    check_replaceable(out_dir, force=force)
    inputs = gather([Path(p) for p in records], [Path(p) for p in runs], data=data)
    report = build_report(inputs)
    md_text, pictures = render_md(report)
    files = {"report.html": render_html(report).encode("utf-8"), **pictures, "report.md": md_text.encode("utf-8")}
    write_staged(out_dir, files)
    return ReportPaths(out_dir / "report.html", out_dir / "report.md", [out_dir / n for n in pictures],
                       list(report.warnings))


def print_warnings(warnings: list[str]) -> None:
    """Each warning as one `kpbench: warning: …` line on stderr (the page shows them too)."""
    for w in warnings:
        print(f"kpbench: warning: {plain(w)}", file=sys.stderr)


def build_report(inputs: Inputs) -> Report:
    body: list[Section] = [
        _guarded(sections_study.SECTION_ID, sections_study.TITLE, sections_study.study_table, inputs),
        _guarded("machines", "1. Objective and machines", sections.objective_and_machines, inputs),
        _guarded("dataset", "2. Dataset", lambda i: sections.dataset(i, **_data_pictures(i)), inputs),
        _guarded("model", "3. Model", sections.model, inputs),
        _guarded("optimizer", "4. Optimizer, loss and metrics", sections.optimizer, inputs),
        _guarded("training", "5. Training", sections.training, inputs),
        _guarded("predictions", "6. Predictions", sections.predictions, inputs),
        _guarded("timing", "7. Timing across machines", sections_bench.timing, inputs),
        _guarded("cost", "8. Cost across machines", lambda i: sections_bench.cost(i, _cost_charts(i)), inputs),
    ]
    scaling = sections_dist.distributed(inputs)
    if scaling is not None:
        body.append(scaling)
    body = fold_empty(body)
    return Report(
        title="Facial keypoints: where to train, how long, at what cost",
        created_utc=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        headline=_headline(inputs),
        sections=body,
        inputs=_input_lines(inputs),
        warnings=list(inputs.warnings),
    )


def fold_empty(body: list[Section]) -> list[Section]:
    """Sections with nothing to show (no table, figure or picture) fold into one closing line saying what would
    fill each: the report leads with what it has."""
    shown = [s for s in body if _has_content(s)]
    empty = [s for s in body if not _has_content(s)]
    if not empty:
        return shown
    parts = [f"{s.title} ({'; '.join(b.text for b in s.blocks if isinstance(b, Note)) or 'no input'})" for s in empty]
    line = "Not available, nothing to show yet: " + " · ".join(parts) + "."
    return shown + [Section("not-shown", "Not in this report").add(Paragraph(line, small=True))]


def _has_content(section: Section) -> bool:
    return any(isinstance(b, (Table, Figure, Columns)) for b in section.blocks)


def _guarded(section_id: str, title: str, build: Callable[[Inputs], Section], inputs: Inputs) -> Section:
    """The section, or, when an input it reads is malformed in a way nobody checked, a note saying so."""
    try:
        return build(inputs)
    except Exception as e:  # the report promises that bad input is never fatal; name what broke
        inputs.warn(f"section {title} not drawn: {type(e).__name__}: {e}")
        return Section(section_id, title).add(Note(f"{title[3:].lower()}: an input could not be read ({e})"))


def _headline(inputs: Inputs) -> list[Headline]:
    try:
        return sections_bench.headline(inputs)
    except Exception as e:  # as for a section: say so, render the rest
        inputs.warn(f"headline not drawn: {type(e).__name__}: {e}")
        return []


def _data_pictures(inputs: Inputs) -> dict[str, bytes]:
    """The data area's own pictures of the data set (sample faces, missing labels), as PNG bytes."""
    if inputs.faces is None:
        return {}
    from kpbench.data import plot_missing, plot_samples

    out = {}
    for key, draw, arg, caption in (("faces_png", plot_samples, inputs.faces, "sample faces"),
                                    ("missing_png", plot_missing, inputs.inspection, "missing-label chart")):
        try:
            out[key] = figures.png_via_file(draw, arg)
        except Exception as e:  # a picture failing must not lose the rest of the report
            inputs.warn(f"{caption} not drawn: {e}")
    return out


def _cost_charts(inputs: Inputs) -> list[tuple[str, bytes, str]]:
    """The cost module's own charts for this Comparison (it owns how costs are drawn)."""
    comp = inputs.comparison
    if comp is None or (comp.cheapest is None and comp.cheapest_estimate is None):  # nothing priced: no cost chart
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
