"""The process group of a data-parallel run: which rank this is, joining, and the few collectives train needs.

torchrun (or ``kpbench train --nproc N``, which starts torchrun) sets WORLD_SIZE, RANK,
LOCAL_RANK and LOCAL_WORLD_SIZE; a process without them is a world of one and never touches
torch.distributed. train imports this module, never kpbench.scaling (the layer above it).
"""

from __future__ import annotations

import datetime
import math
import os
from dataclasses import dataclass

from kpbench.errors import KpbenchError

DEFAULT_RDZV_TIMEOUT_S = 60.0  # torch's own default is 30 minutes: a missing peer must not hang a run that long
MAX_RDZV_TIMEOUT_S = 86_400.0
RDZV_TIMEOUT_ENV = "KPBENCH_RDZV_TIMEOUT_S"  # read here only (rdzv_timeout_s); launchers pass it on to workers
STOP_POLL_STEPS = 8  # distributed runs agree on stopping every this many steps (one tiny all-reduce)


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1
    restart_count: int = 0  # TORCHELASTIC_RESTART_COUNT: > 0 after torchrun restarted the group

    @property
    def main(self) -> bool:
        """Rank 0: the one process that writes files and prints."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def from_env(env: dict[str, str] | None = None) -> World:
    """The world torchrun describes in the environment; a world of one without it."""
    env = os.environ if env is None else env

    def number(name: str, default: int) -> int:
        try:
            return int(env.get(name, default))
        except ValueError:
            raise KpbenchError(f"environment {name}={env.get(name)!r} is not a whole number") from None

    size = number("WORLD_SIZE", 1)
    return World(rank=number("RANK", 0), size=size, local_rank=number("LOCAL_RANK", 0),
                 local_size=number("LOCAL_WORLD_SIZE", size), restart_count=number("TORCHELASTIC_RESTART_COUNT", 0))


def rdzv_timeout_s(env: dict[str, str] | None = None) -> float:
    """Seconds a rendezvous or process group may take to form: $KPBENCH_RDZV_TIMEOUT_S, else the default."""
    env = os.environ if env is None else env
    text = env.get(RDZV_TIMEOUT_ENV)
    if text is None:
        return DEFAULT_RDZV_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0 < value <= MAX_RDZV_TIMEOUT_S:
        raise KpbenchError(f"environment {RDZV_TIMEOUT_ENV}={text!r}: give seconds, more than 0 and at most "
                           f"{MAX_RDZV_TIMEOUT_S:.0f}")
    return value


def device_of(world: World, device: str) -> str:
    """Pins CUDA ranks to GPU local_rank (mod the GPUs there are); keeps the name 'cuda' for the rest of train."""
    if device == "cuda" and world.distributed:
        import torch

        torch.cuda.set_device(world.local_rank % max(1, torch.cuda.device_count()))
    return device


def join(world: World, device: str, *, single: bool = False) -> bool:
    """Joins the process group (gloo on CPU, NCCL on CUDA: a GPU per local rank) unless already joined;
    a world of one only if ``single`` (train never needs one; the scaling study times DDP on one worker).

    True if this call joined it (and so should leave it).
    """
    if not (world.distributed or single):
        return False
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    timeout_s = rdzv_timeout_s()
    backend = "gloo"
    if device == "cuda":
        import torch

        # NCCL refuses two ranks on one GPU; gloo all-reduces CUDA tensors too (slower, through the host)
        backend = "nccl" if world.local_size <= torch.cuda.device_count() else "gloo"
    timeout = datetime.timedelta(seconds=timeout_s)
    try:
        store = _attempt_store(world, timeout)
        if store is None:
            dist.init_process_group(backend, timeout=timeout)
        else:
            dist.init_process_group(backend, store=store, rank=world.rank, world_size=world.size, timeout=timeout)
    except (RuntimeError, ValueError, OSError) as e:  # DistStoreError, a timeout, a refused connection
        first = (str(e).strip().splitlines() or [type(e).__name__])[0][:160]
        raise KpbenchError(f"rank {world.rank}: the process group of {world.size} workers did not form within "
                           f"{timeout_s:.0f} s ({first})") from None
    return True


def _attempt_store(world: World, timeout: datetime.timedelta):
    """torchrun's shared store, with keys of this restart attempt only; None outside torchrun.

    torchrun's agent keeps one store across restarts and torch adds no per-attempt prefix, so a
    restarted rank could read the address a dead peer of the last attempt left there and fail
    to connect ("Connection refused"). A prefix per TORCHELASTIC_RESTART_COUNT keeps attempts apart.
    """
    if os.environ.get("TORCHELASTIC_USE_AGENT_STORE") != "True" or "MASTER_ADDR" not in os.environ:
        return None
    import torch.distributed as dist

    base = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world_size=world.size,
                         is_master=False, timeout=timeout)
    return dist.PrefixStore(f"kpbench/attempt_{world.restart_count}", base)


def leave(joined: bool) -> None:
    if joined:
        import torch.distributed as dist

        dist.destroy_process_group()


def threads_per_worker(world: World) -> int | None:
    """The CPU cores divided among this machine's workers; None for a world of one (torch's default)."""
    if world.local_size <= 1:
        return None
    return max(1, len(os.sched_getaffinity(0)) // world.local_size)


def agree(world: World, flags: tuple[bool, ...], device: str) -> tuple[bool, ...]:
    """Each flag true on every rank if it is true on any rank (one small all-reduce); as given for one rank."""
    if not world.distributed:
        return flags
    import torch
    import torch.distributed as dist

    t = torch.tensor([1.0 if f else 0.0 for f in flags], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return tuple(bool(v > 0) for v in t.tolist())


def barrier(world: World) -> None:
    if world.distributed:
        import torch.distributed as dist

        dist.barrier()


def broadcast(world: World, obj):
    """Rank 0's ``obj`` on every rank (pickled; for small state and rank 0's checkpoint)."""
    if not world.distributed:
        return obj
    import torch.distributed as dist

    box = [obj if world.main else None]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def all_mean(world: World, value):
    """The mean over ranks of a device tensor (the epoch's summed train loss); itself for one rank."""
    if not world.distributed:
        return value
    import torch.distributed as dist

    value = value.clone()
    dist.all_reduce(value)
    return value / world.size
