"""CLI: `kpbench dist scale` — where a data-parallel step's time goes, the α-β model, the break-even."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from kpbench.cli.group import command_group

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
    force: bool = typer.Option(False, "--force", help="Replace the dist-scale.json and charts --out holds."),
    oversubscribe: bool = typer.Option(False, "--oversubscribe", help="Allow --nproc above this machine's cores (GPUs)."),
) -> None:
    """Time DDP steps per worker count, fit the α-β all-reduce model, predict other clusters."""
    from kpbench.scaling.study import options_config, run_scale

    cfg = options_config(nproc, data, model, epochs, steps, batch_size, link_limit, comm_hook, allreduce_max_mb, device)
    cfg.nnodes, cfg.node_rank, cfg.rdzv_endpoint, cfg.local_addr = nnodes, node_rank, rdzv_endpoint, local_addr
    run_scale(cfg.resolved(), out, budget_s=budget if compare_hooks else None, json_out=json_out, force=force,
              oversubscribe=oversubscribe)


@dist_app.command("tta")
def tta_command(
    out: Path = typer.Option(..., "--out", help="Directory for dist-tta.json, its log and each run's directory."),
    target_rmse: float = typer.Option(..., "--target-rmse", help="Validation RMSE (px) to reach."),
    nproc: str = typer.Option("1,2", "--nproc", help="Worker counts, comma-separated (each run a fresh torchrun job)."),
    data: str = typer.Option("synthetic", "--data", help="Kaggle training.zip/CSV/directory, or 'synthetic'."),
    model: str = typer.Option("bncnn", "--model", help="Network: bncnn, seed or convonly."),
    budget: Optional[float] = typer.Option(None, "--budget", help="Seconds of training at most per run (default: "
                                           "train's 30 epochs)."),
    lr_scaling: str = typer.Option("sqrt", "--lr-scaling", help="Learning-rate rules for N > 1 workers, "
                                   "comma-separated: none, linear, sqrt."),
    link_limit: Optional[str] = typer.Option(None, "--link-limit", help="Shape the link between workers to RATE "
                                             "(1gbit, 200mbit): a network namespace per worker (Linux, root)."),
    repeats: int = typer.Option(1, "--repeats", min=1, help="Runs per configuration (seed, seed+1, …)."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help="Images per step per worker "
                                             "(default: train's)."),
    json_out: bool = typer.Option(False, "--json", help="Print {\"rows\": [{nproc, lr_scaling, time_to_target_s, "
                                  "epochs_to_target, final_val_rmse_px, images_per_s}, …]} on stdout."),
    force: bool = typer.Option(False, "--force", help="Replace the dist-tta.json and runs/ --out holds."),
    oversubscribe: bool = typer.Option(False, "--oversubscribe", help="Allow --nproc above this machine's cores."),
) -> None:
    """Train each worker count (and lr rule) to a target RMSE; wall time and epochs to it, with repeats."""
    from kpbench.scaling.study import run_tta, tta_config

    cfg = tta_config(nproc=nproc, data=data, model=model, target_rmse_px=target_rmse, budget_s=budget,
                     lr_scaling=lr_scaling, link_limit=link_limit, repeats=repeats, batch_size=batch_size, force=force)
    run_tta(cfg, out, json_out=json_out, oversubscribe=oversubscribe)
