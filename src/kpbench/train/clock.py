"""EpochClock: the training wall clock, the warm-up edge, and the steady images/s of this process.

The first WARMUP_STEPS steps of a process pay for the allocator and kernel selection
(oneDNN/cuDNN); they are timed on their own (``warmup_s``) and left out of the steady rate.
The device is synchronised at every edge, so a timer never stops while work is queued.
"""

from __future__ import annotations

import time

import torch

WARMUP_STEPS = 5  # first steps of a process: allocator, oneDNN/cuDNN kernel selection


def now() -> float:
    """Seconds on the monotonic clock (a module function, so tests can swap in a fake one)."""
    return time.perf_counter()


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


class EpochClock:
    """Edges of one process's epochs; steady images/s counts only steps after the warm-up edge."""

    def __init__(self, device: str, warmup_steps: int = WARMUP_STEPS) -> None:
        self.device, self.warmup_steps = device, warmup_steps
        self.images_now = 0  # images this process trained (0: no step yet, the warm-up is ahead)
        self.warmup_s = 0.0
        self.steady_images, self.steady_s = 0, 0.0
        self.t0 = self._t_warm = 0.0

    def start_epoch(self) -> float:
        sync(self.device)
        self.t0, self._t_warm = now(), None
        return self.t0

    def after_step(self, steps_done: int) -> None:
        """Called after each step; marks the warm-up edge in the process's first epoch."""
        if self.images_now == 0 and steps_done == self.warmup_steps:
            sync(self.device)  # the warm-up edge: once per process
            self._t_warm = now()
            self.warmup_s = self._t_warm - self.t0

    def end_epoch(self, steps_done: int, batch: int) -> float:
        """Closes the epoch's training part (evaluation excluded); returns its end time."""
        sync(self.device)
        t1 = now()
        images = steps_done * batch
        if self._t_warm is not None:
            self.steady_images += images - self.warmup_steps * batch
            self.steady_s += t1 - self._t_warm
        elif self.images_now > 0:
            self.steady_images += images
            self.steady_s += t1 - self.t0
        self.images_now += images
        return t1

    @property
    def steady_images_per_s(self) -> float:
        return self.steady_images / self.steady_s if self.steady_s > 0 else 0.0
