"""Phase timers for one repeat, run inside the worker process.

Each phase is timed with perf_counter and, on a GPU, a device synchronisation
at both edges, so queued kernels are charged to the phase that queued them.
The imports phase is special: it starts at the parent's spawn timestamp (wall
clock, passed on the command line), so interpreter start-up is on the clock.
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from collections.abc import Callable, Iterator


class PhaseTimer:
    """Seconds per named phase, in the order they ran."""

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


def device_sync(device: str) -> Callable[[], None]:
    """A synchronisation for the device's timer edges (a no-op on CPU)."""
    if device.startswith("cuda"):
        import torch

        return torch.cuda.synchronize
    return lambda: None


def init_device(device: str) -> None:
    """Device initialisation: the CUDA context and a first allocation (on CPU, a first tensor)."""
    import torch

    if device.startswith("cuda"):
        torch.cuda.init()
        torch.zeros(1, device=device)
        torch.cuda.synchronize()
    else:
        torch.zeros(1, device=device).add_(1)


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
