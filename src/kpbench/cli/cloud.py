"""CLI: `kpbench cloud plan | launch | collect`, the study on cloud instances through SkyPilot.

Thin: parses options, calls kpbench.cloud, prints. `plan` needs no SkyPilot; `launch` needs
the `cloud` extra (pip install 'kpbench[cloud]'); `collect` reads what launch saved.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from kpbench.cli.group import command_group
from kpbench.fmt import plain

cloud_app, register = command_group("cloud", "Bench cloud instances through SkyPilot: plan, launch, collect.")


@cloud_app.command("plan")
def plan_command(
    instances: str = typer.Option(..., "--instances", help="Comma-separated instance types, e.g. g4dn.xlarge,g5.xlarge."),
    out: Path = typer.Option(..., "--out", help="New directory for the task YAMLs, plan.json and the kpbench wheel."),
    data: str = typer.Option("synthetic", "--data", help="'synthetic[:ROWS]' or local Kaggle files (copied to each cluster)."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name (default: the training default)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs per repeat (default: the training default)."),
    repeats: int = typer.Option(3, "--repeats", help="Bench repeats on each instance."),
    spot: bool = typer.Option(False, "--spot", help="Ask SkyPilot for spot instances (use_spot)."),
    nodes: int = typer.Option(1, "--nodes", help="Nodes per cluster; above 1 runs `kpbench dist scale` across them."),
    max_minutes: float = typer.Option(
        30.0, "--max-minutes", help="Each cluster's life from the launch call; launch tears it down then."
    ),
    max_cost: Optional[float] = typer.Option(
        None, "--max-cost", help="Refuse (exit 2, nothing written) a plan whose estimated cost is above USD."
    ),
    record: Optional[list[Path]] = typer.Option(
        None, "--record", help="Record of the same workload on one of the instance types: a closer estimate (repeatable)."
    ),
    replace_retired: bool = typer.Option(
        False, "--replace-retired", help="Plan a retired type's nearest replacement instead of skipping it."
    ),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Instance catalog CSV (default: the shipped one)."),
    wheel: Optional[Path] = typer.Option(None, "--wheel", help="Ship this kpbench wheel instead of building one."),
) -> None:
    """Write one SkyPilot task per instance type, priced and budgeted; launch nothing."""
    from kpbench.cloud import PlanConfig, Workload, make_plan, write_plan
    from kpbench.cloud.output import print_plan

    workload = Workload(data=data, model=model, epochs=epochs, repeats=repeats, nodes=nodes, max_minutes=max_minutes)
    cfg = PlanConfig(instances=instances.split(","), workload=workload, spot=spot, max_cost_usd=max_cost,
                     records=list(record or []), catalog=catalog, wheel=wheel, replace_retired=replace_retired)
    plan = make_plan(cfg)
    for w in plan.warnings:
        print(f"kpbench: warning: {plain(w)}", file=sys.stderr)
    written = write_plan(plan, out, wheel=wheel, data=data)
    print_plan(plan)
    print(f"Plan: {written} ({len(plan.entries)} tasks); next: kpbench cloud launch {written}")


@cloud_app.command("launch")
def launch_command(
    plan_dir: Path = typer.Argument(..., metavar="DIR", help="A plan directory from `kpbench cloud plan`."),
    parallel: Optional[int] = typer.Option(
        None, "--parallel", help="Clusters at a time (default: all at once; 1 keeps queueing out of provision_s)."
    ),
) -> None:
    """Launch every task of a plan through SkyPilot, follow the jobs, and tear every cluster down."""
    from kpbench.cloud import launch_plan

    states = launch_plan(plan_dir, parallel=parallel)
    print(f"All {len(states)} jobs succeeded; next: kpbench cloud collect {plan_dir}")


@cloud_app.command("collect")
def collect_command(
    plan_dir: Path = typer.Argument(..., metavar="DIR", help="A launched plan directory."),
) -> None:
    """Read the Records from the saved job logs into DIR/records, then compare and report them."""
    from kpbench.cloud import collect
    from kpbench.cloud.collect import REPORT_DIR
    from kpbench.cost.output import print_comparison
    from kpbench.report import write_report

    result = collect(plan_dir)
    report = write_report(result.records, [], Path(plan_dir).absolute() / REPORT_DIR) if result.records else None
    for w in result.warnings:
        print(f"kpbench: warning: {plain(w)}", file=sys.stderr)
    if result.comparison is not None:
        print_comparison(result.comparison)
    print(f"Records: {len(result.records)} bench, {len(result.others)} other in {Path(plan_dir) / 'records'}")
    if report is not None:
        print(f"Compare: {', '.join(p.name for p in result.compare_files.values())}")
        print(f"Report: {report.html}")
