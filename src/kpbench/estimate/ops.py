"""What one ATen operator costs a GPU: its class, the bytes it moves, the CUDA kernels it launches.

Read from the operator's schema and its (fake) tensors, never from a GPU. The kernel counts are
what PyTorch's CUDA backend launches for each operator (one per operator unless listed in
``_KERNELS``); views and allocations launch none.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import torch

# Operator classes: each has its own efficiencies in the cost model (model.py).
CONV, GEMM, NORM, OPTIMIZER, REDUCTION, ELEMENTWISE, VIEW = (
    "conv", "gemm", "norm", "optimizer", "reduction", "elementwise", "view")
KINDS = (CONV, GEMM, NORM, OPTIMIZER, REDUCTION, ELEMENTWISE, VIEW)

_CONV = {"convolution", "convolution_backward", "_convolution", "cudnn_convolution"}
_GEMM = {"mm", "addmm", "bmm", "baddbmm", "addmv", "mv", "_scaled_mm"}
_NORM = {"native_batch_norm", "native_batch_norm_backward", "_native_batch_norm_legit",
         "_native_batch_norm_legit_functional", "_native_batch_norm_legit_no_training", "cudnn_batch_norm",
         "cudnn_batch_norm_backward", "native_group_norm", "native_group_norm_backward", "native_layer_norm",
         "native_layer_norm_backward", "_batch_norm_with_update", "batch_norm_backward"}
_REDUCTION = {"sum", "mean", "amax", "amin", "max", "min", "argmax", "argmin", "var_mean", "var", "std", "norm",
              "linalg_vector_norm", "prod", "_log_softmax", "_softmax", "_log_softmax_backward_data",
              "_softmax_backward_data", "nll_loss_forward", "nll_loss_backward", "mse_loss", "logsumexp"}
# No kernel, no memory traffic: shape bookkeeping and allocation (host work only).
_NO_KERNEL = {"empty", "empty_like", "empty_strided", "new_empty", "new_empty_strided", "lift_fresh", "_unsafe_view",
              "detach", "alias", "resize_", "set_", "_to_copy_noop"}
# Metadata queries and profiler markers: not operators a user's step runs.
_IGNORED_NAMESPACES = ("prim", "profiler")
# Operators that launch more than one kernel on CUDA (cuDNN/native batch norm: statistics, then apply).
_KERNELS = {"native_batch_norm": 2, "native_batch_norm_backward": 2, "_native_batch_norm_legit": 2,
            "_native_batch_norm_legit_functional": 2, "native_group_norm": 2, "native_group_norm_backward": 3,
            "native_layer_norm_backward": 2, "var_mean": 2}
# torch's multi_tensor_apply: tensors and 64 Ki-element chunks one launch takes, for list depth 4 (Adam:
# params, grads, exp_avg, exp_avg_sq) and depth 2 (most _foreach_ ops).
_MTA_TENSORS = {1: 110, 2: 64, 3: 48, 4: 36, 5: 30}
_MTA_CHUNK_ELEMENTS, _MTA_BLOCKS = 65536, 320


def base_name(func: Any) -> str:
    """``aten.convolution_backward.default`` → ``convolution_backward``."""
    return func._schema.name.split("::")[-1]


def ignored(func: Any) -> bool:
    return func.namespace in _IGNORED_NAMESPACES or base_name(func).startswith("sym_")


def kind_of(func: Any) -> str:
    name = base_name(func)
    if name in _CONV:
        return CONV
    if name in _GEMM:
        return GEMM
    if name in _NORM:
        return NORM
    if name.startswith(("_fused_adam", "_fused_sgd", "_foreach_")):
        return OPTIMIZER
    if name in _REDUCTION:
        return REDUCTION
    if name in _NO_KERNEL or is_view(func):
        return VIEW
    return ELEMENTWISE


def is_view(func: Any) -> bool:
    """An operator whose outputs alias its inputs and which writes nothing: a view (t, permute, expand …)."""
    schema = func._schema
    if any(a.alias_info is not None and a.alias_info.is_write for a in schema.arguments):
        return False
    return bool(schema.returns) and all(r.alias_info is not None for r in schema.returns)


def tensors(value: Any) -> Iterator[torch.Tensor]:
    """The tensors in an argument: a tensor, or a list/tuple of them."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from tensors(v)


def nbytes(t: torch.Tensor) -> int:
    """Bytes a kernel touches reading ``t``: its elements, or its storage when smaller (an expanded tensor)."""
    size = t.numel() * t.element_size()
    try:
        return min(size, t.untyped_storage().nbytes())
    except (RuntimeError, NotImplementedError):  # a tensor without storage (rare subclasses)
        return size


def traffic(func: Any, args: tuple, kwargs: dict, out: Any) -> tuple[int, int]:
    """(bytes read, bytes written): every tensor argument is read once; mutated arguments and outputs written."""
    if kind_of(func) == VIEW:
        return 0, 0
    schema = func._schema
    read = written = 0
    named = dict(zip((a.name for a in schema.arguments), args)) | kwargs
    for arg in schema.arguments:
        value = named.get(arg.name)
        size = sum(nbytes(t) for t in tensors(value))
        read += size
        if arg.alias_info is not None and arg.alias_info.is_write:
            written += size
    returns_alias = [r.alias_info is not None for r in schema.returns]
    outs = out if isinstance(out, (list, tuple)) and len(schema.returns) > 1 else [out]
    for aliased, value in zip(returns_alias or [False] * len(outs), outs):
        if not aliased:  # an in-place op returns its (already counted) input
            written += sum(nbytes(t) for t in tensors(value))
    return read, written


def kernels(func: Any, args: tuple, kwargs: dict) -> int:
    """CUDA kernels the operator launches."""
    name, kind = base_name(func), kind_of(func)
    if kind == VIEW or name in ("copy_",) and _same_tensor(args):
        return 0
    if name == "convolution":
        return 1 + (args[2] is not None)  # cuDNN convolution, then the bias add
    if name == "convolution_backward":
        mask = kwargs.get("output_mask", args[-1] if args else (True, True, True))
        return max(1, sum(bool(m) for m in mask))  # grad input, grad weight, grad bias: one kernel each
    if kind == OPTIMIZER:
        return _multi_tensor_launches(args)
    return _KERNELS.get(name, 1)


def _same_tensor(args: tuple) -> bool:
    return len(args) >= 2 and isinstance(args[0], torch.Tensor) and args[0] is args[1]


def _multi_tensor_launches(args: tuple) -> int:
    """Launches of torch's multi_tensor_apply over the tensor lists in ``args`` (fused/foreach optimizers)."""
    lists = [a for a in args if isinstance(a, (list, tuple)) and a and isinstance(a[0], torch.Tensor)]
    if not lists:
        return 1
    depth = min(len(lists), 5)
    first = lists[0]
    chunks = sum(math.ceil(t.numel() / _MTA_CHUNK_ELEMENTS) for t in first)
    return max(1, math.ceil(len(first) / _MTA_TENSORS[depth]), math.ceil(chunks / _MTA_BLOCKS))


def parallel_elements(func: Any, args: tuple, out: Any) -> int:
    """Independent elements a kernel can spread over the GPU (for the fill term): the largest tensor it reads
    or writes (a reduction parallelises over its input); a multi-tensor optimizer step, all of its chunks."""
    if kind_of(func) == OPTIMIZER:
        lists = [a for a in args if isinstance(a, (list, tuple)) and a and isinstance(a[0], torch.Tensor)]
        if lists:
            return max(1, sum(t.numel() for t in lists[0]))
    return max((t.numel() for t in [*tensors(out), *tensors(args)]), default=1)


def conv_class(func: Any, args: tuple) -> str:
    """The convolution's shape class, which decides the algorithms cuDNN can use (forward or backward):
    "3x3" (stride 1, undilated, ungrouped: Winograd), "5x5+" (a larger square stride-1 kernel: FFT), "1x1",
    "other" (strided, grouped, rectangular); "" for an operator that is not a convolution."""
    name = base_name(func)
    if name == "convolution":
        weight, stride, dilation, groups = args[1], args[3], args[5], args[8]
    elif name == "convolution_backward":
        weight, stride, dilation, groups = args[2], args[4], args[6], args[9]
    else:
        return ""
    r, s = tuple(weight.shape[2:4]) if weight.dim() == 4 else (0, 1)
    plain = all(x == 1 for x in stride) and all(d == 1 for d in dilation) and groups == 1
    if r == s == 1:
        return "1x1"
    if plain and r == s == 3:
        return "3x3"
    if plain and r == s >= 5:
        return "5x5+"
    return "other"


def conv_width(func: Any, args: tuple) -> int:
    """The narrow side of a convolution's weight matrix: min(output channels, input channels per group × kernel
    taps); 0 for an operator that is not a convolution.

    Lowered to matrix products, each of a convolution's three passes (forward, gradient of the input, gradient
    of the weight) has the weight matrix's two sides among its dimensions, so a narrow side (a first layer over
    one grey channel: 9 taps) starves a CPU's vector lanes and register tile in every pass."""
    name = base_name(func)
    if name == "convolution":
        weight = args[1]
    elif name == "convolution_backward":
        weight = args[2]
    else:
        return 0
    if weight.dim() < 3:
        return 0
    return int(min(weight.shape[0], math.prod(weight.shape[1:])))


def compute_dtype(args: tuple, out: Any) -> str:
    """The floating dtype the operator computes in: its first floating input (else output)."""
    for t in [*tensors(args), *tensors(out)]:
        if t.is_floating_point():
            return str(t.dtype).removeprefix("torch.")
    return "int"
