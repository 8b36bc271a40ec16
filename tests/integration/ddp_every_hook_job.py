"""Run by torchrun (2 workers) from test_dist_stop_together.py: every hook, both networks, a budget ending mid-epoch.

For each (network, hook): kpbench's train() and the scaling study's worker loop, each under the same time
budget; every rank reports how many steps it took. Then BatchNorm over the global batch against one
BatchNorm over the whole batch. Rank 0 writes what it gathered to argv[1].
"""

from __future__ import annotations

import json
import sys

import torch
import torch.distributed as dist

from kpbench.data import synth_faces
from kpbench.scaling import worker as scaling_worker
from kpbench.train import TrainConfig, train
from kpbench.train import world as w
from kpbench.train.ddp import parse_comm_hook, sync_batchnorm

HOOKS = ("none", "fp16", "bf16", "powersgd:1", "powersgd:4")
# 20 budgets run one after another: half a second still ends each inside an epoch (900 training rows are
# 56 steps of the global batch) after several steps, and 1000 rows halve the synthesis and each evaluation
BUDGET_S, ROWS = 0.5, 1000


def gathered(value):  # noqa: ANN001, ANN201
    box = [None] * dist.get_world_size()
    dist.all_gather_object(box, value)
    return box


def steps_of_train(model: str, hook: str, faces) -> dict:  # noqa: ANN001
    cfg = TrainConfig(model=model, comm_hook=hook, time_budget_s=BUDGET_S, batch_size=8, device="cpu",
                      precision="fp32", threads=1, val_frac=0.1)
    r = train(faces, cfg, progress=False)
    per_epoch = r.data["train_rows"] // r.distributed["global_batch"]
    last = r.history[-1]["images"] // r.distributed["global_batch"]
    return {"epochs": len(r.history), "last_epoch_steps": last, "steps_per_epoch": per_epoch}


def steps_of_study(model: str, hook: str, rank: int, size: int) -> int:
    name, r = parse_comm_hook(hook)
    job = {"data": f"synthetic:{ROWS}", "model": model, "batch_size": 8, "threads": 1, "comm_hook": name,
           "powersgd_rank": r, "time_budget_s": BUDGET_S, "evaluate": False}
    return len(scaling_worker._train(job, "cpu", rank, size)["steps"])


def global_batchnorm(rank: int) -> dict:
    torch.manual_seed(0)
    x, weight = torch.randn(8, 3, 5, 5), torch.randn(8, 3, 5, 5)
    full = torch.nn.BatchNorm2d(3)
    xf = x.clone().requires_grad_(True)
    yf = full(xf)
    (yf * weight).sum().backward()
    mine = slice(4 * rank, 4 * rank + 4)
    synced = sync_batchnorm(torch.nn.BatchNorm2d(3), "cpu")
    xs = x[mine].clone().requires_grad_(True)
    y = synced(xs)
    (y * weight[mine]).sum().backward()
    return {"output": torch.allclose(y, yf[mine].detach(), atol=1e-5), "input_grad": torch.allclose(xs.grad, xf.grad[mine], atol=1e-5),
            "running_stats": torch.allclose(synced.running_mean, full.running_mean, atol=1e-6)
            and torch.allclose(synced.running_var, full.running_var, atol=1e-5)}


def main(out: str) -> None:
    here = w.from_env()
    w.join(here, "cpu")
    faces = synth_faces(ROWS, 0)
    result: dict = {"train": {}, "study": {}}
    for model in ("seed", "bncnn"):
        for hook in HOOKS:
            result["train"][f"{model} {hook}"] = gathered(steps_of_train(model, hook, faces))
            result["study"][f"{model} {hook}"] = gathered(steps_of_study(model, hook, here.rank, here.size))
    result["batchnorm"] = gathered(global_batchnorm(here.rank))
    if here.main:
        with open(out, "w", encoding="utf-8") as f:
            json.dump(result, f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(sys.argv[1])
