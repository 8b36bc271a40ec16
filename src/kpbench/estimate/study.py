"""From a step estimate to the study's columns: initialization, training time, cost, each with a band.

training = steps × step + epochs × evaluation (a forward pass over the validation rows);
initialization = this machine's measured process start and imports + CUDA context and first use
+ instance provisioning (published figures), each labelled with what it is;
cost = the catalog's on-demand price, billed per second with EC2's 60-second minimum over
initialization + training (provisioning included: EC2 bills from the running state, which covers
most of a boot). Every figure carries a band: the step's from the calibration error, the
initialization parts' from their sources.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from kpbench.cost import billing
from kpbench.cost.catalog import Instance
from kpbench.estimate.gpus import Gpu
from kpbench.estimate.model import StepPrediction
from kpbench.estimate.workload import Workload

# The original study's five instance types, in its order, and today's replacements.
STUDY_INSTANCES = ("g3s.xlarge", "g3.4xlarge", "g4dn.4xlarge", "p2.xlarge", "p3.2xlarge")
REPLACEMENTS = ("g4dn.xlarge", "g5.xlarge", "g6.xlarge")
SOURCES = {
    "cuda": "published: 4 s to start CUDA and make the first tensor (PyTorch 1.1, CUDA 10; github pytorch/pytorch "
            "issue 22583), over 2 s to move a model to a p3.2xlarge's V100 (PyTorch 1.3; discuss.pytorch.org 'Why would "
            "model loading takes that long'); CUDA 12.2 and later load kernels lazily: the 1 s low end is an assumption",
    "provision": "published: SkyPilot on AWS, a GPU instance from launch to ready, 147 s (101 s with a custom image; "
                 "github skypilot-org/skypilot PR 4091, 2024); EC2 request to first SSH login 96.9 s (Mao and Humphrey, "
                 "IEEE CLOUD 2012); none for p2, g3 or p3: the high end (twice 147 s) is an assumption",
    "startup": "measured on this machine; its CPU is assumed for the instance's (within a factor 2)",
}
CUDA_INIT_S = (1.0, 3.0, 4.0)  # low, central, high
PROVISION_S = (96.9, 147.0, 294.0)


@dataclass(frozen=True)
class Part:
    """One labelled figure with its band: a part of initialization, or a whole column."""

    name: str
    s: float
    low_s: float
    high_s: float
    basis: str  # measured | published | estimated | assumed
    source: str

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Estimate:
    """One row of the study: a GPU, on an instance or alone, for one workload."""

    gpu: str | None
    instance_type: str | None
    precision: str
    step_s: float
    step_s_low: float
    step_s_high: float
    images_per_s: float
    bound: str
    train_s: float
    train_s_low: float
    train_s_high: float
    init_s: float | None
    init_s_low: float | None
    init_s_high: float | None
    cost_per_run_usd: float | None
    cost_per_run_usd_low: float | None
    cost_per_run_usd_high: float | None
    basis: str  # "estimated" or "measured", then how
    calibrated: bool
    price_per_hour: float | None = None
    time_to_target_s: float | None = None
    init_parts: list[Part] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    prediction: StepPrediction | None = None
    instance: Instance | None = None

    @property
    def measured(self) -> bool:
        return self.basis.startswith("measured")

    @property
    def label(self) -> str:
        if self.instance_type:
            return self.instance_type
        return "this machine" if self.measured or self.gpu is None else self.gpu

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k not in ("prediction", "instance", "init_parts")}
        d["init_parts"] = [p.to_dict() for p in self.init_parts]
        d["time_by_bound_s"] = self.prediction.time_by_bound_s if self.prediction else {}
        d["host_s"] = self.prediction.host_s if self.prediction else None
        d["device_s"] = self.prediction.device_s if self.prediction else None
        return d


def init_parts(startup_s: float, *, gpu: bool, instance: bool) -> list[Part]:
    """Initialization on the target, part by part: what kpbench measured here and what is published."""
    parts = [Part("process start and imports", startup_s, startup_s / 2, startup_s * 2, "measured", SOURCES["startup"])]
    if gpu:
        lo, mid, hi = CUDA_INIT_S
        parts.append(Part("CUDA context and first use", mid, lo, hi, "published", SOURCES["cuda"]))
    if instance:
        lo, mid, hi = PROVISION_S
        parts.append(Part("instance provisioning", mid, lo, hi, "published", SOURCES["provision"]))
    return parts


def training_s(work: Workload, step: StepPrediction, eval_batch_s: float, band: tuple[float, float],
               ) -> tuple[float, float, float, float | None]:
    """(train_s, low, high, time to target) for the workload: steps × step + epochs × evaluation."""
    per_epoch_eval = work.eval_batches * eval_batch_s
    train = work.steps * step.step_s + work.epochs * per_epoch_eval
    to_target = None
    if work.steps_to_target is not None:
        epochs_to_target = max(1, round(work.epochs * work.steps_to_target / work.steps))
        to_target = work.steps_to_target * step.step_s + epochs_to_target * per_epoch_eval
    return train, train * band[0], train * band[1], to_target


def priced(est: Estimate, inst: Instance | None) -> Estimate:
    """Fill the cost columns from the catalog price (per second, 60 s minimum, over init + training)."""
    if inst is None or est.init_s is None:
        return est
    est.instance, est.price_per_hour = inst, inst.price_per_hour
    est.cost_per_run_usd = billing.cost_usd(est.init_s + est.train_s, inst.price_per_hour)
    est.cost_per_run_usd_low = billing.cost_usd(est.init_s_low + est.train_s_low, inst.price_per_hour)
    est.cost_per_run_usd_high = billing.cost_usd(est.init_s_high + est.train_s_high, inst.price_per_hour)
    return est


def with_init(est: Estimate, parts: list[Part]) -> Estimate:
    est.init_parts = parts
    est.init_s = sum(p.s for p in parts)
    est.init_s_low = sum(p.low_s for p in parts)
    est.init_s_high = sum(p.high_s for p in parts)
    return est


def gpu_notes(g: Gpu, precision: str, requested: str) -> list[str]:
    notes = []
    if requested not in ("auto", precision):
        notes.append(f"{g.name} has no {requested} path: {precision} estimated, as kpbench train would fall back")
    if g.status != "datasheet":
        notes.append(f"{g.name}: {g.status} figures (gpus.csv note)")
    return notes
