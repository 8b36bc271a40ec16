"""This machine's own figures: host cost per operator and per module call, process start and imports,
and its CPU's peak FLOP/s and memory bandwidth (for a CPU estimate).

Each is measured where `kpbench estimate` runs, in well under a second (the imports in a fresh
process take one to a few seconds), and stated as an assumption for the instance's CPU: its host
costs are taken to be this machine's.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

# torch's intra-op parallel grain (ATen's GRAIN_SIZE): smaller element-wise kernels run on one thread.
PARALLEL_GRAIN = 32768
_FRESH_PROCESS = False  # set by note_fresh_process(): this process imports torch for `kpbench estimate` itself


def note_fresh_process() -> None:
    """Called by `kpbench estimate` before anything imports torch: then this process's own age, once torch and
    kpbench's training code are in, is the start-up and import time (no second process to time)."""
    global _FRESH_PROCESS
    _FRESH_PROCESS = "torch" not in sys.modules


@dataclass(frozen=True)
class Host:
    """Host seconds the framework spends around the work: measured on this machine."""

    dispatch_s: float  # one eager operator on a tiny tensor (argument parsing, dispatcher, allocation)
    module_s: float  # one nn.Module call around its operators (hooks, Python)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Cpu:
    """This machine's CPU as the cost model sees it; the peak is an assumption spelled out in ``note``."""

    model: str
    threads: int  # torch's intra-op threads: the cores a training step uses
    clock_ghz: float
    lanes: int  # fp32 lanes per vector instruction
    fma_units: int  # vector FMA instructions per cycle (assumed from the vendor and vector width)
    peak_flops: float
    bandwidth_gb_s: float  # STREAM-style copy, all threads
    thread_bandwidth_gb_s: float  # the same copy on one thread
    note: str

    def to_dict(self) -> dict:
        return asdict(self)


def _best_per_call_s(fn, calls: int = 2000, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(calls):
            fn()
        best = min(best, (time.perf_counter() - t0) / calls)
    return best


@functools.cache
def host() -> Host:
    """Per-operator and per-module host cost of eager PyTorch here (best of 5 × 2000 calls, about 0.1 s)."""
    import torch

    a, b = torch.ones(1), torch.ones(1)
    identity = torch.nn.Identity()
    return Host(dispatch_s=_best_per_call_s(lambda: a + b), module_s=_best_per_call_s(lambda: identity(a)))


@functools.cache
def startup_s() -> float:
    """Seconds from starting a Python process to having torch and kpbench's training code imported (measured).

    In a process that imported torch for this command (`kpbench estimate`), that is this process's own age
    once they are imported; elsewhere (a test, the demo) a fresh Python process is timed.
    """
    import kpbench.models  # noqa: F401 - the imports whose time is measured
    import kpbench.train  # noqa: F401

    if _FRESH_PROCESS:
        import psutil

        return max(0.0, time.time() - psutil.Process().create_time())
    code = "import torch, kpbench.train, kpbench.models"
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""},
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def _copy_gb_s(threads: int, mib: int = 128) -> float:
    """STREAM's copy kernel with torch on ``threads`` threads: bytes read + written per second, best of 5."""
    import torch

    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        src = torch.ones(mib * 2**20 // 4)
        dst = torch.empty_like(src)
        dst.copy_(src)  # touch the pages first
        best = min(_timed(lambda: dst.copy_(src)) for _ in range(5))
    finally:
        torch.set_num_threads(previous)
    return 2 * src.numel() * 4 / best / 1e9


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _cpu_flags() -> tuple[str, set[str], float]:
    model, flags, mhz = "unknown CPU", set(), 0.0
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                key, _, value = line.partition(":")
                key, value = key.strip(), value.strip()
                if key == "model name" and model == "unknown CPU":
                    model = value
                elif key == "flags" and not flags:
                    flags = set(value.split())
                elif key == "cpu MHz" and not mhz:
                    mhz = float(value)
    except (OSError, ValueError):
        pass
    return model, flags, mhz


@functools.cache
def cpu() -> Cpu:
    """This CPU's peak (threads × lanes × FMA units × 2 × clock) and a bandwidth probe (about 0.3 s)."""
    import torch

    model, flags, mhz = _cpu_flags()
    lanes = 16 if "avx512f" in flags else 8 if "avx2" in flags else 4
    amd = "AMD" in model.upper()
    # FMA issue per cycle: Intel cores with AVX-512 on Xeon Platinum / Gold 6xxx have two 512-bit units, other
    # AVX-512 Xeons one; AMD Zen runs 512-bit instructions on its two 256-bit units (one 512-bit per cycle);
    # AVX2 cores (Haswell on, Zen) have two 256-bit FMA units.
    if lanes == 16:
        fma = 1 if amd or not any(s in model for s in ("Platinum", "Gold 6")) else 2
    else:
        fma = 2 if "fma" in flags else 1
    threads = torch.get_num_threads()
    clock = (mhz or 2000.0) / 1000.0
    note = (f"{threads} threads × {lanes} fp32 lanes × {fma} FMA/cycle × 2 FLOPs × {clock:.2f} GHz "
            f"({'AVX-512' if lanes == 16 else 'AVX2' if lanes == 8 else 'SSE'}; FMA units assumed from the CPU name; "
            f"clock as /proc/cpuinfo reports it{'' if mhz else ', unknown: 2 GHz assumed'})")
    return Cpu(model=model, threads=threads, clock_ghz=clock, lanes=lanes, fma_units=fma,
               peak_flops=threads * lanes * fma * 2 * clock * 1e9, bandwidth_gb_s=_copy_gb_s(threads),
               thread_bandwidth_gb_s=_copy_gb_s(1), note=note)
