"""``kpbench dist scale``: fresh torchrun jobs per worker count, then the Record.

Each job runs kpbench.scaling.worker under torchrun (kpbench.train.launch): on loopback as one
standalone job, or under ``--link-limit`` as one node per network namespace (kpbench.scaling.netns).
Threads per worker = cores ÷ workers, so every size gets the same total cores.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kpbench.errors import KpbenchError, RunFailed
from kpbench.scaling import analysis
from kpbench.scaling.netns import child_stdout
from kpbench.train.launch import Launch, run

WORKER_MODULE = "kpbench.scaling.worker"
COMPARE_BUDGET_S = 20.0


@dataclass
class ScaleConfig:
    data: str = "synthetic"
    model: str = "seed"
    nproc: list[int] = field(default_factory=lambda: [1, 2])
    batch_size: int = 32  # per worker
    epochs: int | None = None
    steps: int | None = None  # timed steps per size (default: 1 epoch's worth)
    comm_hook: str = "none"
    powersgd_rank: int = 0
    link_limit_bit_per_s: float | None = None
    allreduce_max_bytes: int = 64 << 20
    lr: float = 1e-3
    seed: int = 0
    cores: int = 0  # 0: the CPUs this process may use
    device: str = "cpu"
    timeout_s: float = 900.0  # per job
    # Several machines (a SkyPilot cluster, say): every node runs the same command with its own
    # node_rank; each size is one torchrun job of nproc workers per node; node 0 writes the Record.
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None  # HOST:PORT of node 0
    local_addr: str | None = None

    def resolved(self) -> ScaleConfig:
        if not self.nproc or any(n < 1 for n in self.nproc):
            raise KpbenchError(f"--nproc needs worker counts >= 1, got {','.join(map(str, self.nproc)) or 'none'}")
        if self.nnodes > 1 and not self.rdzv_endpoint:
            raise KpbenchError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT (node 0's address)")
        if self.nnodes > 1 and self.link_limit_bit_per_s:
            raise KpbenchError("--link-limit emulates several hosts on this machine; it does not combine with --nnodes")
        if not 0 <= self.node_rank < self.nnodes:
            raise KpbenchError(f"--node-rank {self.node_rank}: must be 0 … {self.nnodes - 1} for --nnodes {self.nnodes}")
        self.cores = self.cores or usable_cores()
        return self

    def comm_hook_label(self) -> str:
        return f"powersgd:{self.powersgd_rank}" if self.comm_hook == "powersgd" else self.comm_hook


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def parse_nproc(text: str) -> list[int]:
    """'1,2,4' → [1, 2, 4]; KpbenchError (one line) on anything else."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise KpbenchError(f"--nproc {text!r}: give worker counts like 1,2,4") from None
    if not values or any(v < 1 for v in values):
        raise KpbenchError(f"--nproc {text!r}: worker counts must be whole numbers >= 1")
    return sorted(set(values))


def oversubscription_warning(nproc: list[int], cores: int, device: str = "cpu") -> str | None:
    if device == "cuda":
        import torch

        gpus = torch.cuda.device_count()
        big = [n for n in nproc if n > gpus]
        if not big:
            return None
        return (f"--nproc {','.join(map(str, big))} exceeds the {gpus} GPUs: NCCL needs one GPU per worker, "
                "so those jobs will fail")
    big = [n for n in nproc if n > cores]
    if not big:
        return None
    return (f"--nproc {','.join(map(str, big))} exceeds the {cores} usable cores: those workers get 1 thread each and "
            "share cores, so their step times include waiting for a core")


def job(cfg: ScaleConfig, n: int, out: Path, **over) -> dict:
    """The worker's job description for ``n`` workers."""
    d = {"data": cfg.data, "model": cfg.model, "batch_size": cfg.batch_size, "threads": max(1, cfg.cores // n),
         "epochs": cfg.epochs or 1, "steps": cfg.steps, "comm_hook": cfg.comm_hook, "powersgd_rank": cfg.powersgd_rank,
         "allreduce_max_bytes": cfg.allreduce_max_bytes, "lr": cfg.lr, "seed": cfg.seed, "device": cfg.device,
         "out": str(out)}
    return d | over


def run_job(cfg: ScaleConfig, n: int, workdir: Path, **over) -> dict | None:
    """One fresh torchrun job of ``n`` workers (per node); the rank-0 result, None on nodes other than 0."""
    out = workdir / f"result-{n}-{uuid.uuid4().hex[:6]}.json"
    spec = workdir / f"job-{out.stem}.json"
    spec.write_text(json.dumps(job(cfg, n, out, **over)), encoding="utf-8")
    env = {"OMP_NUM_THREADS": str(max(1, cfg.cores // n))}
    if cfg.nnodes > 1:
        env["KPBENCH_NODE_RANK"] = str(cfg.node_rank)  # the worker that writes the result lives on node 0
    if cfg.link_limit_bit_per_s and n > 1:
        from kpbench.scaling import netns

        with netns.hosts(n, cfg.link_limit_bit_per_s) as host_list:
            netns.run_across(host_list, [str(spec)], module=WORKER_MODULE, base=Launch(env=env), timeout_s=cfg.timeout_s)
    else:
        launch = Launch(nproc_per_node=n, run_id=f"kpbench-scale-{n}", env=env, nnodes=cfg.nnodes,
                        node_rank=cfg.node_rank, rdzv_endpoint=cfg.rdzv_endpoint, local_addr=cfg.local_addr,
                        is_host=(cfg.node_rank == 0) if cfg.nnodes > 1 else None)
        try:
            rc = run(launch, [str(spec)], module=WORKER_MODULE, stdout=child_stdout(), timeout_s=cfg.timeout_s).returncode
        except subprocess.TimeoutExpired:
            raise RunFailed(f"the {n}-worker torchrun job did not finish within {cfg.timeout_s:.0f} s") from None
        if rc != 0:
            raise RunFailed(f"the {n}-worker torchrun job failed with exit code {rc} (its output is above)")
    if cfg.node_rank > 0:
        return None  # global rank 0 lives on node 0, which writes the result
    if not out.is_file():
        raise RunFailed(f"the {n}-worker job ended without writing its result")
    return json.loads(out.read_text(encoding="utf-8"))


def measure(cfg: ScaleConfig, on_size=None) -> tuple[list[dict], list[dict]]:
    """(rows, raw results) for every worker count in ``cfg.nproc``."""
    cfg.resolved()
    message = oversubscription_warning(cfg.nproc, cfg.cores, cfg.device)
    if message:
        warnings.warn(message, stacklevel=2)
    if cfg.link_limit_bit_per_s:
        from kpbench.scaling import netns

        netns.check_can_shape()  # before any job: the one-line error, not a failed run
    raws = []
    with tempfile.TemporaryDirectory(prefix="kpbench-dist-") as tmp:
        for n in cfg.nproc:
            if on_size:
                on_size(n)
            raw = run_job(cfg, n, Path(tmp))
            if raw is not None:
                raws.append(raw)
    rows = [analysis.row(r, cfg.batch_size) for r in raws]
    analysis.add_speedups(rows)
    return rows, raws


def compare(cfg: ScaleConfig, budget_s: float = COMPARE_BUDGET_S, on_variant=None) -> list[dict]:
    """Speed and validation RMSE at a fixed time budget, per hook, batch and model, at max(nproc)."""
    n = max(cfg.nproc)
    variants = [("fp32 all-reduce", {}), ("fp16 compression", {"comm_hook": "fp16"}),
                ("bf16 compression", {"comm_hook": "bf16"}),
                ("PowerSGD rank 1", {"comm_hook": "powersgd", "powersgd_rank": 1}),
                ("PowerSGD rank 4", {"comm_hook": "powersgd", "powersgd_rank": 4}),
                (f"batch {cfg.batch_size * 4} per worker", {"batch_size": cfg.batch_size * 4}),
                ("convonly model", {"model": "convonly"})]
    out = []
    with tempfile.TemporaryDirectory(prefix="kpbench-dist-") as tmp:
        for name, over in variants:
            if on_variant:
                on_variant(name)
            raw = run_job(cfg, n, Path(tmp), time_budget_s=budget_s, allreduce_max_bytes=0, **over)
            r = analysis.row(raw, over.get("batch_size", cfg.batch_size))
            out.append({"variant": name, "nproc": n, "model": over.get("model", cfg.model),
                        "comm_hook": over.get("comm_hook", "none"), "batch_size": over.get("batch_size", cfg.batch_size),
                        "budget_s": budget_s, "steps": r["steps"], "step_s": r["step_s"],
                        "exposed_comm_s": r["exposed_comm_s"], "images_per_s": r["images_per_s"],
                        "val_rmse_px": raw.get("val_rmse_px")})
    return out


def record_config(cfg: ScaleConfig) -> dict:
    d = asdict(cfg)
    d["comm_hook"] = cfg.comm_hook_label()
    return d
