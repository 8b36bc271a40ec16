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
LAUNCHER_ENV = "KPBENCH_LAUNCHER"  # set by kpbench's launcher: its workers die with their agent (die_with_parent)


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
    """The world torchrun describes in the environment; a world of one without WORLD_SIZE.

    torchrun always sets WORLD_SIZE with RANK: a RANK (or LOCAL_RANK) without it is left over
    from another job's shell and says nothing about this process, so it is ignored.
    """
    env = os.environ if env is None else env
    if "WORLD_SIZE" not in env:
        return World()

    def number(name: str, default: int, low: int, high: int | None = None) -> int:
        text = env.get(name)
        try:
            value = default if text is None else int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value >= high):
            bound = f" and below {high}" if high is not None else ""
            raise KpbenchError(f"environment {name}={text!r}: expected a whole number >= {low}{bound} "
                               "(torchrun sets it; unset it to train in one process)")
        return value

    size = number("WORLD_SIZE", 1, 1)
    local_size = number("LOCAL_WORLD_SIZE", size, 1, size + 1)
    return World(rank=number("RANK", 0, 0, size), size=size, local_rank=number("LOCAL_RANK", 0, 0, local_size),
                 local_size=local_size, restart_count=number("TORCHELASTIC_RESTART_COUNT", 0, 0))


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


SHARED_MACHINE_ENV = "KPBENCH_ONE_MACHINE"  # set where several torchrun nodes are emulated on one machine (netns)


def pin_to_cores(world: World, threads: int | None = None, env: dict[str, str] | None = None) -> list[int] | None:
    """Gives this worker its own share of the cores when the workers on this machine can each have one.

    Without it the scheduler moves single-threaded workers between the same few cores, and a step
    then times the migration as well as the work. The workers sharing this machine are its local
    ranks, or every rank where several nodes are emulated on it (``$KPBENCH_ONE_MACHINE``). The cores
    it now runs on; None when it keeps them all (one worker, more workers than cores, or more ``threads``
    per worker than its share).
    """
    env = os.environ if env is None else env
    slot, slots = (world.rank, world.size) if env.get(SHARED_MACHINE_ENV) else (world.local_rank, world.local_size)
    cores = sorted(os.sched_getaffinity(0))
    if slots <= 1 or slots > len(cores) or (threads or 1) > len(cores) // slots:
        return None
    share = len(cores) // slots
    mine = cores[slot * share:(slot + 1) * share]
    os.sched_setaffinity(0, mine)
    return mine


def threads_per_worker(world: World) -> int | None:
    """The CPU cores divided among this machine's workers; None for a world of one (torch's default)."""
    if world.local_size <= 1:
        return None
    return max(1, len(os.sched_getaffinity(0)) // world.local_size)


def agree_step(world: World, stop_requested: bool, clock_s: float, device: str) -> tuple[bool, float]:
    """What every rank decides a step on: (stop asked on any rank, the latest clock of all ranks).

    One all-reduce (MAX) of two numbers, every step: a signal that reached one rank stops all of
    them on the same step, and a time budget (or a schedule that follows the clock) reads the
    same clock on every rank, so no rank ever waits in a collective its peers have left.
    A world of one: as given, no collective.
    """
    if not world.distributed:
        return stop_requested, clock_s
    import torch
    import torch.distributed as dist

    t = torch.tensor([1.0 if stop_requested else 0.0, clock_s], dtype=torch.float64, device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    flag, clock = t.tolist()
    return flag > 0, clock


def die_with_parent(parent: int | None = None, signum: int | None = None) -> None:
    """This process gets ``signum`` (SIGKILL) when its parent dies, however it dies (Linux; elsewhere nothing).

    kpbench's launcher starts torchrun's agent this way (SIGTERM: the agent then stops its
    workers), and the workers call it too, so a launcher killed even by SIGKILL takes its agent
    and the agent its workers. A parent already gone (not ``parent``, or not the one before the
    call) ends this process at once.
    """
    import signal

    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except (OSError, AttributeError):
        return
    before = os.getppid() if parent is None else parent
    libc.prctl(1, signal.SIGKILL if signum is None else signum)  # PR_SET_PDEATHSIG
    if os.getppid() != before:  # orphaned before the call took effect
        os._exit(128 + signal.SIGKILL)


def die_with_launcher() -> None:
    """In a worker kpbench's launcher started (LAUNCHER_ENV set): die with torchrun's agent."""
    if os.environ.get(LAUNCHER_ENV) and "WORLD_SIZE" in os.environ:
        die_with_parent()


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
