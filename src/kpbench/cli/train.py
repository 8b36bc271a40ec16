"""CLI: train, on one process or data-parallel through torchrun (evaluate, predict and score live in cli/predict.py).

The options are declared once, here, in the command's signature: each TrainConfig option's
parameter carries its field's name, so the values given are the settings, and the option
strings a launcher passes on to its workers come from the same declaration (click's own params).
"""

from __future__ import annotations

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
_CONFIG_FIELDS = frozenset(TrainConfig.__dataclass_fields__)
_LAUNCH = ("nproc", "nnodes", "node_rank", "rdzv_endpoint", "local_addr", "max_restarts", "oversubscribe")


# The data-parallel options (docs/distributed-training.md), declared here to keep the command's signature short.
_PARALLEL = {
    "nproc": typer.Option(1, "--nproc", min=1, help="Data-parallel workers on this machine, started through torchrun "
                          "(gloo on CPU, NCCL on CUDA)."),
    "nnodes": typer.Option(1, "--nnodes", min=1, help="Machines in the job (torchrun --nnodes); each runs this command "
                           "with its --node-rank."),
    "node_rank": typer.Option(0, "--node-rank", min=0, help="This machine's index among --nnodes (torchrun --node-rank)."),
    "rdzv_endpoint": typer.Option(None, "--rdzv-endpoint", help="HOST:PORT where the machines meet "
                                  "(c10d rendezvous, served by node 0)."),
    "local_addr": typer.Option(None, "--local-addr", help="This machine's address as the others reach it "
                               "(torchrun --local-addr)."),
    "max_restarts": typer.Option(0, "--max-restarts", min=0, help="Times torchrun restarts the workers after a failure; "
                                 "they resume from the last checkpoint."),
    "lr_scaling": typer.Option(None, "--lr-scaling", help=f"Peak lr for N workers: none, linear (x N) or sqrt (x √N) "
                               f"(default: {_D.lr_scaling}; see docs/distributed-training.md)."),
    "comm_hook": typer.Option(None, "--comm-hook", help="Data parallel: gradient hook none, fp16, bf16 or powersgd:R "
                              f"(PowerSGD rank R) (default: {_D.comm_hook})."),
    "sync_batchnorm": typer.Option(None, "--sync-batchnorm/--no-sync-batchnorm", help="Data parallel: BatchNorm "
                                   "statistics over the global batch instead of each worker's."),
    "oversubscribe": typer.Option(False, "--oversubscribe", help="Allow --nproc above this machine's CPU cores "
                                  "(or GPUs on CUDA)."),
}


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("train")(train_command)


def train_command(
    ctx: typer.Context,
    data: str = typer.Option(..., "--data", help="Kaggle training.zip/CSV, a directory holding it, or 'synthetic'."),
    out: Path = typer.Option(..., "--out", help="Run directory: model.pt, checkpoint.pt, metrics.json, pictures."),
    model: Optional[ModelName] = typer.Option(None, "--model", help=f"Network (default: {_D.model}): bncnn (fast, accurate) "
                                              "or seed (classic)."),
    epochs: Optional[int] = typer.Option(None, "--epochs", min=1, help="Epochs to train (default: 30 without --time-budget)."),
    time_budget_s: Optional[float] = typer.Option(None, "--time-budget", min=0.1,
                                                  help="Seconds of training wall clock; the schedule spans it."),
    target_rmse_px: Optional[float] = typer.Option(None, "--target-rmse", min=0.0, help="Stop once validation RMSE (px) reaches this."),
    stop_at_target: Optional[bool] = typer.Option(None, "--stop-at-target/--train-past-target", help="With --target-rmse: "
                                                  "stop there (default), or note the time and train on to the budget."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", min=1, help=f"Images per step, per worker (default: {_D.batch_size})."),
    optimizer: Optional[Optimizer] = typer.Option(None, "--optimizer", help=f"(default: {_D.optimizer})"),
    lr: Optional[float] = typer.Option(None, "--lr", min=0.0, help=f"Peak learning rate of one worker (default: {_D.lr})."),
    schedule: Optional[Schedule] = typer.Option(None, "--schedule", help=f"(default: {_D.schedule})"),
    missing: Optional[Missing] = typer.Option(None, "--missing", help=f"mask: loss ignores missing labels; ffill; drop "
                                              f"(default: {_D.missing})."),
    val_frac: Optional[float] = typer.Option(None, "--val-frac", min=0.0, max=1.0, help=f"(default: {_D.val_frac})"),
    seed: Optional[int] = typer.Option(None, "--seed", min=0, help=f"(default: {_D.seed})"),
    device: Optional[Device] = typer.Option(None, "--device", help=f"(default: {_D.device})"),
    precision: Optional[Precision] = typer.Option(None, "--precision", help="auto: bf16 on CUDA and on CPUs with native bf16 "
                                                  "where it pays, else fp32 (default: auto)."),
    no_augment: bool = typer.Option(False, "--no-augment", help="No flip, shift, scale or rotation."),
    resume: bool = typer.Option(False, "--resume", help="Continue the run in --out from its checkpoint.pt."),
    force: bool = typer.Option(False, "--force", help="Start a new run in --out even if it holds files (another run's, "
                               "or your own): they are replaced."),
    threads: Optional[int] = typer.Option(None, "--threads", min=1, help="torch CPU threads per worker (default: torch's own "
                                          "for one worker; CPU cores ÷ local workers for several)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars on a terminal."),
    nproc: int = _PARALLEL["nproc"],
    nnodes: int = _PARALLEL["nnodes"],
    node_rank: int = _PARALLEL["node_rank"],
    rdzv_endpoint: Optional[str] = _PARALLEL["rdzv_endpoint"],
    local_addr: Optional[str] = _PARALLEL["local_addr"],
    max_restarts: int = _PARALLEL["max_restarts"],
    lr_scaling: Optional[LrScaling] = _PARALLEL["lr_scaling"],
    comm_hook: Optional[str] = _PARALLEL["comm_hook"],
    sync_batchnorm: Optional[bool] = _PARALLEL["sync_batchnorm"],
    oversubscribe: bool = _PARALLEL["oversubscribe"],
) -> None:
    """Train a keypoint network; writes model.pt, metrics.json and pictures to --out."""
    from kpbench.train import launch, session

    if epochs is not None and time_budget_s is not None:
        raise KpbenchError("give --epochs or --time-budget, not both")
    # Unset options keep TrainConfig's defaults: the one place that holds them.
    settings = {k: (v.value if isinstance(v, Enum) else v) for k, v in ctx.params.items()
                if k in _CONFIG_FIELDS and v is not None}
    if no_augment:
        settings |= {"augment": False, "flip": False}
    cfg = TrainConfig(**settings).validate()
    job = launch.TrainJob(data=data, out=out, resume=resume, progress=progress, force=force)
    if launch.wants_workers(nproc=nproc, nnodes=nnodes, rdzv_endpoint=rdzv_endpoint, max_restarts=max_restarts):
        argv = _worker_argv(ctx, job, no_augment=no_augment)
        launch.train_on_workers(cfg, argv, out=out, **{k: ctx.params[k] for k in _LAUNCH})
        return
    with launch.errors_to_launcher():
        session.train_and_report(cfg, job)


def _worker_argv(ctx: typer.Context, job, *, no_augment: bool) -> list[str]:  # noqa: ANN001 - a launch.TrainJob
    """The `train` command line each torchrun worker runs: the same run, without the launch options."""
    params = {p.name: p for p in ctx.command.params}
    argv = ["train", "--data", job.data, "--out", str(job.out)]
    for name, value in ctx.params.items():
        if name not in _CONFIG_FIELDS or value is None:
            continue
        if isinstance(value, bool):  # a --flag/--no-flag pair
            argv.append(params[name].opts[0] if value else params[name].secondary_opts[0])
        else:
            argv += [params[name].opts[0], str(value.value if isinstance(value, Enum) else value)]
    argv += ["--no-augment"] * no_augment + ["--resume"] * job.resume + ["--force"] * job.force
    return argv + ["--progress" if job.progress else "--no-progress"]
