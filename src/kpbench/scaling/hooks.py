"""DDP communication hooks, wrapped in a timer that sees every bucket.

The hooks themselves (by name, PowerSGD made safe on gloo) are train's (kpbench.train.ddp). The
timer notes when DDP hands a bucket over (its gradients are ready: backward got that far) and
when its all-reduce future completes (on the process group's thread, right as it finishes).
From those two clocks a step splits into backward compute, communication overlapped with it,
and the exposed rest.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from kpbench.train.ddp import COMM_HOOKS_HELP, parse_comm_hook, wire_factor, wrap_hook

__all__ = ["COMM_HOOKS_HELP", "BucketTimes", "parse_comm_hook", "register_timed_hook", "wire_factor"]


@dataclass
class BucketTimes:
    """perf_counter clocks of one step's buckets, in the order DDP launched them."""

    ready_s: list[float] = field(default_factory=list)
    done_s: list[float] = field(default_factory=list)
    bucket_bytes: list[int] = field(default_factory=list)  # uncompressed gradient bytes per bucket

    def clear(self) -> None:
        self.ready_s.clear()
        self.done_s.clear()
        self.bucket_bytes.clear()


def register_timed_hook(ddp_model, name: str, rank: int, times: BucketTimes, process_group=None) -> None:  # noqa: ANN001
    """Register hook ``name`` on ``ddp_model``, noting each bucket's ready and done clocks in ``times``."""

    def ready(bucket) -> None:  # noqa: ANN001 - a GradBucket
        times.ready_s.append(time.perf_counter())
        buf = bucket.buffer()
        times.bucket_bytes.append(buf.numel() * buf.element_size())

    def done() -> None:
        times.done_s.append(time.perf_counter())

    ddp_model.register_comm_hook(None, wrap_hook(name, rank, on_ready=ready, on_done=done, process_group=process_group))
