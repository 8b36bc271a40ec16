"""The GPU table (gpus.csv): datasheet peaks, bandwidth and units per GPU, each row with its source.

One row is the GPU one instance gets (a K80 row is one die of the board). ``precision_path``
says which units a precision runs on for this GPU: what `auto` picks (bf16 where the GPU has
bf16 tensor cores, else fp32, as `kpbench train` does), and what fp32 means on Ampere and later
(cuDNN runs fp32 convolutions as TF32 by default; matmuls stay fp32).
"""

from __future__ import annotations

import csv
import functools
import math
from dataclasses import dataclass
from pathlib import Path

from kpbench.errors import KpbenchError, located

GPUS_CSV = Path(__file__).with_name("gpus.csv")
_NUMBERS = ("sms", "boost_mhz", "fp32_tflops", "fp16_vector_tflops", "fp16_tensor_tflops", "bf16_tensor_tflops",
            "tf32_tensor_tflops", "mem_bw_gb_s", "mem_gb", "l2_mb")
_REQUIRED = ("gpu", "arch", "sms", "fp32_tflops", "mem_bw_gb_s", "status", "source")
STATUSES = ("datasheet", "derived", "unconfirmed")


@dataclass(frozen=True)
class Gpu:
    name: str
    instance_share: str  # what one instance gets: "the whole GPU", or one die of a dual-GPU board
    arch: str
    compute_capability: str
    launch: str
    sms: int
    boost_mhz: float | None
    fp32_tflops: float
    fp16_vector_tflops: float | None  # P100's 2x FP16 vector rate (not tensor cores)
    fp16_tensor_tflops: float | None
    bf16_tensor_tflops: float | None
    tf32_tensor_tflops: float | None
    mem_bw_gb_s: float
    mem_gb: float | None
    l2_mb: float | None
    status: str
    note: str
    source: str

    @property
    def confirmed(self) -> bool:
        return self.status != "unconfirmed"

    def auto_precision(self) -> str:
        """What `kpbench train --precision auto` runs here: bf16 on native bf16 tensor cores, else fp32."""
        return "bf16" if self.bf16_tensor_tflops else "fp32"

    def supports(self, precision: str) -> bool:
        if precision == "bf16":
            return self.bf16_tensor_tflops is not None
        if precision == "fp16":
            return self.fp16_tensor_tflops is not None or self.fp16_vector_tflops is not None
        return True

    def math_path(self, precision: str, kind: str) -> tuple[str, float]:
        """(path, dense peak TFLOPS) a convolution or matmul of this precision runs on.

        Paths: fp32 (CUDA cores), tf32 (tensor cores, fp32 convolutions on Ampere+), half (fp16/bf16
        tensor cores), half-vector (P100's doubled fp16 rate).
        """
        if precision == "bf16" and self.bf16_tensor_tflops:
            return "half", self.bf16_tensor_tflops
        if precision == "fp16" and self.fp16_tensor_tflops:
            return "half", self.fp16_tensor_tflops
        if precision == "fp16" and self.fp16_vector_tflops:
            return "half-vector", self.fp16_vector_tflops
        if precision == "fp32" and kind == "conv" and self.tf32_tensor_tflops:
            return "tf32", self.tf32_tensor_tflops
        return "fp32", self.fp32_tflops

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


@functools.cache
def load_gpus(path: Path = GPUS_CSV) -> dict[str, Gpu]:
    """The table, by upper-case name; a bad row is one line naming the file, row and column."""
    text = path.read_text(encoding="utf-8")
    rows = [line for line in text.splitlines(keepends=True)]
    reader = csv.reader(rows)
    header: list[str] | None = None
    table: dict[str, Gpu] = {}
    for cells in reader:
        if not cells or cells[0].startswith("#"):
            continue
        if header is None:
            header = cells
            missing = [c for c in _REQUIRED if c not in header]
            if missing:
                raise located(path, "missing from the header", row=reader.line_num, column=", ".join(missing))
            continue
        gpu = _row(path, reader.line_num, dict(zip(header, cells)))
        table[gpu.name.upper()] = gpu
    return table


def _row(path: Path, row: int, cell: dict[str, str]) -> Gpu:
    values: dict[str, float | None] = {}
    for column in _NUMBERS:
        raw = cell.get(column, "").strip()
        if raw == "":
            if column in _REQUIRED:
                raise located(path, "empty", row=row, column=column)
            values[column] = None
            continue
        try:
            values[column] = float(raw)
        except ValueError:
            raise located(path, f"{raw!r} is not a number", row=row, column=column) from None
        if not math.isfinite(values[column]) or values[column] <= 0:
            raise located(path, f"{raw} must be a positive number", row=row, column=column)
    if cell["status"] not in STATUSES:
        raise located(path, f"{cell['status']!r}, expected one of {', '.join(STATUSES)}", row=row, column="status")
    return Gpu(name=cell["gpu"], instance_share=cell.get("instance_share", "the whole GPU"), arch=cell["arch"],
               compute_capability=cell.get("compute_capability", ""),
               launch=cell.get("launch", ""), sms=int(values["sms"]), boost_mhz=values["boost_mhz"],
               fp32_tflops=values["fp32_tflops"], fp16_vector_tflops=values["fp16_vector_tflops"],
               fp16_tensor_tflops=values["fp16_tensor_tflops"], bf16_tensor_tflops=values["bf16_tensor_tflops"],
               tf32_tensor_tflops=values["tf32_tensor_tflops"], mem_bw_gb_s=values["mem_bw_gb_s"],
               mem_gb=values["mem_gb"], l2_mb=values["l2_mb"], status=cell["status"], note=cell.get("note", ""),
               source=cell["source"])


def gpu(name: str) -> Gpu:
    """The row for ``name`` (any case); KpbenchError listing the known GPUs otherwise."""
    table = load_gpus()
    key = name.strip().upper().removeprefix("NVIDIA ").removeprefix("TESLA ")
    if key in table:
        return table[key]
    raise KpbenchError(f"unknown GPU {name!r}; known: {', '.join(g.name for g in table.values())}")
