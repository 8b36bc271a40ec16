"""DDP communication hooks by name, wrapped in a timer that sees every bucket.

The timer notes when DDP hands a bucket over (its gradients are ready: backward got that far)
and when its all-reduce future completes (on the process group's thread, right as it finishes).
From those two clocks a step splits into backward compute, communication overlapped with it,
and the exposed rest.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

COMM_HOOKS_HELP = "none (plain fp32 all-reduce), fp16, bf16 (compressed to half), powersgd:R (PowerSGD rank R, 1-4)"


def parse_comm_hook(text: str) -> tuple[str, int]:
    """'none' | 'fp16' | 'bf16' | 'powersgd:R' → (name, rank); ValueError with the choices otherwise."""
    m = re.fullmatch(r"(none|fp16|bf16)|powersgd:([1-9][0-9]*)", text.strip().lower())
    if not m:
        raise ValueError(f"comm hook {text!r} is not one of: {COMM_HOOKS_HELP}")
    return (m.group(1), 0) if m.group(1) else ("powersgd", int(m.group(2)))


def wire_factor(name: str) -> float | None:
    """Bytes on the wire per gradient byte; None where it depends on the tensors (PowerSGD)."""
    return {"none": 1.0, "fp16": 0.5, "bf16": 0.5}.get(name)


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


def _inner_hook(name: str, rank: int, process_group):
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook

    if name == "none":
        return process_group, default_hooks.allreduce_hook
    if name == "fp16":
        return process_group, default_hooks.fp16_compress_hook
    if name == "bf16":
        return process_group, default_hooks.bf16_compress_hook
    # start_powerSGD_iter=2: compress from the third step (the warm-up steps cover the plain ones)
    state = powerSGD_hook.PowerSGDState(process_group=process_group, matrix_approximation_rank=rank,
                                        start_powerSGD_iter=2, use_error_feedback=True, warm_start=True)
    return state, powerSGD_hook.powerSGD_hook


def register_timed_hook(ddp_model, name: str, rank: int, times: BucketTimes, process_group=None) -> None:
    """Register hook ``name`` on ``ddp_model``, noting each bucket's ready and done clocks in ``times``."""
    state, inner = _inner_hook(name, rank, process_group)

    def timed(_state, bucket):
        times.ready_s.append(time.perf_counter())
        buf = bucket.buffer()
        times.bucket_bytes.append(buf.numel() * buf.element_size())
        fut = inner(state, bucket)

        def done(f):
            times.done_s.append(time.perf_counter())
            return f.value()

        return fut.then(done)

    ddp_model.register_comm_hook(None, timed)
