"""CLI: `kpbench bench` — time training on this machine in fresh processes, write a Record."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from kpbench.cli.train import Device, ModelName, Precision
from kpbench.data import SYNTHETIC


def bench(
    out: Path = typer.Option(..., "--out", help="Directory for the Record JSON and its .mllog event log."),
    data: str = typer.Option(
        SYNTHETIC, "--data", help=f"Kaggle training.zip/CSV/directory, or '{SYNTHETIC}' / '{SYNTHETIC}:ROWS[:SEED]'."
    ),
    model: Optional[ModelName] = typer.Option(None, "--model", help="Network (default: the training default)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Images per step."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs per repeat."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", min=0.1, help="Stop training after S seconds."),
    target_rmse: Optional[float] = typer.Option(None, "--target-rmse", min=0.0, help="Time to this validation RMSE (px)."),
    repeats: int = typer.Option(3, "--repeats", min=1, help="Counted repeats, each a fresh process."),
    warmup: int = typer.Option(0, "--warmup", min=0, help="Uncounted repeats first (fill caches, warm clocks)."),
    precision: Optional[Precision] = typer.Option(None, "--precision", help="Number format (default: the training default)."),
    device: Optional[Device] = typer.Option(None, "--device", help="Where to train (default: the training default)."),
    instance_type: Optional[str] = typer.Option(
        None, "--instance-type", help="Cloud instance type (default: ask the EC2 metadata service)."
    ),
    price_per_hour: Optional[float] = typer.Option(
        None, "--price-per-hour", min=0.0, help="USD per hour, stored in the Record (default: none; compare prices "
        "by --instance-type from its catalog)."
    ),
    label: Optional[str] = typer.Option(None, "--label", help="A name for this Record in reports."),
    rows: Optional[int] = typer.Option(None, "--rows", min=1, help="Use only the first N rows (quick benches)."),
    seed: int = typer.Option(0, "--seed", min=0, help="Seed of repeat 0; repeat i uses seed+i."),
    export_csv: Optional[Path] = typer.Option(None, "--export-csv", help="Also write the figures as CSV here."),
    export_markdown: Optional[Path] = typer.Option(
        None, "--export-markdown", help="Also write the figures as a Markdown table here."
    ),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Per-repeat progress lines on stderr."),
    quiet: bool = typer.Option(False, "--quiet", help="Deprecated: use --no-progress."),
) -> None:
    """Benchmark training on this machine: phases, throughput, memory, repeats → one Record."""
    from kpbench.bench.export import write_exports
    from kpbench.bench.output import print_record
    from kpbench.bench.runner import BenchConfig, run_bench
    from kpbench.cost.catalog import check_priceable

    if quiet:
        print("kpbench: note: --quiet is deprecated; use --no-progress", file=sys.stderr)
    cfg = BenchConfig(
        data=data, model=_value(model), batch_size=batch_size, epochs=epochs, time_budget_s=time_budget,
        target_rmse_px=target_rmse, repeats=repeats, warmup_repeats=warmup, precision=_value(precision),
        device=_value(device), instance_type=instance_type, price_per_hour=price_per_hour, seed=seed, label=label,
        rows=rows,
    ).check()
    check_priceable(instance_type, price_per_hour)
    record, path = run_bench(cfg, out, progress=progress and not quiet)
    print_record(record, str(path))
    for written in write_exports(record, csv_path=export_csv, markdown_path=export_markdown):
        print(f"Export: {written}")


def _value(choice: Enum | None) -> str | None:
    return None if choice is None else choice.value


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("bench")(bench)
