"""The cost model: a traced step's operators → seconds on a GPU, and which bound each one hits.

Per operator (Paleo's layer model, per ATen operator):

    device_s = max( flops / (peak_path · e_compute[path, arch] · fill),
                    bytes / (bandwidth · e_memory[arch] · fill),
                    kernels · kernel_floor_s )
    fill     = n / (n + n_half · SMs)

``fill`` is Habitat's wave-scaling idea in a smooth form: an operator with little independent work
cannot fill a GPU with many SMs, so a small CNN gains less from a big GPU than its peak says. For
memory-bound operators n is the output elements and n_half = fill_elements_per_sm (Little's law:
enough loads in flight to cover the memory latency); for convolutions and matmuls n counts output
elements times reduction chunks of 256 (cuDNN/cuBLAS split long reductions) and n_half =
fill_outputs_per_sm (about one output tile per SM).
The host issues every operator (``dispatch_s``, this machine's measured figure) and each kernel
(``launch_s``); without synchronisation in the loop the GPU runs behind the host, so a training
step takes max(Σ device_s, Σ host_s). A synchronised single pass (an inference latency) is a
pipeline: each kernel starts when both the host has issued it and the GPU is free.

The efficiencies, the floor, the launch cost and the fill constant are fitted to published
measurements (benchmarks/estimate_calibration.py); they live in constants.json.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kpbench.estimate import ops as ops_mod
from kpbench.estimate.gpus import Gpu
from kpbench.estimate.trace import Trace

if TYPE_CHECKING:
    from kpbench.estimate.machine import Cpu, Host

CONSTANTS_JSON = Path(__file__).with_name("constants.json")
BOUNDS = ("launch", "memory", "compute", "host")
_PRECISION_OF_DTYPE = {"bfloat16": "bf16", "float16": "fp16"}


@dataclass(frozen=True)
class Constants:
    """The fitted constants (constants.json); each efficiency table has a "default" for unfitted architectures."""

    compute: dict[str, dict[str, float]]  # path (fp32, tf32, half, half-vector) → arch → efficiency of convolutions
    gemm: dict[str, float]  # path → efficiency of matmuls, any architecture
    algorithm: dict[str, dict[str, float]]  # path → conv class → speed-up over the direct FLOPs (Winograd, FFT)
    memory: dict[str, float]  # arch → fraction of datasheet bandwidth a streaming kernel reaches
    kernel_floor_s: float  # the shortest a kernel takes on the GPU
    launch_s: float  # host time to launch one kernel
    dispatch_s: float  # host time per operator of the calibration stacks (used when none is measured)
    module_s: float  # host time per nn.Module call (Python around the operators) of the calibration stacks
    sync_s: float  # one host-device synchronisation (latency measurements)
    fill_elements_per_sm: float  # memory-bound operators: output elements per SM at half the bandwidth
    fill_outputs_per_sm: float  # convolutions and matmuls: work units per SM at half the compute rate
    band: dict[str, list[float]]  # "calibrated"/"uncalibrated": [low, high] relative error of a step estimate
    calibrated: dict[str, list[str]]  # path → architectures with a calibration point
    cpu: dict[str, float] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    def efficiency(self, path: str, arch: str) -> float:
        table = self.compute.get(path) or self.compute["fp32"]
        return table.get(arch, table["default"])

    def is_calibrated(self, path: str, arch: str) -> bool:
        return arch in self.calibrated.get(path, [])

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@functools.cache
def load_constants(path: Path = CONSTANTS_JSON) -> Constants:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Constants(**{k: v for k, v in data.items() if k in Constants.__dataclass_fields__})


@dataclass(frozen=True)
class OpArrays:
    """A trace's operators as arrays, for evaluating many GPUs (and the calibration fit) quickly."""

    flops: np.ndarray
    bytes: np.ndarray
    kernels: np.ndarray
    parallel: np.ndarray
    kind: np.ndarray  # index into ops.KINDS
    conv_class: np.ndarray  # ops.conv_class per operator ("" for all but convolutions)
    precision: np.ndarray  # "fp32" | "bf16" | "fp16" per operator
    module_calls: int
    conv_width: np.ndarray | None = None  # ops.conv_width per operator (0 for all but convolutions); None: all wide
    backward: np.ndarray | None = None  # True for operators of the backward phase; None: none

    @classmethod
    def of(cls, trace: Trace) -> OpArrays:
        o = trace.ops
        return cls(flops=np.array([x.flops for x in o], float), bytes=np.array([x.bytes for x in o], float),
                   kernels=np.array([x.kernels for x in o], float), parallel=np.array([max(1, x.parallel) for x in o], float),
                   kind=np.array([ops_mod.KINDS.index(x.kind) for x in o], int),
                   conv_class=np.array([x.conv_class for x in o]),
                   precision=np.array([_PRECISION_OF_DTYPE.get(x.dtype, "fp32") for x in o]),
                   module_calls=trace.module_calls, conv_width=np.array([x.conv_width for x in o], float),
                   backward=np.array([x.phase == "backward" for x in o], bool))


@dataclass
class StepPrediction:
    step_s: float
    device_s: float
    host_s: float
    bound: str  # the step's: host (the host cannot issue operators faster), or the bound most device time hit
    time_by_bound_s: dict[str, float]  # device seconds spent in operators that hit each bound
    time_by_kind_s: dict[str, float]
    paths: list[str]  # math paths the convolutions and matmuls ran on
    calibrated: bool  # every path used has a calibration point on this architecture

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def device_times(arrays: OpArrays, gpu: Gpu, c: Constants) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(seconds per operator on the GPU, index of the bound each hit in BOUNDS, math paths used)."""
    math = (arrays.kind == ops_mod.KINDS.index(ops_mod.CONV)) | (arrays.kind == ops_mod.KINDS.index(ops_mod.GEMM))
    work = np.where(math, np.maximum(arrays.parallel, arrays.flops / 512), arrays.parallel)
    fill_math = work / (work + c.fill_outputs_per_sm * gpu.sms)
    fill_memory = arrays.parallel / (arrays.parallel + c.fill_elements_per_sm * gpu.sms)
    math_rate = np.full(len(arrays.flops), gpu.fp32_tflops * 1e12 * 0.5)  # elementwise arithmetic: never the bound
    paths = []
    for kind in (ops_mod.CONV, ops_mod.GEMM):
        for precision in ("fp32", "bf16", "fp16"):
            sel = (arrays.kind == ops_mod.KINDS.index(kind)) & (arrays.precision == precision)
            if not sel.any():
                continue
            path, peak = gpu.math_path(precision, kind)
            if kind == ops_mod.CONV:
                math_rate[sel] = peak * 1e12 * c.efficiency(path, gpu.arch)
                for shape, speedup in c.algorithm.get(path, {}).items():
                    math_rate[sel & (arrays.conv_class == shape)] *= speedup
            else:  # matmuls: the convolution efficiency of the architecture, or the GEMM figure where fitted
                math_rate[sel] = peak * 1e12 * c.gemm.get(path, c.efficiency(path, gpu.arch))
            paths.append(path)
    compute = arrays.flops / (math_rate * np.where(math, fill_math, 1.0))
    memory = arrays.bytes / (gpu.mem_bw_gb_s * 1e9 * c.memory.get(gpu.arch, c.memory["default"]) * fill_memory)
    floor = arrays.kernels * c.kernel_floor_s
    stacked = np.stack([floor, memory, compute])
    return stacked.max(axis=0) * (arrays.kernels > 0), stacked.argmax(axis=0), sorted(set(paths))


def host_times(arrays: OpArrays, c: Constants, dispatch_s: float | None = None,
               module_s: float | None = None) -> np.ndarray:
    """Host seconds per operator: dispatching it, launching its kernels, and its share of the module calls."""
    per_op = c.dispatch_s if dispatch_s is None else dispatch_s
    per_module = c.module_s if module_s is None else module_s
    modules = arrays.module_calls * per_module / max(1, len(arrays.kernels))
    return per_op + modules + arrays.kernels * c.launch_s


def predict_step(arrays: OpArrays, gpu: Gpu, c: Constants, *, dispatch_s: float | None = None,
                 module_s: float | None = None, synchronised: bool = False) -> StepPrediction:
    """One step (or, ``synchronised``, one pass timed from an idle GPU to its end) on ``gpu``."""
    device, bound, paths = device_times(arrays, gpu, c)
    host = host_times(arrays, c, dispatch_s, module_s)
    device_s, host_s = float(device.sum()), float(host.sum())
    step_s = pipeline_s(host, device) + c.sync_s if synchronised else max(device_s, host_s)
    by_bound = {BOUNDS[i]: float(device[bound == i].sum()) for i in range(3)}
    if host_s >= device_s:
        step_bound = "host"
    else:
        step_bound = max(by_bound, key=by_bound.get)
    by_kind = {k: float(device[arrays.kind == i].sum()) for i, k in enumerate(ops_mod.KINDS) if (arrays.kind == i).any()}
    calibrated = gpu.confirmed and _calibrated_share(arrays, gpu, c, device) >= CALIBRATED_SHARE
    return StepPrediction(step_s=step_s, device_s=device_s, host_s=host_s, bound=step_bound, time_by_bound_s=by_bound,
                          time_by_kind_s=by_kind, paths=paths, calibrated=calibrated)


CALIBRATED_SHARE = 0.9  # a step is "calibrated" when this share of its device time runs on calibrated paths


def _calibrated_share(arrays: OpArrays, gpu: Gpu, c: Constants, device: np.ndarray) -> float:
    """Share of the device time spent outside convolutions and matmuls on uncalibrated paths (memory-bound
    work is calibrated on every architecture: one global efficiency)."""
    uncalibrated = 0.0
    for kind in (ops_mod.CONV, ops_mod.GEMM):
        for precision in ("fp32", "bf16", "fp16"):
            sel = (arrays.kind == ops_mod.KINDS.index(kind)) & (arrays.precision == precision)
            if sel.any() and not c.is_calibrated(gpu.math_path(precision, kind)[0], gpu.arch):
                uncalibrated += float(device[sel].sum())
    total = float(device.sum())
    return 1.0 - uncalibrated / total if total else 1.0


def pipeline_s(host: np.ndarray, device: np.ndarray) -> float:
    """End of the last kernel when kernel i starts at max(host has issued it, GPU finished kernel i-1).

    end_i = max_j≤i (issued_j + Σ_{k=j..i} device_k): a running maximum over cumulative sums.
    """
    issued = np.cumsum(host)
    done = np.cumsum(device)
    before = np.concatenate([[0.0], done[:-1]])
    return float((np.maximum.accumulate(issued - before) + done)[-1]) if len(host) else 0.0


def band(c: Constants, calibrated: bool) -> tuple[float, float]:
    """(low, high) factors on a step estimate (measured = estimate × factor for 80 % of the leave-one-out
    outcomes of the fit), wider outside the calibration."""
    low, high = c.band["calibrated" if calibrated else "uncalibrated"]
    return float(low), float(high)


def cpu_conv_efficiency(width: np.ndarray, backward: np.ndarray, c: Constants) -> np.ndarray:
    """Share of this CPU's peak a convolution reaches, from the narrow side of its weight matrix (ops.conv_width).

    oneDNN's convolutions run as register-tiled vector FMAs over the weight matrix's two sides (output channels;
    input channels × kernel taps). When the narrower side is shorter than a few vectors of fp32 lanes (a first layer
    over one grey channel has 9 taps), both the lanes in use and the FMAs per load in the register tile shrink
    with it, so the rate falls about with the square of the width: e = e_pass / (1 + (width_half / width)²).
    The backward pass (input and weight gradients, the latter a reduction over batch × pixels) reaches a lower
    e_pass than the forward one. A width of 0 (no shape known) counts as wide.
    """
    k = c.cpu
    w = np.where(width > 0, width, np.inf)
    e_pass = np.where(backward, k["conv_backward"], k["conv_forward"])
    return e_pass / (1.0 + (k["conv_width_half"] / w) ** 2)


def predict_cpu_step(arrays: OpArrays, cpu: Cpu, host: Host, c: Constants) -> StepPrediction:
    """One step on this machine's CPU: operators run one after another, each max(compute, memory) + dispatch.

    Element-wise operators smaller than torch's parallel
    grain run on one thread (its one-thread bandwidth); convolutions reach a share of the peak that depends on
    their shape (cpu_conv_efficiency); the efficiencies are constants.json's ``cpu`` section.
    """
    from kpbench.estimate.machine import PARALLEL_GRAIN

    k = c.cpu
    n = len(arrays.flops)
    conv, gemm = ops_mod.KINDS.index(ops_mod.CONV), ops_mod.KINDS.index(ops_mod.GEMM)
    width = arrays.conv_width if arrays.conv_width is not None else np.zeros(n)
    backward = arrays.backward if arrays.backward is not None else np.zeros(n, bool)
    eff = np.where(arrays.kind == conv, cpu_conv_efficiency(width, backward, c),
                   np.where(arrays.kind == gemm, k["gemm"], k["elementwise"]))
    compute = arrays.flops / (cpu.peak_flops * eff)
    bandwidth = np.where(arrays.parallel < PARALLEL_GRAIN, cpu.thread_bandwidth_gb_s, cpu.bandwidth_gb_s)
    memory = arrays.bytes / (bandwidth * 1e9 * k["memory"])
    device = np.maximum(compute, memory) * (arrays.kernels > 0)
    hostside = host.dispatch_s + arrays.module_calls * host.module_s / max(1, len(arrays.kernels)) \
        + (arrays.parallel >= PARALLEL_GRAIN) * k["parallel_region_s"]
    bound = np.where(compute >= memory, 2, 1)
    by_bound = {BOUNDS[i]: float(device[bound == i].sum()) for i in (1, 2)}
    by_kind = {name: float(device[arrays.kind == i].sum()) for i, name in enumerate(ops_mod.KINDS)
               if (arrays.kind == i).any()}
    device_s, host_s = float(device.sum()), float(hostside.sum())
    step_bound = "host" if host_s > device_s else max(by_bound, key=by_bound.get)
    return StepPrediction(step_s=device_s + host_s, device_s=device_s, host_s=host_s, bound=step_bound,
                          time_by_bound_s=by_bound, time_by_kind_s=by_kind, paths=["cpu"], calibrated=False)
