"""Machine and software fingerprint: what a Record was measured on.

Everything here is best effort: a missing tool (git, nvidia-ml-py, py-cpuinfo)
gives null, never an error, because a bench must run on a bare machine.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def cpu_model() -> str | None:
    """The CPU's marketing name, from /proc/cpuinfo (fast) or py-cpuinfo (slow, portable)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    try:
        import cpuinfo  # py-cpuinfo spawns a subprocess; only where /proc is absent

        return cpuinfo.get_cpu_info().get("brand_raw") or None
    except Exception:
        return platform.processor() or None


def memory_gb() -> float | None:
    try:
        import psutil

        return round(psutil.virtual_memory().total / 1e9, 1)
    except Exception:
        return None


def gpu_fingerprint() -> dict:
    """GPU name/count/memory, driver, CUDA and cuDNN; nulls on a machine without CUDA."""
    info: dict = {"gpu": None, "gpu_count": 0, "gpu_memory_gb": None, "driver": None, "cuda": None, "cudnn": None}
    import torch

    if not torch.cuda.is_available():
        return info
    props = torch.cuda.get_device_properties(0)
    cudnn = torch.backends.cudnn.version()
    info.update(
        gpu=props.name,
        gpu_count=torch.cuda.device_count(),
        gpu_memory_gb=round(props.total_memory / 1e9, 1),
        cuda=torch.version.cuda,
        cudnn=None if cudnn is None else str(cudnn),
        driver=_nvidia_driver(),
    )
    return info


def _nvidia_driver() -> str | None:
    try:
        import pynvml  # nvidia-ml-py, optional

        pynvml.nvmlInit()
        try:
            v = pynvml.nvmlSystemGetDriverVersion()
            return v.decode() if isinstance(v, bytes) else str(v)
        finally:
            pynvml.nvmlShutdown()
    except Exception:
        pass
    try:  # the kernel module reports it too, without any library
        text = Path("/proc/driver/nvidia/version").read_text()
        return text.split("Kernel Module")[1].split()[0]
    except (OSError, IndexError):
        return None


def git_commit(repo_dir: str | Path | None = None) -> str | None:
    """The commit kpbench runs from (short hash), or None outside a git checkout."""
    where = Path(repo_dir) if repo_dir else Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=where, capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def software_fingerprint(torch_version: str) -> dict:
    from kpbench import __version__

    return {
        "python": platform.python_version(),
        "torch": torch_version,
        "kpbench": __version__,
        "git_commit": git_commit(),
    }


def resolve_instance(instance_type: str | None, price_per_hour: float | None) -> dict:
    """instance_type and its source (flag|imds|None); the hourly price only when given (flag).

    bench records what it measured and what it was told; catalog prices are cost's
    business, looked up at compare time from ``instance_type`` (so a Record is priced
    by the catalog in use then: its date, --spot, --catalog).
    """
    from kpbench.bench.imds import detect_instance_type

    source = "flag" if instance_type else None
    if instance_type is None:
        instance_type = detect_instance_type()
        source = "imds" if instance_type else None
    return {
        "instance_type": instance_type,
        "instance_type_source": source,
        "price_per_hour": price_per_hour,
        "price_source": "flag" if price_per_hour is not None else None,
    }


def machine_fingerprint(instance: dict, gpu: dict) -> dict:
    """The Record's ``machine`` object; ``instance`` from resolve_instance, ``gpu`` from
    gpu_fingerprint as a worker saw it (the runner itself never touches CUDA)."""
    return {
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "memory_gb": memory_gb(),
        **gpu,
        "os": f"{platform.system()}-{platform.release()}-{platform.machine()}",
        **instance,
    }


def host_name() -> str:
    return platform.node().split(".")[0] or "host"
