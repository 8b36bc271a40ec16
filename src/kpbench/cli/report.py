"""CLI: `kpbench report` (Records + run directories → report.html + report.md) and `kpbench demo`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def report(
    records: Optional[list[Path]] = typer.Argument(
        None, help="Record JSON files from `kpbench bench` (or directories holding them)."
    ),
    runs: Optional[list[Path]] = typer.Option(
        None, "--runs", help="Run directory from `kpbench train --out` (repeatable; a directory of runs works too)."
    ),
    data: Optional[str] = typer.Option(
        None, "--data", help="The data set to describe: Kaggle training.zip/CSV/directory, or 'synthetic'."
    ),
    out: Path = typer.Option(..., "--out", help="Directory for report.html, report.md and its PNGs."),
    force: bool = typer.Option(
        False, "--force", help="Write into --out even when it holds files that are not an earlier report's."
    ),
) -> None:
    """Write the study: a self-contained report.html and a report.md with its pictures."""
    from kpbench.report import print_warnings, write_report

    paths = write_report(list(records or []), list(runs or []), out, data=data, force=force)
    print_warnings(paths.warnings)
    print(f"Report: {paths.html}")
    print(f"Markdown: {paths.markdown} ({len(paths.pictures)} pictures beside it)")


def demo(
    out: Path = typer.Option(Path("kpbench-demo"), "--out", help="Directory for data, runs, records and the report."),
    data: Optional[str] = typer.Option(
        None, "--data", help="Use these Kaggle files instead of generating synthetic faces."
    ),
    # Hidden knobs for tests and quick looks; the defaults fit the README's "under 5 minutes".
    rows: Optional[int] = typer.Option(None, "--rows", hidden=True, help="Synthetic rows (default 1200), or the first N real rows."),
    time_budget: float = typer.Option(45.0, "--time-budget", hidden=True, help="Seconds for the main training run."),
    repeats: int = typer.Option(2, "--repeats", hidden=True, help="Bench repeats."),
    missing_runs: bool = typer.Option(
        True, "--missing-runs/--no-missing-runs", hidden=True, help="Also train short mask/ffill/drop runs."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write into --out even when it holds files that are not an earlier demo's."
    ),
) -> None:
    """Synthetic faces → train → bench this machine → report, in a few minutes; prints each step."""
    from kpbench.demo import DemoConfig, run_demo

    # A shorter main run (tests, quick looks) shortens the side runs too.
    cfg = DemoConfig(out_dir=out, data=data, rows=rows, time_budget_s=time_budget, repeats=repeats,
                     missing_runs=missing_runs, missing_time_budget_s=min(10.0, time_budget), force=force)
    result = run_demo(cfg)
    if result.failed_steps:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("report")(report)
    app.command("demo")(demo)
