"""One training step, traced on the CPU without computing anything: every ATen operator it runs.

The step runs under torch's FakeTensorMode (tensors with shapes and dtypes but no data), so a
ResNet-50 step at batch 256 traces in about a second on any laptop. A TorchDispatchMode records
each operator with its phase (data, forward, loss, backward, optimizer), FLOPs (the formulas of
torch.utils.flop_counter where it has one), bytes read and written, and the CUDA kernels it
would launch (ops.py).

kpbench's own networks are traced through the training loop's own step function
(train/loop.py ``_train_step``: normalisation, augmentation on the device, autocast forward,
masked loss, backward, the fused optimizer), so the trace is what `kpbench train` runs. Any other
network gets the same step without the face-specific augmentation: forward, MSE on its output
(whatever its size), backward, the fused optimizer.
"""

from __future__ import annotations

import types
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode

from kpbench.errors import KpbenchError
from kpbench.estimate import ops as ops_mod

PRECISIONS = ("fp32", "bf16", "fp16")
PHASES = ("data", "forward", "loss", "backward", "optimizer")
FACE_SHAPE = (1, 96, 96)  # what kpbench's networks and training loop take


@dataclass(frozen=True)
class Op:
    """One ATen operator of the step, with what it costs a GPU (read from shapes, never measured)."""

    name: str  # e.g. "convolution_backward"
    kind: str  # ops.KINDS
    phase: str  # PHASES
    dtype: str  # the floating dtype it computes in
    flops: float
    bytes_read: int
    bytes_written: int
    kernels: int  # CUDA kernels it launches
    parallel: int  # independent output elements (how much of a GPU it can fill)
    conv_class: str = ""  # a convolution's shape class (ops.conv_class): which cuDNN algorithms apply
    conv_width: int = 0  # a convolution's narrow weight side (ops.conv_width): how well it fills a CPU's vectors

    @property
    def bytes(self) -> int:
        return self.bytes_read + self.bytes_written


@dataclass
class Trace:
    """Every operator of one training step of ``model`` at ``batch_size``, in the order they run."""

    model: str
    input_shape: tuple[int, ...]
    batch_size: int
    precision: str
    optimizer: str
    ops: list[Op] = field(default_factory=list)
    params: int = 0
    module_calls: int = 0  # nn.Module forward calls: Python work on the host besides the operators

    @property
    def operators(self) -> int:
        return len(self.ops)

    @property
    def kernels(self) -> int:
        return sum(o.kernels for o in self.ops)

    @property
    def flops_per_step(self) -> float:
        return sum(o.flops for o in self.ops)

    @property
    def bytes_per_step(self) -> int:
        return sum(o.bytes for o in self.ops)

    def to_dict(self, *, with_ops: bool = False) -> dict:
        """The --json ``trace`` object; ``with_ops`` adds every operator (large)."""
        d = {"model": self.model, "input_shape": list(self.input_shape), "batch_size": self.batch_size,
             "precision": self.precision, "optimizer": self.optimizer, "params": self.params,
             "operators": self.operators, "kernels": self.kernels, "flops_per_step": self.flops_per_step,
             "bytes_per_step": self.bytes_per_step, "module_calls": self.module_calls,
             "by_kind": _totals(self.ops, "kind"), "by_phase": _totals(self.ops, "phase")}
        if with_ops:
            d["ops"] = [asdict(o) for o in self.ops]
        return d


def _totals(op_list: list[Op], key: str) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for o in op_list:
        t = out.setdefault(getattr(o, key), {"operators": 0, "kernels": 0, "flops": 0.0, "bytes": 0})
        t["operators"] += 1
        t["kernels"] += o.kernels
        t["flops"] += o.flops
        t["bytes"] += o.bytes
    return out


class _Recorder(TorchDispatchMode):
    """Records every operator dispatched while it is active, tagged with the phase the step is in."""

    def __init__(self) -> None:
        super().__init__()
        self.ops: list[Op] = []
        self.phase = "data"
        self.recording = False
        self.module_calls = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001, ANN206 - torch's protocol
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        if self.recording and not ops_mod.ignored(func):
            self.ops.append(_op(func, args, kwargs, out, self._phase_now()))
        return out

    def _phase_now(self) -> str:
        if self.phase != "optimizer" and torch._C._current_autograd_node() is not None:
            return "backward"
        return self.phase


def _op(func: Any, args: tuple, kwargs: dict, out: Any, phase: str) -> Op:
    from torch.utils.flop_counter import flop_registry

    formula = flop_registry.get(func._overloadpacket)
    flops = float(formula(*args, **kwargs, out_val=out)) if formula is not None else 0.0
    kind = ops_mod.kind_of(func)
    if formula is None and kind not in (ops_mod.VIEW,):
        flops = float(ops_mod.parallel_elements(func, args, out))  # one operation per output element
    read, written = ops_mod.traffic(func, args, kwargs, out)
    return Op(name=ops_mod.base_name(func), kind=kind, phase=phase, dtype=ops_mod.compute_dtype(args, out), flops=flops,
              bytes_read=read, bytes_written=written, kernels=ops_mod.kernels(func, args, kwargs),
              parallel=ops_mod.parallel_elements(func, args, out), conv_class=ops_mod.conv_class(func, args),
              conv_width=ops_mod.conv_width(func, args))


def trace_step(network: str | Callable[[], nn.Module], *, batch_size: int = 64, precision: str = "fp32",
               input_shape: tuple[int, ...] = FACE_SHAPE, optimizer: str = "adamw", loss: str = "mse",
               label: str | None = None, inference: bool = False) -> Trace:
    """The operators of one steady-state training step (a first, untraced step sets up optimizer state).

    ``network``: a kpbench model name (traced through the training loop's own step) or a function
    returning an ``nn.Module`` (forward, ``loss`` = mse or cross_entropy, backward, ``optimizer`` step).
    ``inference``: one forward pass in eval mode instead (published inference latencies).
    """
    from torch._subclasses.fake_tensor import FakeTensorMode

    if precision not in PRECISIONS:
        raise KpbenchError(f"precision {precision!r} is not one of: {', '.join(PRECISIONS)}")
    if batch_size < 1:
        raise KpbenchError(f"batch size must be positive, got {batch_size}")
    name = network if isinstance(network, str) else (label or getattr(network, "__name__", "model"))
    net = _build_on_meta(network)
    recorder = _Recorder()
    with FakeTensorMode(), recorder:
        params = _fake_parameters(net)
        if inference:
            step, opt = _inference_pass(net, batch_size, precision, input_shape), None
        else:
            step, opt = _step_function(network, net, batch_size, precision, input_shape, optimizer, loss)
        _hook_phases(net, opt, recorder)
        step()  # optimizer state (exp_avg …) is created on the first step: not a steady step's work
        recorder.ops.clear()
        recorder.recording, recorder.phase, recorder.module_calls = True, "data", 0
        with _counting_module_calls(recorder):
            step()
        recorder.recording = False
    return Trace(model=name, input_shape=tuple(input_shape), batch_size=batch_size, precision=precision,
                 optimizer=optimizer, ops=recorder.ops, params=params, module_calls=recorder.module_calls)


def _build_on_meta(network: str | Callable[[], nn.Module]) -> nn.Module:
    """The network with parameters on the meta device (no memory, no initialisation cost)."""
    if isinstance(network, str):
        from kpbench.models import build_model

        with torch.device("meta"):
            return build_model(network)
    with torch.device("meta"):
        net = network()
    if not isinstance(net, nn.Module):
        raise KpbenchError(f"{getattr(network, '__name__', 'the function')}() returned a {type(net).__name__}, "
                           "not a torch.nn.Module")
    return net


def _fake_parameters(net: nn.Module) -> int:
    """Replace every parameter and buffer by a fake CPU tensor of its shape (channels-last, as train does)."""
    count = 0
    for module in net.modules():
        for key, p in list(module._parameters.items()):
            if p is not None:
                module._parameters[key] = nn.Parameter(_empty_like(p), requires_grad=p.requires_grad)
                count += p.numel()
        for key, b in list(module._buffers.items()):
            if b is not None:
                module._buffers[key] = torch.zeros(b.shape, dtype=b.dtype)
    return count


def _empty_like(p: torch.Tensor) -> torch.Tensor:
    t = torch.empty(p.shape, dtype=p.dtype)
    return t.contiguous(memory_format=torch.channels_last) if t.dim() == 4 else t


def _step_function(network: str | Callable[[], nn.Module], net: nn.Module, batch: int, precision: str,
                   input_shape: tuple[int, ...], optimizer: str, loss: str) -> tuple[Callable[[], Any], Any]:
    if isinstance(network, str):
        if tuple(input_shape) != FACE_SHAPE:
            raise KpbenchError(f"kpbench's network {network!r} takes {','.join(map(str, FACE_SHAPE))} images, "
                               f"not {','.join(map(str, input_shape))}")
        return _kpbench_step(network, net, batch, precision)
    return _plain_step(net, batch, precision, input_shape, optimizer, loss)


def _kpbench_step(name: str, net: nn.Module, batch: int, precision: str) -> tuple[Callable[[], Any], Any]:
    """The training loop's own step on a fake batch of faces (the loop's _Run, reduced to what a step reads)."""
    from kpbench.train.config import TrainConfig
    from kpbench.train.devdata import DeviceData, Normalisation
    from kpbench.train.loop import _train_step, make_optimizer
    from kpbench.train.world import World

    cfg = TrainConfig(model=name, batch_size=batch)
    opt = make_optimizer(cfg, net, "cpu")
    data = DeviceData(images=torch.zeros(batch, *FACE_SHAPE, dtype=torch.uint8), keypoints=torch.zeros(batch, 15, 2))
    run = types.SimpleNamespace(cfg=cfg, tr=data, world=World(), batch=batch, norm=Normalisation(128.0, 64.0),
                                gen=torch.Generator().manual_seed(0), model=net, opt=opt, precision=precision,
                                device="cpu")
    index = torch.arange(batch)

    def step() -> Any:
        from kpbench.train import augment

        # augment caches its flip index per device; a cached tensor of another trace's fake mode must not leak in
        saved, augment._PERM_CACHE = augment._PERM_CACHE, {}
        try:
            return _train_step(run, index)
        finally:
            augment._PERM_CACHE = saved

    return step, opt


def _plain_step(net: nn.Module, batch: int, precision: str, input_shape: tuple[int, ...], optimizer: str,
                loss: str) -> tuple[Callable[[], Any], Any]:
    from kpbench.train.evaluate import autocast

    opt = _optimizer(net, optimizer)
    x = _input(batch, input_shape)

    def step() -> None:
        with autocast("cpu", precision):
            out = net(x)
        if not isinstance(out, torch.Tensor):
            raise KpbenchError(f"the network returned a {type(out).__name__}, not a tensor")
        out = out.float()
        if loss == "cross_entropy":
            value = nn.functional.cross_entropy(out, torch.zeros(out.shape[0], dtype=torch.long))
        else:
            value = nn.functional.mse_loss(out, torch.zeros_like(out))
        opt.zero_grad(set_to_none=True)
        value.backward()
        opt.step()

    return step, opt


def _inference_pass(net: nn.Module, batch: int, precision: str, input_shape: tuple[int, ...]) -> Callable[[], Any]:
    from kpbench.train.evaluate import autocast

    net.eval()
    x = _input(batch, input_shape)

    def forward() -> Any:
        with torch.no_grad(), autocast("cpu", precision):
            return net(x)

    return forward


def _input(batch: int, input_shape: tuple[int, ...]) -> torch.Tensor:
    x = torch.empty(batch, *input_shape)
    return x.contiguous(memory_format=torch.channels_last) if x.dim() == 4 else x


def _optimizer(net: nn.Module, name: str) -> torch.optim.Optimizer:
    if name == "sgd":  # what the published ImageNet runs use; foreach, as on CUDA
        return torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, foreach=True)
    if name == "adamw":
        return torch.optim.AdamW(net.parameters(), lr=1e-3, fused=True)
    raise KpbenchError(f"optimizer {name!r} is not one of: adamw, sgd")


def _hook_phases(net: nn.Module, opt: Any, recorder: _Recorder) -> None:
    """Phases from hooks: forward while the network runs, loss after it, optimizer inside opt.step()."""

    def forward_pre(*_: Any) -> None:
        recorder.phase = "forward"

    def forward_post(*_: Any) -> None:
        recorder.phase = "loss"

    def step_pre(*_: Any) -> None:
        recorder.phase = "optimizer"

    net.register_forward_pre_hook(forward_pre)
    net.register_forward_hook(forward_post)
    if opt is not None:
        opt.register_step_pre_hook(step_pre)


class _counting_module_calls:  # noqa: N801 - used as a context manager, like torch's own
    """Counts nn.Module forward calls (Python overhead per layer) while active."""

    def __init__(self, recorder: _Recorder) -> None:
        self.recorder = recorder
        self.handle = None

    def __enter__(self) -> None:
        def count(*_: Any) -> None:
            self.recorder.module_calls += 1

        self.handle = nn.modules.module.register_module_forward_pre_hook(count)

    def __exit__(self, *exc: object) -> None:
        self.handle.remove()


def op_counts(trace: Trace) -> Counter:
    """How often each operator runs in the step (for tests and the calibration printout)."""
    return Counter(o.name for o in trace.ops)
