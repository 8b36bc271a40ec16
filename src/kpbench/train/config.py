"""TrainConfig: every hyperparameter and default of a training run, in one plain dataclass."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields

from kpbench.data import MISSING_STRATEGIES
from kpbench.errors import KpbenchError
from kpbench.inputs import number
from kpbench.models import DEFAULT_MODEL, MODEL_NAMES

OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("onecycle", "cosine", "constant")
# How the peak learning rate grows with the global batch (per-worker batch x workers): none,
# linear (Goyal et al. 2017, for SGD) or sqrt (the rule for Adam-type optimizers, Malladi et al.
# 2022). sqrt is the default because AdamW is; the one-cycle warm-up ramps up to the scaled rate.
LR_SCALINGS = ("sqrt", "linear", "none")
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("auto", "fp32", "bf16")
# Fields that may change between a run and its --resume (how long it goes on); all others
# define the run: a directory holding a run with other values is another run.
EXTENSION_FIELDS = ("epochs", "time_budget_s", "target_rmse_px", "stop_at_target", "device", "threads", "channels_last",
                    "compile")
DEFAULT_EPOCHS = 30  # when neither epochs nor a time budget is given
# The most each may be: beyond, a typo (or a hand-edited checkpoint) that no machine could run.
_MAX = {"batch_size": 1 << 20, "eval_batch_size": 1 << 20, "lr": 1e3, "epochs": 10**6, "time_budget_s": 1e8,
        "target_rmse_px": 1e9, "threads": 4096}
COMM_HOOKS_HELP = "none (plain fp32 all-reduce), fp16, bf16 (compressed to half), powersgd:R (PowerSGD rank R, 1-4)"


def parse_comm_hook(text: str) -> tuple[str, int]:
    """A data-parallel gradient hook: 'none' | 'fp16' | 'bf16' | 'powersgd:R' → (name, rank); ValueError otherwise."""
    m = re.fullmatch(r"(none|fp16|bf16)|powersgd:([1-9][0-9]{0,2})", str(text).strip().lower())
    if not m:
        raise ValueError(f"comm hook {text!r} is not one of: {COMM_HOOKS_HELP}")
    return (m.group(1), 0) if m.group(1) else ("powersgd", int(m.group(2)))


@dataclass
class TrainConfig:
    model: str = DEFAULT_MODEL
    epochs: int | None = None  # None: DEFAULT_EPOCHS, or as many as the time budget allows
    time_budget_s: float | None = None  # training wall clock (per-epoch evaluation included)
    target_rmse_px: float | None = None  # stop when validation RMSE reaches this
    stop_at_target: bool = True  # False: note when the target was reached and train on to the budget or epochs
    batch_size: int = 32  # twice the steps of 64 at 0.94x the images/s (1 CPU thread): better RMSE in the same time
    optimizer: str = "adamw"
    lr: float = 5e-3  # peak learning rate (5e-3 beat 2e-3 and 1e-2 for bncnn at 12 epochs)
    weight_decay: float = 5e-4
    schedule: str = "onecycle"  # over the epochs, or over the time budget's elapsed fraction
    warmup_frac: float = 0.15  # one-cycle: share of the run spent ramping up
    missing: str = "mask"  # mask: loss ignores missing labels; ffill/drop via kpbench.data.apply_missing
    val_frac: float = 0.15
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"  # auto: bf16 on CUDA; on a CPU, what a short measurement finds fastest (train.speed)
    threads: int | None = None  # torch CPU threads; None: on a CPU, measured (train.speed), else torch's default
    channels_last: bool | None = None  # memory layout of images and weights; None: measured on a CPU, else True
    compile: bool = False  # torch.compile the network (its first compile costs a minute on a small CPU: train.speed)
    augment: bool = True  # shift/scale/rotation, applied on the device in whole batches
    flip: bool = True  # horizontal flip, swapping left/right keypoints
    shift_px: float = 4.0
    scale_frac: float = 0.06
    rotate_deg: float = 10.0
    contrast_frac: float = 0.3  # photometric: contrast x (1 ± this)
    brightness: float = 0.3  # photometric: ± this many pixel standard deviations
    eval_batch_size: int = 512
    lr_scaling: str = "sqrt"  # peak lr x f(workers) for data-parallel runs; 1 worker: lr unchanged
    comm_hook: str = "none"  # data parallel: gradient hook none, fp16, bf16 or powersgd:R (train/ddp.py)
    sync_batchnorm: bool = False  # data parallel: BatchNorm statistics over the global batch, not each worker's

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise KpbenchError(f"unknown config fields: {', '.join(sorted(unknown))}")
        return cls(**d)

    def identity(self) -> dict:
        """The fields that say which run this is (see EXTENSION_FIELDS)."""
        return {k: v for k, v in self.to_dict().items() if k not in EXTENSION_FIELDS}

    def validate(self) -> TrainConfig:
        """Every field of its kind: a choice among the allowed, a number finite and in range (from an option,
        or from a checkpoint's config when resuming)."""
        choices = {
            "model": MODEL_NAMES, "optimizer": OPTIMIZERS, "schedule": SCHEDULES, "missing": MISSING_STRATEGIES,
            "device": DEVICES, "precision": PRECISIONS, "lr_scaling": LR_SCALINGS,
        }
        for name, allowed in choices.items():
            if getattr(self, name) not in allowed:
                raise KpbenchError(f"{name} {getattr(self, name)!r} is not one of: {', '.join(allowed)}")
        positive = {"batch_size": self.batch_size, "lr": self.lr, "eval_batch_size": self.eval_batch_size}
        positive |= {k: v for k, v in (("epochs", self.epochs), ("time_budget_s", self.time_budget_s),
                                       ("target_rmse_px", self.target_rmse_px), ("threads", self.threads)) if v is not None}
        for name, value in positive.items():
            if not value > 0:
                raise KpbenchError(f"{name} must be positive, got {value}")
            number(value, name, lo=0, hi=_MAX[name], integer=name in ("batch_size", "eval_batch_size", "epochs", "threads"))
        try:
            parse_comm_hook(self.comm_hook)
        except ValueError as e:
            raise KpbenchError(str(e)) from None
        if not isinstance(self.seed, int) or self.seed < 0:
            raise KpbenchError(f"seed must be a whole number >= 0, got {self.seed}")
        number(self.seed, "seed", lo=0, hi=2**32 - 1, integer=True)  # torch and numpy take no larger one
        if not 0 < self.val_frac < 1:
            raise KpbenchError(f"val_frac must lie between 0 and 1, got {self.val_frac}")
        number(self.contrast_frac, "contrast_frac", lo=0, hi=0.99)  # 1 or more could invert or blank an image
        number(self.brightness, "brightness", lo=0, hi=10)
        return self

    def scaled_lr(self, workers: int) -> float:
        """The peak learning rate for ``workers`` data-parallel workers (global batch = batch_size x workers)."""
        factor = {"none": 1.0, "linear": float(workers), "sqrt": float(workers) ** 0.5}[self.lr_scaling]
        return self.lr * factor if workers > 1 else self.lr

    @property
    def planned_epochs(self) -> int | None:
        """The epoch count the schedule spans; None when the time budget drives it."""
        if self.epochs is not None:
            return self.epochs
        return None if self.time_budget_s is not None else DEFAULT_EPOCHS


def resolve_device(name: str) -> str:
    import torch

    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise KpbenchError("device cuda asked for, but torch sees no CUDA GPU")
    return name


def cpuinfo_text() -> str:
    """/proc/cpuinfo ("" where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            return f.read()
    except OSError:
        return ""


def cpu_has_native_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matmul/conv run natively, so autocast pays off."""
    flags = cpuinfo_text()
    if "avx512_bf16" in flags or "amx_bf16" in flags:
        return True
    import torch

    return torch.backends.cpu.get_cpu_capability() in ("AVX512_BF16", "AMX")  # not all builds report these


def resolve_precision(name: str, device: str, model: str | None = None) -> str:
    """fp32 or bf16 for evaluation and prediction. auto: bf16 on CUDA with bf16, fp32 on a CPU.

    Training's auto on a CPU is measured instead (kpbench.train.speed); a forward pass over a
    test set is short, so prediction keeps fp32's last digits.
    """
    import torch

    if name != "auto":
        if name == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
            raise KpbenchError("precision bf16 asked for, but this GPU has no bf16 support")
        return name
    if device == "cuda":
        # Native bf16 only (Ampere on): torch's is_bf16_supported() also says yes to the emulated bf16 of a
        # V100 or T4, which has no bf16 tensor cores and trains slower than fp32.
        return "bf16" if torch.cuda.get_device_capability()[0] >= 8 else "fp32"
    return "fp32"
