"""The result types of `compare`: Row, Mismatch, Comparison. Plain data; imports nothing of cost.

compare.py builds them; export, charts and verdicts read them. A Comparison is data
only: kpbench.cost.export writes it (CSV, Markdown, a directory of files) and
kpbench.cost.charts draws it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Row:
    """One Record priced. Fields without a price (unknown instance, local machine) are None."""

    label: str
    machine: str  # the instance type, or "local (<gpu or cpu>)"
    instance_type: str | None
    gpu: str | None
    gpus_used: int  # GPUs the Record's machine saw
    instance_gpu_count: int | None  # GPUs in the catalog instance (all billed)
    price_per_hour: float | None
    price_source: str | None
    init_s: float
    train_s: float
    time_s: float  # init_s + train_s
    time_mean_s: float
    time_stdev_s: float
    time_min_s: float
    time_max_s: float
    repeats: int
    images_per_s: float | None
    time_to_target_s: float | None
    billed_s: int
    cost_per_run_usd: float | None
    cost_to_target_usd: float | None
    cost_per_million_images_usd: float | None
    retired: bool = False
    pareto: bool = False
    note: str = ""
    estimated: bool = False  # an estimate (kpbench estimate), never a measurement: shown apart, with its band
    time_low_s: float | None = None  # an estimate's band on time_s (init + train)
    time_high_s: float | None = None
    cost_low_usd: float | None = None  # an estimate's band on cost_per_run_usd
    cost_high_usd: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class EstimatedRun:
    """An estimate to price beside the measured Records (read from an estimate Record by kpbench.estimate)."""

    label: str
    instance_type: str | None
    gpu: str | None
    init_s: float
    init_low_s: float
    init_high_s: float
    train_s: float
    train_low_s: float
    train_high_s: float
    images_per_s: float | None
    time_to_target_s: float | None
    basis: str


@dataclass
class Mismatch:
    """A config field whose value differs between Records."""

    field: str
    values: dict[str, Any]  # label -> value

    @property
    def message(self) -> str:
        groups: dict[str, list[str]] = {}
        for label, value in self.values.items():
            groups.setdefault(_short(value), []).append(label)
        shown = " vs ".join(f"{value} ({', '.join(labels)})" for value, labels in groups.items())
        return f"{self.field} differs: {shown}; these Records timed different work"

    def to_dict(self) -> dict:
        return {"field": self.field, "values": self.values, "message": self.message}


@dataclass
class Comparison:
    """The one result of `compare`; rows sorted by cost per run (unpriced last)."""

    rows: list[Row]
    cheapest: str | None
    cheapest_to_target: str | None
    fastest: str | None  # None when only estimates were given
    pareto: list[str]
    verdicts: list[str]
    config_mismatches: list[Mismatch]
    spot: bool = False
    catalog_path: str | None = None
    method: str = ""
    estimates: list[Row] = field(default_factory=list)  # estimated rows: their own table rows and Pareto front
    estimate_pareto: list[str] = field(default_factory=list)
    cheapest_estimate: str | None = None

    def row(self, label: str) -> Row:
        return {r.label: r for r in self.rows + self.estimates}[label]

    def to_dict(self) -> dict:
        return {
            "rows": [r.to_dict() for r in self.rows],
            "cheapest": self.cheapest,
            "cheapest_to_target": self.cheapest_to_target,
            "fastest": self.fastest,
            "pareto": self.pareto,
            "verdicts": self.verdicts,
            "mismatches": [m.to_dict() for m in self.config_mismatches],
            "spot": self.spot,
            "catalog": self.catalog_path,
            "method": self.method,
            "estimates": [r.to_dict() for r in self.estimates],
            "estimate_pareto": self.estimate_pareto,
            "cheapest_estimate": self.cheapest_estimate,
        }


def _short(value: Any) -> str:
    # a 64-digit sha256 in a one-line message hides the labels; 12 digits tell them apart
    text = str(value)
    return text if len(text) <= 16 else text[:12] + "…"
