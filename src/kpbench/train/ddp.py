"""What data-parallel training wraps the network in: DDP, a gradient communication hook, synchronised BatchNorm.

The hooks by name (``none``, ``fp16``, ``bf16``, ``powersgd:R``) are PyTorch's own
(torch.distributed.algorithms.ddp_comm_hooks). ``wrap_hook`` wraps one so that PowerSGD is
safe on gloo: its hook issues its second and third all-reduce from a callback of the first, on
the process group's threads, so two buckets in flight can issue collectives in a different
order on each rank, which gloo aborts on ("Received data size doesn't match expected size …
collective mismatch"). The wrapper lets a bucket start only once the one before it is done.

``sync_batchnorm`` makes BatchNorm layers normalise with the statistics of the global batch:
torch.nn.SyncBatchNorm on CUDA, and on CPU (which SyncBatchNorm refuses) ``GlobalBatchNorm``,
which all-reduces each layer's sums through the differentiable torch.distributed.nn.all_reduce.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from kpbench.train.config import COMM_HOOKS_HELP, parse_comm_hook

__all__ = ["COMM_HOOKS_HELP", "allreduce_bytes_per_step", "data_parallel", "parse_comm_hook", "sync_batchnorm",
           "wire_factor", "wrap_hook"]
POWERSGD_START_ITER = 2  # compress from the third step (the smallest torch allows with error feedback)


def hook_label(name: str, rank: int) -> str:
    return f"powersgd:{rank}" if name == "powersgd" else name


def wire_factor(name: str) -> float | None:
    """Bytes on the wire per fp32 gradient byte; None where it depends on the tensors (PowerSGD)."""
    return {"none": 1.0, "fp16": 0.5, "bf16": 0.5}.get(name)


def allreduce_bytes_per_step(model: nn.Module, name: str, rank: int = 0) -> int:
    """Bytes one step all-reduces (the payload of every ring, summed) under hook ``name``.

    PowerSGD, as torch's hook decides per gradient: a matrix (rows = first dimension) worth
    compressing (min compression rate 2) sends its P (rows × r) and Q (columns × r), the rest go
    uncompressed; the first POWERSGD_START_ITER steps send everything, which this leaves out.
    Each worker sends 2(n−1)/n of it through its link in a ring all-reduce.
    """
    grads = [p for p in model.parameters() if p.requires_grad]
    factor = wire_factor(name)
    if factor is not None:
        return int(sum(p.numel() * p.element_size() for p in grads) * factor)
    total = 0
    for p in grads:
        rows = p.shape[0] if p.dim() > 0 else 1
        cols = p.numel() // max(1, rows)
        r = min(rows, cols, rank)
        compressed = (rows + cols) * r
        total += (compressed if compressed * 2 < rows * cols else rows * cols) * p.element_size()
    return total


def _inner_hook(name: str, rank: int, process_group) -> tuple[object, Callable]:  # noqa: ANN001 - a ProcessGroup
    from torch.distributed.algorithms.ddp_comm_hooks import default_hooks, powerSGD_hook

    if name == "none":
        return process_group, default_hooks.allreduce_hook
    if name == "fp16":
        return process_group, default_hooks.fp16_compress_hook
    if name == "bf16":
        return process_group, default_hooks.bf16_compress_hook
    state = powerSGD_hook.PowerSGDState(process_group=process_group, matrix_approximation_rank=rank,
                                        start_powerSGD_iter=POWERSGD_START_ITER, use_error_feedback=True, warm_start=True)
    return state, powerSGD_hook.powerSGD_hook


def wrap_hook(name: str, rank: int, *, on_ready: Callable | None = None, on_done: Callable | None = None,
              process_group=None) -> Callable:  # noqa: ANN001 - a ProcessGroup
    """The DDP hook ``name`` as a function of (state, bucket); ``on_ready(bucket)`` when DDP hands a bucket
    over, ``on_done()`` as its reduction completes (for the scaling study's timings)."""
    state, inner = _inner_hook(name, rank, process_group)
    chained = name == "powersgd"  # collectives issued from callbacks: one bucket in flight at a time
    last: list = [None]

    def hook(_state, bucket):  # noqa: ANN001, ANN202 - DDP's hook signature
        if on_ready is not None:
            on_ready(bucket)
        if chained and last[0] is not None and not last[0].done():
            last[0].wait()
        fut = inner(state, bucket)
        if on_done is not None:
            def done(f):  # noqa: ANN001, ANN202
                on_done()
                return f.value()

            fut = fut.then(done)
        last[0] = fut
        return fut

    return hook


def register_hook(ddp_model: nn.Module, comm_hook: str) -> None:
    """Register hook ``comm_hook`` ('none', 'fp16', 'bf16', 'powersgd:R') on a DDP model; 'none' leaves DDP's own."""
    name, rank = parse_comm_hook(comm_hook)
    if name != "none":
        ddp_model.register_comm_hook(None, wrap_hook(name, rank))


class _GlobalStats:
    """BatchNorm over the global batch of every rank (training mode), on any device and backend.

    Its all-reduces (forward, and their gradients in backward) go through a process group of
    their own (``_STATS_GROUP``, one per process; not an attribute, as a network gets deep-copied):
    in backward they would otherwise interleave, on the default group, with the collectives a
    gradient hook issues from its callbacks (PowerSGD's), in an order that differs between ranks.

    Per channel, each rank's sum, sum of squares and count are all-reduced (differentiably: the
    backward all-reduces their gradients), so every rank normalises with the same mean and
    variance, those of one process holding the whole global batch. In eval mode, or in a world
    of one, it is the BatchNorm it was. Parameter and buffer names are BatchNorm's own, so a
    saved model loads into the plain network.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist

        if not (self.training and dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1):
            return super().forward(x)
        import warnings

        from torch.distributed.nn.functional import all_reduce  # differentiable (its successor is not yet, 2.13)

        warnings.filterwarnings("ignore", message=r".*torch\.distributed\.nn\.functional\.all_reduce is deprecated")
        c, dims = x.shape[1], [d for d in range(x.dim()) if d != 1]
        count = torch.full((1,), x.numel() / c, dtype=x.dtype, device=x.device)
        stats = all_reduce(torch.cat([x.sum(dims), (x * x).sum(dims), count]), group=_STATS_GROUP[0])
        n = stats[2 * c]
        mean = stats[:c] / n
        var = (stats[c:2 * c] / n - mean * mean).clamp_min(0.0)
        if self.track_running_stats:
            self._update_running(mean.detach(), var.detach() * n.detach() / (n.detach() - 1).clamp_min(1.0))
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, unbiased_var: torch.Tensor) -> None:
        self.num_batches_tracked.add_(1)
        m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        self.running_mean.mul_(1 - m).add_(mean, alpha=m)
        self.running_var.mul_(1 - m).add_(unbiased_var, alpha=m)


class GlobalBatchNorm1d(_GlobalStats, nn.BatchNorm1d):
    pass


class GlobalBatchNorm2d(_GlobalStats, nn.BatchNorm2d):
    pass


_STATS_GROUP: list = [None]  # the statistics' process group of this process (sync_batchnorm makes it)
_GLOBAL = {nn.BatchNorm1d: GlobalBatchNorm1d, nn.BatchNorm2d: GlobalBatchNorm2d}


def sync_batchnorm(net: nn.Module, device: str) -> nn.Module:
    """``net`` with every BatchNorm normalising over the global batch (see the module docstring)."""
    if device == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(net)
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and _STATS_GROUP[0] is None:
        _STATS_GROUP[0] = dist.new_group(backend="gloo")  # every rank calls this, as it must
    for m in net.modules():
        if type(m) in _GLOBAL:
            m.__class__ = _GLOBAL[type(m)]  # same parameters and buffers, another forward
    return net


def has_batchnorm(net: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())


def data_parallel(net: nn.Module, device: str, *, comm_hook: str = "none") -> nn.Module:
    """``net`` in DistributedDataParallel (the process group joined), with ``comm_hook`` registered."""
    from torch.nn.parallel import DistributedDataParallel

    ids = [torch.cuda.current_device()] if device == "cuda" else None
    model = DistributedDataParallel(net, device_ids=ids, gradient_as_bucket_view=True)
    register_hook(model, comm_hook)
    return model
