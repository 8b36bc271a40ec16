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
CPUs: no peak is claimed (it depends on clocks, cores in use and vector units).
"""

from __future__ import annotations

import re

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


def peak_flops(gpu_name: str | None, precision: str, *, tf32: bool = False) -> tuple[float | None, str]:
    """(dense peak FLOP/s or None, a note saying which peak and why)."""
    if not gpu_name:
        return None, "CPU: no dense peak is claimed, so no MFU"
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
) -> dict:
    """The Record's ``flops`` object; achieved uses the median steady images/s."""
    achieved = None if train_flops_per_image is None else train_flops_per_image * images_per_s
    peak, note = peak_flops(gpu_name, precision, tf32=tf32)
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
