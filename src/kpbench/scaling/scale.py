"""``kpbench dist scale``: fresh torchrun jobs per worker count, then the Record.

Each job runs kpbench.scaling.worker under torchrun (kpbench.train.launch): on loopback as one
standalone job, or under ``--link-limit`` as one node per network namespace (kpbench.scaling.netns).
Threads per worker = cores ÷ workers, so every size gets the same total cores.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import signal
import uuid
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kpbench.errors import Interrupted, KpbenchError, RunFailed
from kpbench.scaling import analysis
from kpbench.train import launch as launch_mod
from kpbench.train.launch import Launch, Outcome

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
    namespaces: bool = False  # a network namespace per worker even without a rate (an unshaped veth link)
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


def check_out_dir(out: Path, names: tuple[str, ...], force: bool) -> None:
    """A study's --out may not hold its files from before (another study's, or someone's) unless --force."""
    if out.exists() and not out.is_dir():
        raise KpbenchError(f"{out}: exists and is not a directory")
    present = [n for n in names if (out / n).exists()]
    if present and not force:
        raise KpbenchError(f"{out} already holds {', '.join(present)}; pass --force to replace them, or choose another --out")


def check_nproc_bound(cfg: ScaleConfig, *, oversubscribe: bool) -> str | None:
    """KpbenchError for more workers than cores (GPUs) unless ``oversubscribe``; then the warning to print."""
    message = oversubscription_warning(cfg.nproc, cfg.cores, cfg.device)
    if message and not oversubscribe:
        raise KpbenchError(f"{message}; give fewer workers, or --oversubscribe to run them anyway")
    return message


def job(cfg: ScaleConfig, n: int, out: Path, **over) -> dict:
    """The worker's job description for ``n`` workers."""
    d = {"data": cfg.data, "model": cfg.model, "batch_size": cfg.batch_size, "threads": max(1, cfg.cores // n),
         "epochs": cfg.epochs or 1, "steps": cfg.steps, "comm_hook": cfg.comm_hook, "powersgd_rank": cfg.powersgd_rank,
         "allreduce_max_bytes": cfg.allreduce_max_bytes, "lr": cfg.lr, "seed": cfg.seed, "device": cfg.device,
         "out": str(out)}
    return d | over


class JobFailed(RunFailed):
    """One torchrun job of the study failed; ``outcome`` says how (the rank and the cause)."""

    def __init__(self, what: str, outcome: Outcome) -> None:
        super().__init__(f"{what}: {outcome.failure()}; log: {outcome.log}")
        self.what, self.outcome = what, outcome


def check_outcome(outcome: Outcome, label: str) -> None:
    """Interrupted after a signal, KpbenchError for a worker's bad input, JobFailed for any other failure."""
    from kpbench.errors import Interrupted

    if outcome.signum is not None:
        raise Interrupted(f"stopped by {signal.Signals(outcome.signum).name} during {label}", outcome.signum)
    bad = [e["message"] for _, e in sorted(outcome.worker_errors.items()) if e.get("exit_code") == 2]
    if bad:
        raise KpbenchError(bad[0])
    if outcome.returncode != 0 or outcome.timed_out:
        raise JobFailed(label, outcome)


def run_job(cfg: ScaleConfig, n: int, workdir: Path, *, log: Path | None = None, label: str = "", **over) -> dict | None:
    """One fresh torchrun job of ``n`` workers (per node); the rank-0 result, None on nodes other than 0.

    The workers' output goes to ``log`` (default: workdir/dist-scale.log). A job that fails raises
    JobFailed; a worker's bad input, KpbenchError; a signal, Interrupted (the job stopped first).
    """
    log = log or workdir / "dist-scale.log"
    label = label or f"{n} worker(s)"
    out = workdir / f"result-{n}-{uuid.uuid4().hex[:6]}.json"
    spec = workdir / f"job-{out.stem}.json"
    spec.write_text(json.dumps(job(cfg, n, out, **over)), encoding="utf-8")
    env = {"OMP_NUM_THREADS": str(max(1, cfg.cores // n))}
    if cfg.nnodes > 1:
        env["KPBENCH_NODE_RANK"] = str(cfg.node_rank)  # the worker that writes the result lives on node 0
    if (cfg.link_limit_bit_per_s or cfg.namespaces) and n > 1:
        from kpbench.scaling import netns

        with netns.hosts(n, cfg.link_limit_bit_per_s) as host_list:
            outcome = netns.run_across(host_list, [str(spec)], module=WORKER_MODULE, base=Launch(env=env), log=log,
                                       timeout_s=cfg.timeout_s, label=label)
    else:
        launch = Launch(nproc_per_node=n, run_id=f"kpbench-scale-{n}", env=env, nnodes=cfg.nnodes,
                        node_rank=cfg.node_rank, rdzv_endpoint=cfg.rdzv_endpoint, local_addr=cfg.local_addr,
                        is_host=(cfg.node_rank == 0) if cfg.nnodes > 1 else None)
        outcome = launch_mod.run_job(launch, [str(spec)], log, module=WORKER_MODULE, label=label,
                                     timeout_s=cfg.timeout_s, merge_stdout=True)
    check_outcome(outcome, label)
    if cfg.node_rank > 0:
        return None  # global rank 0 lives on node 0, which writes the result
    if not out.is_file():
        raise JobFailed(label, dataclasses.replace(outcome, agent_error="the job ended without writing its result"))
    return json.loads(out.read_text(encoding="utf-8"))


def measure(cfg: ScaleConfig, on_size=None, *, log: Path | None = None, on_raw=None, on_failure=None,  # noqa: ANN001
            workdir: Path | None = None) -> tuple[list[dict], list[dict]]:
    """(rows, raw results) for every worker count in ``cfg.nproc``; a count whose job fails is left out
    and handed to ``on_failure(n, JobFailed)`` (raised when no callback is given)."""
    cfg.resolved()
    message = oversubscription_warning(cfg.nproc, cfg.cores, cfg.device)
    if message:
        warnings.warn(message, stacklevel=2)
    if cfg.link_limit_bit_per_s:
        from kpbench.scaling import netns

        netns.check_can_shape()  # before any job: the one-line error, not a failed run
    raws = []
    with _workdir(workdir) as tmp:
        for n in cfg.nproc:
            if on_size:
                on_size(n)
            try:
                raw = run_job(cfg, n, tmp, log=log)
            except JobFailed as e:
                if on_failure is None:
                    raise
                on_failure(n, e)
                continue
            if raw is not None:
                raws.append(raw)
                if on_raw:
                    on_raw(raws)
    return rows_of(raws, cfg.batch_size), raws


def rows_of(raws: list[dict], batch: int) -> list[dict]:
    rows = [analysis.row(r, batch) for r in raws]
    analysis.add_speedups(rows)
    return rows


@contextlib.contextmanager
def _workdir(given: Path | None):
    if given is not None:
        yield given
        return
    from kpbench.train.supervise import scratch_dir

    with scratch_dir("dist") as tmp:
        yield tmp


VARIANTS = (("fp32 all-reduce", {}), ("fp16 compression", {"comm_hook": "fp16"}),
            ("bf16 compression", {"comm_hook": "bf16"}),
            ("PowerSGD rank 1", {"comm_hook": "powersgd", "powersgd_rank": 1}),
            ("PowerSGD rank 4", {"comm_hook": "powersgd", "powersgd_rank": 4}))


def variants(cfg: ScaleConfig) -> list[tuple[str, dict]]:
    """What --compare-hooks trains: each hook, a 4x per-worker batch, convonly."""
    return [*VARIANTS, (f"batch {cfg.batch_size * 4} per worker", {"batch_size": cfg.batch_size * 4}),
            ("convonly model", {"model": "convonly"})]


def compare(cfg: ScaleConfig, budget_s: float = COMPARE_BUDGET_S, on_variant=None, *, log: Path | None = None,  # noqa: ANN001
            on_row=None, workdir: Path | None = None) -> list[dict]:  # noqa: ANN001
    """Speed and validation RMSE at a fixed time budget, per hook, batch and model, at max(nproc).

    Each variant is a fresh job; one that fails becomes a row with ``error`` (its rank and cause),
    and the others go on. ``on_row(rows)`` after each.
    """
    n = max(cfg.nproc)
    out = []
    with _workdir(workdir) as tmp:
        for name, over in variants(cfg):
            if on_variant:
                on_variant(name)
            base = {"variant": name, "nproc": n, "model": over.get("model", cfg.model),
                    "comm_hook": ScaleConfig(comm_hook=over.get("comm_hook", "none"),
                                             powersgd_rank=over.get("powersgd_rank", 0)).comm_hook_label(),
                    "batch_size": over.get("batch_size", cfg.batch_size), "budget_s": budget_s}
            try:
                raw = run_job(cfg, n, tmp, log=log, label=name, time_budget_s=budget_s, allreduce_max_bytes=0, **over)
            except JobFailed as e:
                out.append({**base, "error": e.outcome.failure()})
            except Interrupted:
                raise
            except KpbenchError as e:  # this variant's settings do not fit the data (a 4x batch, say)
                out.append({**base, "error": str(e)})
            else:
                r = analysis.row(raw, base["batch_size"])
                out.append({**base, "steps": r["steps"], "step_s": r["step_s"], "exposed_comm_s": r["exposed_comm_s"],
                            "images_per_s": r["images_per_s"], "val_rmse_px": raw.get("val_rmse_px")})
            if on_row:
                on_row(out)
    return out


def record_config(cfg: ScaleConfig) -> dict:
    d = asdict(cfg)
    d["comm_hook"] = cfg.comm_hook_label()
    return d
