"""The split of a repeat's wall clock into phases, and their timers inside the worker process.

A repeat's wall clock runs from the runner's spawn to the worker's exit as the runner sees it.
Every second of it belongs to one phase of SPLIT, in the order they happen; what no timer
caught (the gaps between timers, the work between epochs) is ``unattributed_s``, so the split
always adds up to ``wall_s`` and a large remainder says the timers missed something.

Phases inside the worker are timed with perf_counter and, on a GPU, a device synchronisation
at both edges, so queued kernels are charged to the phase that queued them. Wall-clock
instants that cross processes (the spawn, the worker's end) are ``time.time()`` readings; the
worker derives its own from one reading at its first line plus perf_counter.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from collections.abc import Callable, Iterator

# (phase, what it holds); the Record, the terminal and the report show them in this order.
SPLIT: tuple[tuple[str, str], ...] = (
    ("interpreter_s", "spawn to the worker's first line: process start, interpreter, site, kpbench's package"),
    ("imports_s", "the worker's first line to torch (with its CUDA libraries) and kpbench's modules imported"),
    ("device_init_s", "device resolved and started: on CUDA the context and cuBLAS/cuDNN handles, synchronised"),
    ("data_load_s", "the faces read (CSV parse or cache hit) and subset"),
    ("train_setup_s", "train()'s own setup: checks, validation split, normalisation, data copied to the device"),
    ("autotune_s", "the CPU path chosen by measurement (0 when cached, given or not on a CPU)"),
    ("model_build_s", "the network built, moved to the device, its optimizer made"),
    ("warmup_s", "the first training steps: allocator, kernel selection, compilation"),
    ("steady_train_s", "training steps after the warm-up"),
    ("eval_s", "validation after every epoch"),
    ("checkpoint_s", "checkpoints written (0 in a bench: it keeps no run directory)"),
    ("teardown_s", "after training: figures collected, the result written, the process's exit"),
    ("unattributed_s", "what no timer caught: the wall clock minus every phase above"),
)
PHASES: tuple[str, ...] = tuple(name for name, _ in SPLIT)
# init_s: everything before the first training step; train_s: training's own clock.
INIT_PHASES = PHASES[: PHASES.index("warmup_s")]
TRAIN_PHASES = ("warmup_s", "steady_train_s", "eval_s")


class PhaseTimer:
    """Seconds per named phase, in the order they ran; ``sync`` may be set once the device is known."""

    def __init__(self, sync: Callable[[], None] | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.sync = sync or (lambda: None)

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        # Clock first: the entry sync may itself create the CUDA context (lazy
        # init), and that cost belongs to the phase, not to no phase at all.
        start = time.perf_counter()
        self.sync()
        try:
            yield
        finally:
            self.sync()
            self.seconds[name] = time.perf_counter() - start


def split_of_repeat(before_training: dict[str, float], trained: dict[str, float], *, wall_s: float,
                    teardown_s: float) -> dict[str, float]:
    """Every phase of SPLIT for one repeat; ``unattributed_s`` = wall_s minus the others (never below 0).

    ``before_training``: the worker's phases up to the first step; ``trained``: warmup_s, train_s,
    eval_s and checkpoint_s as train() reported them (steady_train_s = train_s - warmup_s - eval_s).
    """
    steady_s = trained["train_s"] - trained["warmup_s"] - trained["eval_s"]
    split = {**before_training, "warmup_s": trained["warmup_s"], "steady_train_s": max(0.0, steady_s),
             "eval_s": trained["eval_s"], "checkpoint_s": trained["checkpoint_s"], "teardown_s": max(0.0, teardown_s)}
    split = {name: float(split.get(name, 0.0)) for name in PHASES if name != "unattributed_s"}
    split["unattributed_s"] = max(0.0, wall_s - sum(split.values()))
    return split


def device_sync(device: str) -> Callable[[], None]:
    """A synchronisation for the device's timer edges (a no-op on CPU)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None


def init_device(device: str) -> None:
    """Start the device as training will use it, so that no first-use cost is left for the first step.

    On CUDA: the context, a first allocation, a matmul (cuBLAS handle) and a convolution forward
    and backward (cuDNN handles, on this thread and on autograd's device thread), synchronised.
    On CPU: a first tensor.
    """
    import torch

    if not device.startswith("cuda"):
        torch.zeros(1, device=device).add_(1)
        return
    torch.cuda.init()
    a = torch.ones(8, 8, device=device, requires_grad=True)
    image = torch.ones(1, 1, 8, 8, device=device)
    kernel = torch.ones(1, 1, 3, 3, device=device, requires_grad=True)
    out = (a @ a).sum() + torch.nn.functional.conv2d(image, kernel).sum()
    out.backward()
    torch.cuda.synchronize()


def peak_host_memory_mb() -> float:
    """Peak resident set size of this process so far (MB = 1e6 bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux KiB
    return peak * scale / 1e6


def peak_device_memory_mb(device: str) -> float | None:
    """Peak memory torch allocated on the GPU (MB = 1e6 bytes); None on CPU."""
    if not device.startswith("cuda"):
        return None
    import torch

    return torch.cuda.max_memory_allocated() / 1e6
