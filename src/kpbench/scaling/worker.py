"""The measuring worker of ``kpbench dist scale``: one torchrun rank, ``python -m kpbench.scaling.worker JOB.json``.

Each rank loads the data onto its device, wraps the network in DDP (gloo on CPU, NCCL on CUDA)
with a timed communication hook, and trains: one permutation per epoch from the shared seed,
rank r taking its slice of every global batch. Every step is timed in parts (forward, backward
compute, exposed communication, optimizer) and as a whole, independently, so the parts can be
checked against the whole. Then an all-reduce microbenchmark over message sizes. Rank 0 writes
the result (atomically) to the job's ``out`` path.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time

import torch
import torch.distributed as dist

from kpbench import atomic
from kpbench.errors import KpbenchError
from kpbench.scaling.hooks import BucketTimes, register_timed_hook
from kpbench.train.clock import WARMUP_STEPS  # also covers DDP's bucket rebuild after the first step
from kpbench.train.config import TrainConfig

DEFAULTS = TrainConfig()  # what a job leaves out, it trains as `kpbench train` would
ALLREDUCE_MIN_S = 0.15  # time spent per message size (at least 2 calls)
MIN_TIMED_STEPS = 3  # a budget smaller than this many steps still times them


def _setup(job: dict) -> tuple[str, int, int]:
    from kpbench.train import world as w

    here = w.from_env()
    device = w.device_of(here, "cuda" if job.get("device") == "cuda" else "cpu")
    if device == "cpu":  # as train does: CPU workers get a core each, before torch starts its threads on them
        w.pin_to_cores(here, int(job["threads"]))
    torch.set_num_threads(int(job["threads"]))
    w.join(here, device, single=True)  # a world of one too: its steps are timed through DDP like the others'
    return device, dist.get_rank(), dist.get_world_size()


def _data(job: dict, device: str):
    from kpbench.data import load_faces
    from kpbench.train.devdata import Normalisation, split_indices, to_device

    faces = load_faces(job["data"], progress=False)
    if job.get("complete_only"):  # every rank's loss then averages the same count: DDP = one process
        faces = faces.subset(faces.complete_mask().nonzero()[0])
    train_idx, val_idx = split_indices(len(faces), float(job.get("val_frac", DEFAULTS.val_frac)), int(job.get("seed", DEFAULTS.seed)))
    norm = Normalisation.fit(faces.images[train_idx])
    return to_device(faces.subset(train_idx), device), to_device(faces.subset(val_idx), device), norm, faces.names


def _model(job: dict, device: str, times: BucketTimes):
    from torch.nn.parallel import DistributedDataParallel as DDP

    from kpbench.models import build_model
    from kpbench.train.loop import make_optimizer

    torch.manual_seed(int(job.get("seed", DEFAULTS.seed)))  # the same initial weights on every rank and in one process
    net = build_model(job["model"]).to(device).to(memory_format=torch.channels_last)
    ddp = DDP(net, device_ids=[torch.cuda.current_device()] if device == "cuda" else None)
    register_timed_hook(ddp, job.get("comm_hook", "none"), int(job.get("powersgd_rank", 0)), times)
    cfg = TrainConfig(model=job["model"], optimizer=job.get("optimizer", DEFAULTS.optimizer), lr=float(job.get("lr", DEFAULTS.lr)))
    return ddp, make_optimizer(cfg, ddp, device)


def _batches(n_train: int, batch: int, rank: int, world: int, seed: int, device: str):
    """Index tensors of this rank's slice of every global batch, epoch after epoch, forever."""
    global_batch = batch * world
    epoch = 0
    while True:
        g = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(n_train, generator=g)
        for start in range(0, n_train - global_batch + 1, global_batch):
            yield order[start + rank * batch : start + (rank + 1) * batch].to(device)
        epoch += 1


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _step(model, opt, data, norm, idx, times: BucketTimes, device: str) -> dict:
    """One timed step; returns its parts, from perf_counter clocks."""
    from kpbench.train.loss import masked_mse

    times.clear()
    t0 = time.perf_counter()
    opt.zero_grad(set_to_none=True)
    x = norm.apply(data.images[idx]).contiguous(memory_format=torch.channels_last)
    loss = masked_mse(model(x), data.keypoints[idx])
    _sync(device)
    t1 = time.perf_counter()
    loss.backward()
    _sync(device)
    t2 = time.perf_counter()
    opt.step()
    _sync(device)
    t3 = time.perf_counter()
    first_ready, last_ready = min(times.ready_s), max(times.ready_s)
    last_done = max(times.done_s)
    exposed = max(0.0, last_done - last_ready)
    return {
        "forward_s": t1 - t0, "backward_s": last_ready - t1, "exposed_comm_s": exposed, "optimizer_s": t3 - t2,
        "comm_s": last_done - first_ready, "overlap_window_s": last_ready - first_ready,
        "finalize_s": max(0.0, t2 - max(last_done, last_ready)), "loss": float(loss.detach()),
        "bucket_bytes": list(times.bucket_bytes), "ready_offsets_s": [r - first_ready for r in times.ready_s],
    }


def _train(job: dict, device: str, rank: int, world: int) -> dict:
    times = BucketTimes()
    train, val, norm, names = _data(job, device)
    model, opt = _model(job, device, times)
    batch = int(job["batch_size"])
    if batch * world > len(train):
        raise KpbenchError(f"global batch {batch * world} exceeds the {len(train)} training rows")
    batches = _batches(len(train), batch, rank, world, int(job.get("seed", DEFAULTS.seed)), device)
    for _ in range(WARMUP_STEPS):
        _step(model, opt, train, norm, next(batches), times, device)
    rows = _timed_steps(job, lambda: _step(model, opt, train, norm, next(batches), times, device),
                        _step_limit(job, len(train), batch * world), device)
    out = {"steps": rows, "warmup_steps": WARMUP_STEPS, "train_rows": len(train), "batch_size": batch}
    if job.get("evaluate", True) and _writes_result(rank):
        from kpbench.train.evaluate import evaluate_rmse

        out["val_rmse_px"] = evaluate_rmse(model.module, val, norm, names, precision="fp32")[0]
    if job.get("param_digest"):
        out["params"] = [p.detach().double().sum().item() for p in model.module.parameters()]
    return out


def _timed_steps(job: dict, step, limit: int | None, device: str) -> list[dict]:  # noqa: ANN001 - a callable
    """The timed steps: until ``limit``, or until the agreed clock passes the time budget.

    Before every step the ranks agree on the stop (train.world.agree_step, as train does), so
    every rank stops on the same step whatever its own clock says. ``stop_ab`` (with a step
    limit) agrees only before even steps: the odd ones, timed alike, price the agreement.
    """
    from kpbench.train import world as w

    here, budget_s = w.from_env(), job.get("time_budget_s")
    alternate = bool(job.get("stop_ab")) and limit is not None
    rows, starts, t0 = [], [], time.perf_counter()
    while limit is None or len(rows) < limit:
        start = time.perf_counter()
        agreed = not alternate or len(rows) % 2 == 0
        stop_s = 0.0
        if agreed:
            _, clock_s = w.agree_step(here, False, start - t0, device)
            stop_s = time.perf_counter() - start
            if budget_s and clock_s >= float(budget_s) and len(rows) >= MIN_TIMED_STEPS:
                break
        starts.append(start)
        rows.append({**step(), "stop_s": stop_s, "agreed": agreed})
    starts.append(time.perf_counter())
    for r, a, b in zip(rows, starts, starts[1:]):
        r["step_s"] = b - a  # the whole step, the stop and the loop included: the parts are checked against it
    return rows


def _step_limit(job: dict, n_train: int, global_batch: int) -> int | None:
    """Steps to time: --steps, or --epochs worth; None under a time budget (the agreed clock decides)."""
    if job.get("time_budget_s"):
        return None
    if job.get("steps"):
        return int(job["steps"])
    per_epoch = max(1, n_train // global_batch)
    return max(MIN_TIMED_STEPS, int(job.get("epochs", 1)) * per_epoch - WARMUP_STEPS)


def allreduce_sizes(max_bytes: int) -> list[int]:
    """4 B, 16 B, … (×4) up to max_bytes: the microbenchmark's message sizes."""
    sizes, s = [], 4
    while s <= max_bytes:
        sizes.append(s)
        s *= 4
    return sizes


def _allreduce_bench(max_bytes: int, world: int, device: str) -> list[dict]:
    """Median seconds per all-reduce of each size (the slowest rank's), nccl-tests style."""
    points = []
    for size in allreduce_sizes(max_bytes):
        t = torch.ones(max(1, size // 4), dtype=torch.float32, device=device)
        dist.all_reduce(t)  # warm-up: connections, buffers
        probe = torch.tensor([_timed_allreduce(t, device)], dtype=torch.float64)
        dist.all_reduce(probe, op=dist.ReduceOp.MAX)  # every rank must make the same number of calls
        calls = [_timed_allreduce(t, device) for _ in range(min(50, max(2, int(ALLREDUCE_MIN_S / float(probe)))))]
        med = torch.tensor([statistics.median(calls)], dtype=torch.float64)
        dist.all_reduce(med, op=dist.ReduceOp.MAX)
        points.append({"size_bytes": size, "nproc": world, "time_s": float(med), "calls": len(calls)})
    return points


def _timed_allreduce(t: torch.Tensor, device: str) -> float:
    a = time.perf_counter()
    dist.all_reduce(t)
    _sync(device)
    return time.perf_counter() - a


def _writes_result(rank: int) -> bool:
    """Global rank 0, or across machines the first worker of node 0: c10d hands out ranks in
    rendezvous order, so global rank 0 may live on any node, and node 0 is where the Record goes."""
    node = os.environ.get("KPBENCH_NODE_RANK")
    if node is None:
        return rank == 0
    return node == "0" and os.environ.get("LOCAL_RANK", "0") == "0"


def main(argv: list[str]) -> int:
    from kpbench.train.launch import errors_to_launcher

    with errors_to_launcher(stdout_too=True):  # output to this rank's log; a KpbenchError is one line
        return _run(json.loads(open(argv[0], encoding="utf-8").read()))


def _run(job: dict) -> int:
    device, rank, world = _setup(job)
    try:
        result = {"nproc": world, "threads": int(job["threads"]), "device": device,
                  "backend": dist.get_backend(), **_train(job, device, rank, world)}
        result["allreduce"] = (_allreduce_bench(int(job.get("allreduce_max_bytes", 64 << 20)), world, device)
                               if world > 1 and job.get("allreduce_max_bytes", 1) else [])
        dist.barrier()
        if _writes_result(rank):
            atomic.write_json(job["out"], result)
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
