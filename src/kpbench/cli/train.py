"""CLI: train, on one process or data-parallel through torchrun (evaluate, predict and score live in cli/predict.py)."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Optional

import typer

from kpbench.data import MISSING_STRATEGIES
from kpbench.errors import KpbenchError
from kpbench.models import MODEL_NAMES
from kpbench.train.config import DEVICES, LR_SCALINGS, OPTIMIZERS, PRECISIONS, SCHEDULES, TrainConfig  # imports no torch

ModelName = Enum("ModelName", {n: n for n in MODEL_NAMES}, type=str)
Optimizer = Enum("Optimizer", {n: n for n in OPTIMIZERS}, type=str)
Schedule = Enum("Schedule", {n: n for n in SCHEDULES}, type=str)
Missing = Enum("Missing", {n: n for n in MISSING_STRATEGIES}, type=str)
LrScaling = Enum("LrScaling", {n: n for n in LR_SCALINGS}, type=str)
Device = Enum("Device", {n: n for n in DEVICES}, type=str)
Precision = Enum("Precision", {n: n for n in PRECISIONS}, type=str)
_D = TrainConfig()  # defaults shown in --help


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("train")(train_command)


# TrainConfig field → the train option that sets it (also how a launcher passes them on to its workers)
_OPTION_OF = {
    "model": "--model", "epochs": "--epochs", "time_budget_s": "--time-budget", "target_rmse_px": "--target-rmse",
    "batch_size": "--batch-size", "optimizer": "--optimizer", "lr": "--lr", "schedule": "--schedule",
    "missing": "--missing", "val_frac": "--val-frac", "seed": "--seed", "device": "--device",
    "precision": "--precision", "threads": "--threads", "lr_scaling": "--lr-scaling",
}


def train_command(
    data: str = typer.Option(..., "--data", help="Kaggle training.zip/CSV, a directory holding it, or 'synthetic'."),
    out: Path = typer.Option(..., "--out", help="Run directory: model.pt, checkpoint.pt, metrics.json, pictures."),
    model: Optional[ModelName] = typer.Option(None, "--model", help=f"Network (default: {_D.model}): bncnn (fast, accurate) or seed (classic)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs to train (default: 30 without --time-budget)."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", min=0.1, help="Seconds of training wall clock; the schedule spans it."),
    target_rmse: Optional[float] = typer.Option(None, "--target-rmse", min=0.0, help="Stop once validation RMSE (px) reaches this."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help=f"Images per step, per worker (default: {_D.batch_size})."),
    optimizer: Optional[Optimizer] = typer.Option(None, "--optimizer", help=f"(default: {_D.optimizer})"),
    lr: Optional[float] = typer.Option(None, "--lr", min=0.0, help=f"Peak learning rate of one worker (default: {_D.lr})."),
    schedule: Optional[Schedule] = typer.Option(None, "--schedule", help=f"(default: {_D.schedule})"),
    missing: Optional[Missing] = typer.Option(None, "--missing", help=f"mask: loss ignores missing labels; ffill; drop (default: {_D.missing})."),
    val_frac: Optional[float] = typer.Option(None, "--val-frac", min=0.0, max=1.0, help=f"(default: {_D.val_frac})"),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help=f"(default: {_D.seed})"),
    device: Optional[Device] = typer.Option(None, "--device", help=f"(default: {_D.device})"),
    precision: Optional[Precision] = typer.Option(None, "--precision", help="auto: bf16 on CUDA and on CPUs with native bf16 where it pays, else fp32 (default: auto)."),
    no_augment: bool = typer.Option(False, "--no-augment", help="No flip, shift, scale or rotation."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its checkpoint.pt."),
    force: bool = typer.Option(False, "--force", help="Start a new run in --out even if it holds files (another run's, or your own): they are replaced."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads per worker (default: torch's own for one worker; CPU cores ÷ local workers for several)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars on a terminal."),
    nproc: int = typer.Option(1, "--nproc", min=1, help="Data-parallel workers on this machine, started through torchrun (gloo on CPU, NCCL on CUDA)."),
    nnodes: int = typer.Option(1, "--nnodes", min=1, help="Machines in the job (torchrun --nnodes); each runs this command with its --node-rank."),
    node_rank: int = typer.Option(0, "--node-rank", min=0, help="This machine's index among --nnodes (torchrun --node-rank)."),
    rdzv_endpoint: Optional[str] = typer.Option(None, "--rdzv-endpoint", help="HOST:PORT where the machines meet (c10d rendezvous, served by node 0)."),
    local_addr: Optional[str] = typer.Option(None, "--local-addr", help="This machine's address as the others reach it (torchrun --local-addr)."),
    max_restarts: int = typer.Option(0, "--max-restarts", min=0, help="Times torchrun restarts the workers after a failure; they resume from the last checkpoint."),
    lr_scaling: Optional[LrScaling] = typer.Option(None, "--lr-scaling", help=f"Peak lr for N workers: none, linear (x N) or sqrt (x √N) (default: {_D.lr_scaling}; see docs/distributed-training.md)."),
) -> None:
    """Train a keypoint network; writes model.pt, metrics.json and pictures to --out."""
    if epochs is not None and time_budget is not None:
        raise KpbenchError("give --epochs or --time-budget, not both")
    given = {
        "model": model, "epochs": epochs, "time_budget_s": time_budget, "target_rmse_px": target_rmse,
        "batch_size": batch_size, "optimizer": optimizer, "lr": lr, "schedule": schedule, "missing": missing,
        "val_frac": val_frac, "seed": seed, "device": device, "precision": precision, "threads": threads,
        "lr_scaling": lr_scaling,
    }
    # Unset options keep TrainConfig's defaults: the one place that holds them.
    settings = {k: (v.value if isinstance(v, Enum) else v) for k, v in given.items() if v is not None}
    if no_augment:
        settings |= {"augment": False, "flip": False}
    cfg = TrainConfig(**settings).validate()
    if nproc > 1 or nnodes > 1 or rdzv_endpoint is not None or max_restarts > 0:
        if "WORLD_SIZE" in os.environ:
            raise KpbenchError("--nproc/--nnodes/--rdzv-endpoint/--max-restarts given inside a torchrun worker; "
                               "give them to torchrun or to kpbench, not both")
        argv = _worker_argv(data, out, settings, no_augment=no_augment, resume=resume, progress=progress) + ["--force"] * force
        _launch_workers(cfg, argv, nproc=nproc, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint,
                        local_addr=local_addr, max_restarts=max_restarts)
        return
    try:
        _train_here(cfg, data, out, resume=resume, progress=progress, force=force)
    except KpbenchError as e:
        _tell_launcher(e)
        raise


def _train_here(cfg: TrainConfig, data: str, out: Path, *, resume: bool, progress: bool, force: bool = False) -> None:
    """Train in this process (one of torchrun's workers when WORLD_SIZE is set: rank 0 alone prints)."""
    from rich.console import Console
    from rich.markdown import Markdown

    from kpbench.data import load_faces
    from kpbench.models import build_model, summarize
    from kpbench.train import train
    from kpbench.train.config import resolve_device, resolve_precision

    main = os.environ.get("RANK", "0") == "0"
    console = Console(stderr=False, quiet=not main)
    dev = resolve_device(cfg.device)
    console.print(f"[bold]config[/bold] (device {dev}, precision {resolve_precision(cfg.precision, dev, cfg.model)})")
    console.print("  " + ", ".join(f"{k}={v}" for k, v in cfg.to_dict().items()), highlight=False)
    console.print(Markdown(summarize(build_model(cfg.model), cfg.model).to_markdown()))
    faces = load_faces(data, progress=progress and main)
    result = train(faces, cfg, out_dir=out, resume=resume, progress=progress, force=force)
    target = "" if result.time_to_target_s is None else f", target reached at {result.time_to_target_s:.1f} s"
    workers = result.distributed.get("world_size", 1)
    on = f"{workers} workers, global batch {result.distributed['global_batch']}, " if workers > 1 else ""
    console.print(
        f"[bold]val RMSE {result.final_val_rmse_px:.3f} px[/bold] after {len(result.history)} epochs, "
        f"{result.train_s:.1f} s training ({result.steady_images_per_s:.0f} images/s steady, "
        f"{on}{result.device}/{result.precision}){target}"
    )
    console.print(f"wrote {out}/: model.pt, metrics.json, curves.png, faces.png, keypoint_error.png", highlight=False)


def _worker_argv(data: str, out: Path, settings: dict, *, no_augment: bool, resume: bool, progress: bool) -> list[str]:
    """The `train` command line each torchrun worker runs: the same run, without the launch options."""
    argv = ["train", "--data", data, "--out", str(out)]
    for key, value in settings.items():
        if key in _OPTION_OF:
            argv += [_OPTION_OF[key], str(value)]
    argv += ["--no-augment"] * no_augment + ["--resume"] * resume
    return argv + ["--progress" if progress else "--no-progress"]


def _launch_workers(cfg: TrainConfig, argv: list[str], *, nproc: int, nnodes: int, node_rank: int,
                    rdzv_endpoint: str | None, local_addr: str | None, max_restarts: int) -> None:
    from kpbench.train import launch as launch_mod

    if nnodes > 1 and rdzv_endpoint is None:
        raise KpbenchError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT (where the machines meet)")
    if node_rank >= nnodes:
        raise KpbenchError(f"--node-rank {node_rank} must be below --nnodes {nnodes}")
    threads = cfg.threads or max(1, len(os.sched_getaffinity(0)) // nproc)
    _warn_if_oversubscribed(cfg, nproc)
    timeout_s = float(os.environ.get("KPBENCH_RDZV_TIMEOUT_S", launch_mod.RDZV_TIMEOUT_S))
    launch = launch_mod.Launch(
        nproc_per_node=nproc, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, local_addr=local_addr,
        is_host=(node_rank == 0) if nnodes > 1 else None, max_restarts=max_restarts, rdzv_timeout_s=timeout_s,
        env={"OMP_NUM_THREADS": str(threads)},
    )
    launch_mod.check_endpoint(launch)
    launch_mod.raise_for(launch_mod.supervise(launch, argv), launch)


def _warn_if_oversubscribed(cfg: TrainConfig, nproc: int) -> None:
    from kpbench.train.config import resolve_device

    if resolve_device(cfg.device) == "cuda":
        import torch

        gpus = torch.cuda.device_count()
        if nproc > gpus:
            print(f"kpbench: warning: --nproc {nproc} is more than this machine's {gpus} GPUs: workers share them "
                  f"(rank r uses GPU r mod {gpus}) and all-reduce through gloo, as NCCL takes one rank per GPU", file=sys.stderr)
        return
    cores = len(os.sched_getaffinity(0))
    if nproc > cores:
        print(f"kpbench: warning: --nproc {nproc} is more than this machine's {cores} CPU cores: the workers share "
              f"cores (1 thread each) and every step waits for the slowest", file=sys.stderr)


def _tell_launcher(e: KpbenchError) -> None:
    """In a worker that `kpbench train --nproc` started: leave the error for the launcher to say once, and exit."""
    from kpbench.train.launch import WORKER_ERRORS_ENV

    folder = os.environ.get(WORKER_ERRORS_ENV)
    if not folder:
        return
    from kpbench.atomic import write_json

    rank = int(os.environ.get("RANK", "0"))
    write_json(Path(folder) / f"rank-{rank}.json", {"rank": rank, "message": str(e), "exit_code": e.exit_code})
    raise typer.Exit(e.exit_code)
