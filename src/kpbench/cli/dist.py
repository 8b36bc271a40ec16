"""CLI: `kpbench dist scale` — where a data-parallel step's time goes, the α-β model, the break-even."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from kpbench.cli.group import command_group
from kpbench.errors import KpbenchError

dist_app, register = command_group("dist", "Data-parallel training on torchrun: measure, model, predict.")


@dist_app.command("scale")
def scale_command(
    out: Path = typer.Option(..., "--out", help="Directory for dist-scale.json and the PNG charts."),
    nproc: str = typer.Option("1,2", "--nproc", help="Worker counts to measure, comma-separated (each a fresh torchrun job)."),
    data: str = typer.Option("synthetic", "--data", help="Kaggle training.zip/CSV/directory, or 'synthetic'."),
    model: str = typer.Option("seed", "--model", help="Network: seed (8.05 M params), bncnn (0.45 M) or convonly (0.12 M)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs per worker count (default 1)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Timed steps per worker count (instead of --epochs)."),
    batch_size: int = typer.Option(32, "--batch-size", min=1, help="Images per step per worker."),
    link_limit: Optional[str] = typer.Option(None, "--link-limit", help="Shape the link to RATE (e.g. 1gbit, 200mbit): "
                                             "each worker in its own network namespace, tc tbf (Linux, root)."),
    comm_hook: str = typer.Option("none", "--comm-hook", help="DDP gradient hook: none, fp16, bf16 or powersgd:R (rank R)."),
    allreduce_max_mb: float = typer.Option(64.0, "--allreduce-max-mb", min=0.0,
                                           help="Largest all-reduce microbenchmark message, MiB (0: none)."),
    compare_hooks: bool = typer.Option(False, "--compare-hooks", help="Also train each hook, a 4x batch and convonly "
                                       "at the largest --nproc for --budget s and report speed and val RMSE."),
    budget: float = typer.Option(20.0, "--budget", min=1.0, help="Seconds of training per --compare-hooks variant."),
    device: str = typer.Option("cpu", "--device", help="cpu (gloo) or cuda (NCCL, one GPU per worker; not yet run on a GPU)."),
    json_out: bool = typer.Option(False, "--json", help="Print the rows, the α-β fit and the prediction as JSON on stdout."),
    nnodes: int = typer.Option(1, "--nnodes", min=1, help="Machines taking part; run the same command on each (torchrun's --nnodes)."),
    node_rank: int = typer.Option(0, "--node-rank", min=0, help="This machine's index, 0 … nnodes-1; node 0 writes the Record."),
    rdzv_endpoint: Optional[str] = typer.Option(None, "--rdzv-endpoint", help="HOST:PORT of node 0, where the workers meet (c10d)."),
    local_addr: Optional[str] = typer.Option(None, "--local-addr", help="This node's address as the others see it."),
) -> None:
    """Time DDP steps per worker count, fit the α-β all-reduce model, predict other clusters."""
    import warnings

    from rich.console import Console

    from kpbench.scaling.scale import measure, oversubscription_warning

    cfg = _config(nproc, data, model, epochs, steps, batch_size, link_limit, comm_hook, allreduce_max_mb, device)
    cfg.nnodes, cfg.node_rank, cfg.rdzv_endpoint, cfg.local_addr = nnodes, node_rank, rdzv_endpoint, local_addr
    cfg.resolved()
    stream = sys.stderr if json_out else sys.stdout  # with --json, stdout carries the JSON alone
    console = Console(stderr=json_out, width=None if stream.isatty() else 150)  # wide tables in logs too
    message = oversubscription_warning(cfg.nproc, cfg.cores, cfg.device)
    if message:  # before the run: say what will happen
        console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # measure() warns library callers; the line above told this user
        rows, raws = measure(cfg, on_size=lambda n: console.print(f"[bold]{n} worker(s)[/bold] …"))
    if not raws:  # a node other than 0: its workers took part; node 0 holds the result
        console.print(f"node {cfg.node_rank} of {cfg.nnodes} finished; node 0 writes the Record")
        return
    _finish(cfg, rows, raws, out, console, json_out,
            budget_s=budget if compare_hooks else None)


def _config(nproc: str, data: str, model: str, epochs: int | None, steps: int | None, batch_size: int,
            link_limit: str | None, comm_hook: str, allreduce_max_mb: float, device: str = "cpu"):
    from kpbench.models import MODEL_NAMES
    from kpbench.scaling.alphabeta import parse_rate_bit_per_s
    from kpbench.scaling.hooks import parse_comm_hook
    from kpbench.scaling.scale import ScaleConfig, parse_nproc

    if epochs is not None and steps is not None:
        raise KpbenchError("give --epochs or --steps, not both")
    if device not in ("cpu", "cuda"):
        raise KpbenchError(f"--device {device!r}: choose cpu or cuda")
    if model not in MODEL_NAMES:
        raise KpbenchError(f"--model {model!r}: choose one of {', '.join(MODEL_NAMES)}")
    try:
        hook, rank = parse_comm_hook(comm_hook)
    except ValueError as e:
        raise KpbenchError(f"--comm-hook: {e}") from None
    try:
        rate = parse_rate_bit_per_s(link_limit) if link_limit is not None else None
    except ValueError as e:
        raise KpbenchError(f"--link-limit: {e}") from None
    return ScaleConfig(data=data, model=model, nproc=parse_nproc(nproc), batch_size=batch_size, epochs=epochs,
                       steps=steps, comm_hook=hook, powersgd_rank=rank, link_limit_bit_per_s=rate,
                       allreduce_max_bytes=int(allreduce_max_mb * (1 << 20)), device=device).resolved()


def _finish(cfg, rows: list[dict], raws: list[dict], out: Path, console, json_out: bool, *, budget_s: float | None) -> None:
    """The α-β fit, the prediction, the comparison if asked; then the Record, the charts, the tables."""
    from kpbench.scaling import analysis, charts
    from kpbench.scaling.output import print_scale_record
    from kpbench.scaling.record import build_scale_record, json_summary, write_scale_record
    from kpbench.scaling.scale import compare, record_config

    fit = analysis.allreduce(raws)
    pred = analysis.prediction(rows, fit, cfg.batch_size, cfg.comm_hook, cfg.link_limit_bit_per_s)
    extra = None
    if budget_s is not None:
        extra = compare(cfg, budget_s, on_variant=lambda v: console.print(f"[bold]compare[/bold] {v} …"))
    record = build_scale_record(record_config(cfg), rows, fit, pred, extra)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dist-scale.json"
    write_scale_record(path, record)
    charts.write_charts(record, out)
    print_scale_record(record, str(path), console)
    if json_out:
        print(json.dumps(json_summary(record), indent=1))
