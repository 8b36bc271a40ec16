"""The Record's shape as TypedDicts: what `load_record` returns once record.schema.json has passed.

These mirror record.schema.json (the one definition a file is checked against); they let
readers (cost, report) index a loaded Record directly instead of ``(x.get(...) or {})``.
"""

from __future__ import annotations

from typing import Literal, NotRequired, Optional, TypedDict

DataLoad = Literal["parse", "cache", "synthetic"]


class Figure(TypedDict):
    """One quantity over the counted repeats (kpbench.bench.stats.figure)."""

    median: float
    min: float
    max: float
    mean: float
    stdev: float
    olympic_mean: Optional[float]
    cv: float
    unit: str
    values: list[float]


class FailedRepeat(TypedDict):
    repeat: int
    error: str


class Repeats(TypedDict):
    requested: int
    completed: int
    warmup: int
    failed: list[FailedRepeat]


class Flops(TypedDict):
    train_flops_per_image: Optional[float]
    achieved_flops_per_s: Optional[float]
    peak_flops_per_s: Optional[float]
    mfu: Optional[float]
    peak_note: str


class Machine(TypedDict):
    cpu_model: Optional[str]
    logical_cpus: Optional[int]
    memory_gb: Optional[float]
    gpu: Optional[str]
    gpu_count: int
    gpu_memory_gb: Optional[float]
    driver: Optional[str]
    cuda: Optional[str]
    cudnn: Optional[str]
    os: str
    instance_type: Optional[str]
    instance_type_source: Optional[Literal["flag", "imds"]]
    price_per_hour: Optional[float]
    # "catalog" in Records of older kpbench versions, which priced at bench time
    price_source: NotRequired[Optional[Literal["flag", "catalog"]]]


class Software(TypedDict):
    python: str
    torch: str
    kpbench: str
    git_commit: Optional[str]


class SpeedPath(TypedDict):
    """How training ran and why (kpbench.train.speed); version 2 on."""

    precision: str
    channels_last: bool
    compile: bool
    threads: Optional[int]
    source: Literal["measured", "cached", "given", "fixed"]
    why: str
    images_per_s: NotRequired[dict[str, float]]


class Config(TypedDict):
    model: str
    batch_size: int
    epochs: int
    time_budget_s: Optional[float]
    target_rmse_px: Optional[float]
    precision: str
    device: str
    data: str
    data_sha256: str
    rows: int
    missing: str
    seed: int
    speed_path: NotRequired[SpeedPath]  # version 2 on


class Eviction(TypedDict):
    """--cold: the page cache evicted before a repeat (kpbench.bench.cold)."""

    files: int
    mb: float
    resident_before_mb: float
    resident_after_mb: float
    evict_s: float
    failed_files: int


class Run(TypedDict):
    """One repeat as the worker reported it (failed ones too); phases: the split of wall_s (version 2)."""

    repeat: int
    ok: bool
    error: NotRequired[str]
    phases: dict[str, float]
    figures: dict[str, Optional[float]]
    final_val_rmse_px: Optional[float]
    data_load: NotRequired[DataLoad]
    wall_s: NotRequired[float]  # every repeat that ran has it (version 2 on)
    eviction: NotRequired[Eviction]


class Cloud(TypedDict, total=False):
    """Added by a cloud run (kpbench.cloud); only provision_s is read by cost."""

    provision_s: float


class Record(TypedDict):
    schema: str
    created_utc: str
    label: Optional[str]
    cold: NotRequired[bool]  # required from version 2 on (version 1 was always warm)
    repeats: Repeats
    figures: dict[str, Figure]
    phases: dict[str, Figure]
    data_load: DataLoad
    flops: Flops
    machine: Machine
    software: Software
    config: Config
    runs: list[Run]
    warnings: NotRequired[list[str]]
    cloud: NotRequired[Cloud]
