"""CLI: `kpbench bench` — time training on this machine in fresh processes, write a Record."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def bench(
    out: Path = typer.Option(..., "--out", help="Directory for the Record JSON and its .mllog event log."),
    data: str = typer.Option("synthetic", "--data", help="Kaggle training.zip/CSV/directory, or 'synthetic'."),
    model: Optional[str] = typer.Option(None, "--model", help="Model name (default: the training default)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Images per step."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help="Epochs per repeat."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Stop training after S seconds."),
    target_rmse: Optional[float] = typer.Option(None, "--target-rmse", help="Time to this validation RMSE (px)."),
    repeats: int = typer.Option(3, "--repeats", help="Counted repeats, each a fresh process."),
    warmup: int = typer.Option(0, "--warmup", help="Uncounted repeats first (fill caches, warm clocks)."),
    precision: Optional[str] = typer.Option(None, "--precision", help="fp32 | bf16 | auto."),
    device: Optional[str] = typer.Option(None, "--device", help="cpu | cuda | auto."),
    instance_type: Optional[str] = typer.Option(
        None, "--instance-type", help="Cloud instance type (default: ask the EC2 metadata service)."
    ),
    price_per_hour: Optional[float] = typer.Option(None, "--price-per-hour", help="USD per hour (default: catalog)."),
    label: Optional[str] = typer.Option(None, "--label", help="A name for this Record in reports."),
    rows: Optional[int] = typer.Option(None, "--rows", help="Use only the first N rows (quick benches)."),
    seed: int = typer.Option(0, "--seed", help="Seed of repeat 0; repeat i uses seed+i."),
    export_csv: Optional[Path] = typer.Option(None, "--export-csv", help="Also write the figures as CSV here."),
    export_markdown: Optional[Path] = typer.Option(
        None, "--export-markdown", help="Also write the figures as a Markdown table here."
    ),
    quiet: bool = typer.Option(False, "--quiet", help="No per-repeat progress lines."),
) -> None:
    """Benchmark training on this machine: phases, throughput, memory, repeats → one Record."""
    from kpbench.bench.export import write_exports
    from kpbench.bench.output import print_record
    from kpbench.bench.runner import BenchConfig, run_bench

    cfg = BenchConfig(
        data=data,
        model=model,
        batch_size=batch_size,
        epochs=epochs,
        time_budget_s=time_budget,
        target_rmse_px=target_rmse,
        repeats=repeats,
        warmup_repeats=warmup,
        precision=precision,
        device=device,
        instance_type=instance_type,
        price_per_hour=price_per_hour,
        seed=seed,
        label=label,
        rows=rows,
    )
    record, path = run_bench(cfg, out, progress=not quiet)
    print_record(record, str(path))
    for written in write_exports(record, csv_path=export_csv, markdown_path=export_markdown):
        print(f"Export: {written}")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("bench")(bench)
