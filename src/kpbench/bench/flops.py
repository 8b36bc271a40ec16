"""Training FLOPs per image, achieved FLOP/s and model FLOPs utilisation (MFU).

MFU = achieved FLOP/s / the device's dense peak. Peaks are vendor datasheet
figures *without* structured sparsity, per device as torch sees it (a K80 or
M60 board holds two GPUs; torch counts each, so half the board figure).
Sources (NVIDIA datasheets):
  K80   Tesla K80 board: 8.73 TFLOPS fp32 (GPU Boost) -> 4.37 per GPU; no fast fp16/bf16
  M60   Tesla M60 board: 9.65 TFLOPS fp32 -> 4.82 per GPU; no fast fp16/bf16
  T4    T4 datasheet: 8.1 TFLOPS fp32, 65 TFLOPS fp16 tensor (mixed); no bf16 (Turing)
  V100  V100 datasheet: SXM2 15.7 fp32 / 125 tensor; PCIe 14 / 112
  A10G  AWS's A10 variant; NVIDIA publishes no A10G sheet, so the A10 datasheet is used:
        31.2 fp32, 62.5 TF32, 125 bf16/fp16 (the A10G's tensor rate may be lower:
        then the MFU shown is an underestimate)
  L4    L4 datasheet: 30.3 fp32, 60 TF32, 121 bf16/fp16 (dense = half the sparse figures)
  A100  A100 datasheet: 19.5 fp32, 156 TF32, 312 bf16/fp16
  H100  H100 datasheet: SXM 67 fp32, 494.7 TF32, 989.4 bf16/fp16; PCIe 51 / 378 / 756
  H200  H200 datasheet (SXM): 67 fp32, 494.7 TF32, 989.4 bf16/fp16
CPUs: the dense peak is computed, not looked up (see cpu_peak_flops), and says what it assumes.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

TERA = 1e12
# (pattern on torch's device name, fp32, tf32 or None, bf16/fp16 or None) in FLOP/s;
# the first match wins, so the more specific names come first.
PEAK_FLOPS: tuple[tuple[str, float, float | None, float | None], ...] = (
    (r"\bH200\b", 67 * TERA, 494.7 * TERA, 989.4 * TERA),
    (r"\bH100\b.*\bPCIe\b", 51 * TERA, 378 * TERA, 756 * TERA),
    (r"\bH100\b", 67 * TERA, 494.7 * TERA, 989.4 * TERA),
    (r"\bA100\b", 19.5 * TERA, 156 * TERA, 312 * TERA),
    (r"\bA10G\b", 31.2 * TERA, 62.5 * TERA, 125 * TERA),
    (r"\bL4\b", 30.3 * TERA, 60 * TERA, 121 * TERA),
    (r"\bT4\b", 8.1 * TERA, None, 65 * TERA),
    (r"\bV100\b.*PCIE", 14 * TERA, None, 112 * TERA),
    (r"\bV100\b", 15.7 * TERA, None, 125 * TERA),
    (r"\bM60\b", 4.82 * TERA, None, None),
    (r"\bK80\b", 4.37 * TERA, None, None),
)


def peak_flops(gpu_name: str | None, precision: str, *, tf32: bool = False,
               cpu: CpuInfo | None = None) -> tuple[float | None, str]:
    """(dense peak FLOP/s or None, a note saying which peak and why); without a GPU, the CPU's."""
    if not gpu_name:
        return cpu_peak_flops(cpu or read_cpu_info(), precision)
    for pattern, fp32, tf32_peak, half in PEAK_FLOPS:
        if not re.search(pattern, gpu_name, re.IGNORECASE):
            continue
        if precision in ("bf16", "fp16"):
            if half is None:
                return fp32, f"{gpu_name}: no fast {precision} path; fp32 peak used (NVIDIA datasheet, dense)"
            return half, f"{gpu_name}: {precision} tensor peak (NVIDIA datasheet, dense)"
        if tf32 and tf32_peak is not None:
            return tf32_peak, f"{gpu_name}: TF32 tensor peak, cuDNN runs fp32 convolutions as TF32 (NVIDIA datasheet, dense)"
        return fp32, f"{gpu_name}: fp32 peak (NVIDIA datasheet)"
    return None, f"{gpu_name}: not in the peak table, so no MFU"


def flops_summary(
    train_flops_per_image: float | None,
    images_per_s: float,
    gpu_name: str | None,
    precision: str,
    *,
    tf32: bool = False,
    cpu: CpuInfo | None = None,
) -> dict:
    """The Record's ``flops`` object; achieved uses the median steady images/s."""
    achieved = None if train_flops_per_image is None else train_flops_per_image * images_per_s
    peak, note = peak_flops(gpu_name, precision, tf32=tf32, cpu=cpu)
    mfu = None if achieved is None or peak is None else achieved / peak
    return {
        "train_flops_per_image": train_flops_per_image,
        "achieved_flops_per_s": achieved,
        "peak_flops_per_s": peak,
        "mfu": mfu,
        "peak_note": note,
    }


def train_flops_per_image(model_name: str) -> float:
    """Forward + backward FLOPs per image of a model (device-independent, so the
    runner counts once on CPU instead of every worker counting)."""
    from kpbench.models import build_model, summarize  # the models area owns FLOP counting

    return float(summarize(build_model(model_name)).train_flops_per_image)


# --- CPUs: peak = cores x clock x FLOPs per cycle per core, from the vector units ---


@dataclass(frozen=True)
class CpuInfo:
    """What the CPU peak is computed from (read_cpu_info reads it from /proc/cpuinfo)."""

    vendor: str  # GenuineIntel, AuthenticAMD, … ("" unknown)
    family: int | None
    flags: frozenset[str]
    cores: int  # physical cores this process may run on
    ghz: float | None  # the clock /proc/cpuinfo reports (a VM's nominal clock; boost not counted)
    model_name: str = ""


def read_cpu_info(cpuinfo: str | None = None, usable_cpus: int | None = None) -> CpuInfo:
    """The CPU from /proc/cpuinfo (or the text given); cores = usable CPUs / hardware threads per core."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            cpuinfo = ""
    first: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        first.setdefault(key.strip(), value.strip())
    usable = usable_cpus or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    # hardware threads per core: "siblings" (per package) over "cpu cores" (per package); SMT shares the FMA units
    per_core = max(1, int(_number(first.get("siblings")) or 1) // max(1, int(_number(first.get("cpu cores")) or 1)))
    mhz = _number(first.get("cpu MHz"))
    family = _number(first.get("cpu family"))
    return CpuInfo(vendor=first.get("vendor_id", ""), family=None if family is None else int(family),
                   flags=frozenset(first.get("flags", "").split()), cores=max(1, usable // per_core),
                   ghz=mhz / 1000 if mhz else None, model_name=first.get("model name", ""))


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


def fp32_fma_per_cycle(cpu: CpuInfo) -> tuple[int | None, str]:
    """fp32 fused multiply-adds per cycle per core, and the vector units assumed (None: unknown CPU)."""
    amd = cpu.vendor == "AuthenticAMD"
    if "avx512f" in cpu.flags:
        if amd and (cpu.family or 0) < 26:  # Zen 4 runs AVX-512 on two 256-bit FMA pipes
            return 16, "AVX-512 on 2 x 256-bit FMA pipes (AMD Zen 4)"
        return 32, "2 x 512-bit FMA units (AVX-512; some Xeons have one: then the peak is half)"
    if "avx2" in cpu.flags and "fma" in cpu.flags:
        return 16, "2 x 256-bit FMA units (AVX2)"
    if "avx" in cpu.flags:
        return 8, "256-bit AVX, no FMA (separate multiply and add)"
    return None, "no x86 vector units known"


def cpu_peak_flops(cpu: CpuInfo, precision: str) -> tuple[float | None, str]:
    """(dense peak FLOP/s of the CPU's cores at ``precision``, the assumptions behind it).

    fp32: cores x clock x 2 FLOPs x fp32 FMAs per cycle (vector width x FMA units). bf16 with
    AVX512-BF16: VDPBF16PS does two products per fp32 lane, 2x the fp32 rate; with AMX: 1024
    bf16 FMAs per cycle per core (the tile unit); without either bf16 runs at fp32's rate.
    """
    fma, units = fp32_fma_per_cycle(cpu)
    if fma is None or not cpu.ghz:
        return None, f"CPU: {units if fma is None else 'no clock reported'}, so no peak and no MFU"
    per_cycle, how = 2 * fma, units
    if precision in ("bf16", "fp16") and "amx_bf16" in cpu.flags:
        per_cycle, how = 2 * 1024, "AMX tiles, 1024 bf16 FMAs per cycle"
    elif precision in ("bf16", "fp16") and "avx512_bf16" in cpu.flags:
        per_cycle, how = 4 * fma, f"AVX512-BF16, 2 products per fp32 lane on {units}"
    elif precision in ("bf16", "fp16"):
        how = f"no native bf16: fp32's rate ({units})"
    peak = cpu.cores * cpu.ghz * 1e9 * per_cycle
    return peak, (f"CPU {precision} peak, assumed: {cpu.cores} core{'s' * (cpu.cores != 1)} x {cpu.ghz:.2f} GHz "
                  f"(the clock /proc/cpuinfo reports; boost not counted) x {per_cycle} FLOP/cycle ({how}) "
                  f"= {peak / 1e9:.0f} GFLOP/s")
