"""The instance catalog: what a cloud machine has and what it costs per hour, dated and sourced.

The shipped catalog (catalog.csv, package data) lists AWS EC2 GPU instances with
us-east-1 Linux on-demand prices; every row says where its price came from and
when. A user passes their own file with the same columns (`--catalog FILE`).
Lines starting with ``#`` are comments. A bad row is one line naming the file,
the row (its line in the file) and the column, never a traceback.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path

from kpbench.errors import KpbenchError, located
from kpbench.inputs import INSTANCE_TYPE, is_instance_type, read_text, shown

DEFAULT_CATALOG = Path(__file__).with_name("catalog.csv")

REQUIRED_COLUMNS: tuple[str, ...] = (
    "instance_type", "provider", "region", "vcpus", "memory_gb", "gpu", "gpu_count",
    "gpu_memory_gb", "gpu_purpose", "price_per_hour", "price_date", "price_source",
)
OPTIONAL_COLUMNS: tuple[str, ...] = ("spot_price_per_hour", "retired", "retired_date", "notes", "replacement")
GPU_PURPOSES = ("ml", "graphics")
# The most a sane row holds; beyond, a typo (or a hostile file) whose cost would overflow to inf.
_MAX = {"vcpus": 100_000, "memory_gb": 1e6, "gpu_count": 1024, "gpu_memory_gb": 1e4, "price_per_hour": 1e5,
        "spot_price_per_hour": 1e5}
_YES = {"yes", "true", "1", "y"}
_NO = {"no", "false", "0", "n", ""}


@dataclass(frozen=True)
class Instance:
    """One catalog row. gpu_memory_gb is per GPU; prices are USD per hour for the whole instance."""

    instance_type: str
    provider: str
    region: str
    vcpus: int
    memory_gb: float
    gpu: str | None
    gpu_count: int
    gpu_memory_gb: float | None
    gpu_purpose: str | None
    price_per_hour: float
    spot_price_per_hour: float | None
    price_date: str
    price_source: str
    retired: bool
    retired_date: str | None
    notes: str = ""
    replacement: str | None = None  # for a retired type: today's nearest type (`kpbench cloud plan` offers it)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Catalog:
    """All instances of one catalog file, in file order."""

    instances: tuple[Instance, ...]
    path: Path

    def get(self, instance_type: str | None) -> Instance | None:
        if not instance_type:
            return None
        key = instance_type.strip().lower()
        return next((i for i in self.instances if i.instance_type.lower() == key), None)

    def __iter__(self):
        return iter(self.instances)

    def __len__(self) -> int:
        return len(self.instances)

    def to_dict(self) -> dict:
        return {"path": str(self.path), "instances": [i.to_dict() for i in self.instances]}


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Read and validate a catalog CSV; None reads the shipped one."""
    path = Path(path) if path is not None else DEFAULT_CATALOG
    if not path.exists() and not path.is_symlink():
        raise KpbenchError(f"{path}: no such catalog file")
    text = read_text(path, what="catalog")
    reader = csv.reader(text.splitlines(keepends=True))
    header: list[str] | None = None
    instances: list[Instance] = []
    seen: dict[str, int] = {}
    for cells in reader:
        row = reader.line_num  # the line in the file, so a user can jump to it
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        cells = [c.strip() for c in cells]
        if header is None:
            header = cells
            missing = [c for c in REQUIRED_COLUMNS if c not in header]
            if missing:
                raise located(path, "missing from the header", row=row, column=", ".join(missing))
            continue
        if len(cells) != len(header):
            raise located(path, f"{len(cells)} cells, expected {len(header)} (one per header column)", row=row)
        inst = _instance(path, row, dict(zip(header, cells)))
        if inst.instance_type.lower() in seen:
            raise located(path, f"{inst.instance_type} already listed in row {seen[inst.instance_type.lower()]}",
                          row=row, column="instance_type")
        seen[inst.instance_type.lower()] = row
        instances.append(inst)
    if header is None:
        raise KpbenchError(f"{path.name}: empty catalog (no header row)")
    return Catalog(tuple(instances), path)


def _instance(path: Path, row: int, cell: dict[str, str]) -> Instance:
    def text(column: str) -> str:
        if not cell[column]:
            raise located(path, "empty", row=row, column=column)
        return cell[column]

    def number(column: str, *, required: bool = True, integer: bool = False) -> float | None:
        raw = cell.get(column, "")
        if raw == "":
            if required:
                raise located(path, "empty", row=row, column=column)
            return None
        try:
            value = int(raw) if integer else float(raw)
        except ValueError:
            kind = "whole number" if integer else "number"
            raise located(path, f"{raw!r} is not a {kind}", row=row, column=column) from None
        if not math.isfinite(value) or not 0 <= value <= _MAX[column]:
            raise located(path, f"{raw} must be a non-negative number (at most {_MAX[column]:g})", row=row, column=column)
        return value

    def name(column: str, *, required: bool = True) -> str | None:
        value = text(column) if required else (cell.get(column) or None)
        if value is not None and not is_instance_type(value):
            raise located(path, f"{shown(value)} is not an instance type (it must match {INSTANCE_TYPE.pattern}: "
                          "it names files and SkyPilot resources)", row=row, column=column)
        return value

    gpu_count = int(number("gpu_count", integer=True))
    has_gpu = gpu_count > 0
    purpose = cell["gpu_purpose"].lower() or None
    if has_gpu and purpose not in GPU_PURPOSES:
        raise located(path, f"{cell['gpu_purpose']!r}, expected one of {', '.join(GPU_PURPOSES)}",
                      row=row, column="gpu_purpose")
    retired_raw = cell.get("retired", "").lower()
    if retired_raw not in _YES | _NO:
        raise located(path, f"{cell['retired']!r}, expected yes or no", row=row, column="retired")
    return Instance(
        instance_type=name("instance_type"),
        provider=text("provider"),
        region=text("region"),
        vcpus=int(number("vcpus", integer=True)),
        memory_gb=number("memory_gb"),
        gpu=text("gpu") if has_gpu else (cell["gpu"] or None),
        gpu_count=gpu_count,
        gpu_memory_gb=number("gpu_memory_gb", required=has_gpu),
        gpu_purpose=purpose if has_gpu else None,
        price_per_hour=number("price_per_hour"),
        spot_price_per_hour=number("spot_price_per_hour", required=False),
        price_date=text("price_date"),
        price_source=text("price_source"),
        retired=retired_raw in _YES,
        retired_date=cell.get("retired_date") or None,
        notes=cell.get("notes", ""),
        replacement=name("replacement", required=False),
    )


def check_priceable(instance_type: str | None, price_per_hour: float | None) -> None:
    """A KpbenchError for an --instance-type the catalog cannot price when no --price-per-hour is given.

    Minutes of benching for a Record no compare can price is a mistake worth stopping early; a
    type detected by IMDS is still benched (compare --price-per-hour prices it).
    """
    if instance_type is None or price_per_hour is not None:
        return
    if load_catalog().get(instance_type) is None:
        raise KpbenchError(f"instance type {instance_type!r} (from --instance-type) is not in the price catalog; "
                           "pass --price-per-hour")
