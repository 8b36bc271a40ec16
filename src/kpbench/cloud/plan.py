"""`kpbench cloud plan`: instance types → priced, budgeted SkyPilot tasks in one directory.

A plan directory holds one ``<instance>.yaml`` per instance type (valid SkyPilot task YAML,
also launchable with ``sky launch``), ``plan.json`` (what ``launch`` reads) and ``dist/`` with
the kpbench wheel every task installs. It is written whole or not at all.
"""

from __future__ import annotations

import difflib
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from kpbench import atomic
from kpbench.bench.record import load_record
from kpbench.cloud.state import PLAN_FILE, PLAN_SCHEMA, read_plan, task_file
from kpbench.cloud.tasks import (
    FILE_NAME,
    LOCAL_PATH,
    REMOTE_DATA_DIR,
    REMOTE_WHEEL_DIR,
    SYNTHETIC_SPEC,
    Workload,
    build_task,
    check_workload_numbers,
    to_yaml,
    torch_index_url,
)
from kpbench.cloud.wheel import build_wheel, check_wheel
from kpbench.cost.billing import cost_usd
from kpbench.cost.catalog import Catalog, Instance, load_catalog
from kpbench.cost.records import median
from kpbench.errors import KpbenchError
from kpbench.inputs import number, shown

__all__ = ["PLAN_FILE", "PLAN_SCHEMA", "Plan", "PlanConfig", "make_plan", "read_plan", "write_plan"]
AUTOSTOP_MINUTES = 10  # SkyPilot's own safety net: an idle cluster goes down after this
MAX_COST_USD = 1e6


@dataclass
class PlanConfig:
    """Everything `cloud plan` is asked. Plain data."""

    instances: list[str]
    workload: Workload = field(default_factory=Workload)
    spot: bool = False
    max_cost_usd: float | None = None
    records: list[Path] = field(default_factory=list)
    catalog: Path | None = None
    wheel: Path | None = None
    replace_retired: bool = False


@dataclass
class Estimate:
    seconds: float
    cost_usd: float
    basis: str  # where the seconds come from


@dataclass
class Entry:
    """One instance type of the plan."""

    instance: Instance
    price_per_hour: float
    price_note: str
    estimate: Estimate
    upper_bound_usd: float  # the most the cluster can cost: --max-minutes, enforced by launch

    @property
    def yaml_name(self) -> str:
        return task_file(self.instance.instance_type)

    def to_dict(self) -> dict:
        return {"instance_type": self.instance.instance_type, "yaml": self.yaml_name,
                "price_per_hour": self.price_per_hour, "price_note": self.price_note,
                "gpu": self.instance.gpu, "gpu_count": self.instance.gpu_count,
                "estimate_s": self.estimate.seconds, "estimate_usd": self.estimate.cost_usd,
                "estimate_basis": self.estimate.basis, "upper_bound_usd": self.upper_bound_usd}


@dataclass
class Plan:
    entries: list[Entry]
    workload: Workload
    spot: bool
    warnings: list[str]
    catalog_path: str
    own_catalog: bool = False  # --catalog given: the clusters' kpbench would not know its prices

    @property
    def total_usd(self) -> float:
        return sum(e.estimate.cost_usd for e in self.entries)

    @property
    def upper_bound_usd(self) -> float:
        return sum(e.upper_bound_usd for e in self.entries)


def make_plan(cfg: PlanConfig) -> Plan:
    """Resolve instances, price and estimate them, check the budget. Writes nothing."""
    w = cfg.workload
    check_workload_numbers(w)
    if cfg.max_cost_usd is not None:
        number(cfg.max_cost_usd, "--max-cost", lo=0, hi=MAX_COST_USD)
    catalog = load_catalog(cfg.catalog)
    _check_model(w.model)
    instances, warnings = resolve_instances(cfg.instances, catalog, replace_retired=cfg.replace_retired)
    records = [load_record(p) for p in cfg.records]
    entries = []
    for inst in instances:
        price, note = price_of(inst, cfg.spot)
        upper = cost_usd(w.max_minutes * 60, price) * w.nodes
        est = _record_estimate(inst, price, w, records, warnings) or Estimate(
            w.max_minutes * 60, upper, f"bound: --max-minutes {w.max_minutes:g}")
        entries.append(Entry(inst, price, note, est, upper))
    plan = Plan(entries, w, cfg.spot, warnings, str(catalog.path), own_catalog=cfg.catalog is not None)
    if cfg.max_cost_usd is not None and plan.total_usd > cfg.max_cost_usd:
        raise KpbenchError(f"the plan's estimated cost ${plan.total_usd:.2f} is above --max-cost "
                           f"${cfg.max_cost_usd:.2f}; nothing written (fewer instances, --repeats or "
                           f"--max-minutes, or a --record of the same workload for a closer estimate)")
    return plan


def _check_model(name: str | None) -> None:
    # Here, not on the cluster: a typo found there has already paid for provisioning.
    from kpbench.models import MODEL_NAMES

    if name is not None and name not in MODEL_NAMES:
        raise KpbenchError(f"unknown model {name!r}; choose one of: {', '.join(MODEL_NAMES)}")


def resolve_instances(names: list[str], catalog: Catalog, *, replace_retired: bool) -> tuple[list[Instance], list[str]]:
    """Catalog rows for ``names``; retired ones are warned about and skipped (or replaced)."""
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise KpbenchError("--instances is empty; name at least one instance type (see `kpbench catalog`)")
    chosen: list[Instance] = []
    warnings: list[str] = []
    for name in names:
        inst = catalog.get(name)
        if inst is None:
            raise KpbenchError(_unknown(name, catalog))
        if inst.retired:
            inst = _retired(inst, catalog, replace_retired, warnings)
        if inst is not None and torch_index_url(inst) is None:
            warnings.append(f"{inst.instance_type}: no current PyTorch build supports its {inst.gpu}; skipped")
            inst = None
        if inst is not None and inst not in chosen:
            chosen.append(inst)
    if not chosen:
        raise KpbenchError("no instance type left to plan (all retired or unsupported); nothing written")
    return chosen, warnings


def _unknown(name: str, catalog: Catalog) -> str:
    close = difflib.get_close_matches(name.lower(), [i.instance_type for i in catalog], n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return (f"unknown instance type {name!r}: not in the catalog {Path(catalog.path).name}{hint}; "
            f"`kpbench catalog` lists them, --catalog FILE adds your own")


def _retired(inst: Instance, catalog: Catalog, replace: bool, warnings: list[str]) -> Instance | None:
    when = f" in {inst.retired_date}" if inst.retired_date else ""
    repl = catalog.get(inst.replacement) if inst.replacement else None
    if repl is None or repl.retired:
        warnings.append(f"{inst.instance_type} was retired by AWS{when} and cannot be launched; "
                        f"the catalog names no replacement; skipped")
        return None
    desc = f"{repl.instance_type} ({repl.gpu_count}× {repl.gpu}, {repl.vcpus} vCPU, ${repl.price_per_hour:g}/h)"
    if replace:
        warnings.append(f"{inst.instance_type} was retired by AWS{when}; planning its nearest replacement {desc}")
        return repl
    warnings.append(f"{inst.instance_type} was retired by AWS{when} and cannot be launched; skipped. "
                    f"Nearest replacement: {desc} (--replace-retired plans it instead)")
    return None


def price_of(inst: Instance, spot: bool) -> tuple[float, str]:
    if not spot:
        return inst.price_per_hour, "on-demand"
    if inst.spot_price_per_hour is not None:
        return inst.spot_price_per_hour, "spot (catalog)"
    return inst.price_per_hour, "spot requested; catalog has no spot price, on-demand shown"


def _record_estimate(inst: Instance, price: float, w: Workload, records: list[dict],
                     warnings: list[str]) -> Estimate | None:
    # Only a Record of this very instance type and workload predicts its time; nodes > 1 run
    # another job (dist scale), which a bench Record does not time.
    if w.nodes > 1:
        return None
    for rec in records:
        if (rec.get("machine") or {}).get("instance_type") != inst.instance_type:
            continue
        differs = _workload_differs(rec, w)
        if differs:
            warnings.append(f"Record {rec.get('label')!r} of {inst.instance_type} ran another workload "
                            f"({differs}); not used for its estimate")
            continue
        per_run_s = median(rec, "init_s") + median(rec, "train_s")
        provision_s = (rec.get("cloud") or {}).get("provision_s")
        seconds = (provision_s or 0.0) + w.repeats * per_run_s
        basis = f"Record {rec.get('label') or inst.instance_type}: {w.repeats} × {per_run_s:.0f} s"
        basis += f" + provisioning {provision_s:.0f} s" if provision_s else " (provisioning not included)"
        return Estimate(seconds, cost_usd(seconds, price), basis)
    return None


def _workload_differs(rec: dict, w: Workload) -> str:
    cfg = rec.get("config") or {}
    wanted = {"model": w.model, "epochs": w.epochs}
    diffs = [f"{k} {cfg.get(k)!r}, plan {v!r}" for k, v in wanted.items() if v is not None and cfg.get(k) != v]
    return "; ".join(diffs)


def write_plan(plan: Plan, out_dir: Path, *, wheel: Path | None, data: str) -> Path:
    """All files, or none: built in a temporary sibling directory, then renamed to ``out_dir``."""
    out_dir = Path(out_dir).absolute()
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise KpbenchError(f"{out_dir}: already exists and is not empty; choose a new --out")
    if not LOCAL_PATH.fullmatch(str(out_dir)):
        raise KpbenchError(f"--out {shown(str(out_dir))}: the tasks name it for SkyPilot to copy from, and it holds "
                           "quotes, $, ` or \\; choose a directory of letters, digits, spaces and - _ . , + = @")
    data_remote, data_mounts = _data_mounts(data)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    try:
        tmp.chmod(0o777 & ~atomic._UMASK)  # mkdtemp makes 0700; a plan is shared like any result
        (tmp / "dist").mkdir()
        if wheel is not None:
            built = Path(shutil.copy2(check_wheel(wheel), tmp / "dist" / wheel.name))
        else:
            built = build_wheel(tmp / "dist")
        mounts = {f"{REMOTE_WHEEL_DIR}/{built.name}": str(out_dir / "dist" / built.name), **data_mounts}
        workload = Workload(**{**plan.workload.to_dict(), "data": data_remote})
        for e in plan.entries:
            # The shipped catalog travels in the wheel; a spot or own-catalog price must be passed along.
            price = e.price_per_hour if plan.spot or plan.own_catalog else None
            task = build_task(e.instance, workload, wheel_name=built.name, mounts=mounts,
                              use_spot=plan.spot, price_per_hour=price)
            atomic.write_text(tmp / e.yaml_name, to_yaml(task))
        atomic.write_json(tmp / PLAN_FILE, {**_plan_json(plan, built.name, workload), "plan_dir": str(out_dir)})
        if out_dir.exists():
            out_dir.rmdir()
        os.rename(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out_dir


def _data_mounts(data: str) -> tuple[str, dict[str, str]]:
    """(the --data the task passes, {remote path: local file} for SkyPilot to copy): the Kaggle files only."""
    if SYNTHETIC_SPEC.fullmatch(data):
        return data, {}
    if data.startswith("synthetic"):
        raise KpbenchError(f"--data {shown(data)}: expected 'synthetic', 'synthetic:ROWS' or 'synthetic:ROWS:SEED'")
    from kpbench.data.dataset_files import dataset_files

    local = Path(data).expanduser()
    try:
        files = dataset_files(local)
    except KpbenchError as e:
        raise KpbenchError(f"--data: {e}") from None
    mounts = {}
    for f in files:
        if not FILE_NAME.fullmatch(f.name):
            raise KpbenchError(f"--data: {shown(f.name)}: rename it to letters, digits and . _ + - (it names a "
                               "file on the cluster)")
        mounts[f"{REMOTE_DATA_DIR}/{f.name}"] = str(f.resolve())
    remote = REMOTE_DATA_DIR if local.is_dir() else f"{REMOTE_DATA_DIR}/{local.name}"
    return remote, mounts


def _plan_json(plan: Plan, wheel_name: str, workload: Workload) -> dict:
    from kpbench import __version__

    return {"schema": PLAN_SCHEMA, "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "kpbench": __version__, "wheel": wheel_name, "catalog": plan.catalog_path,
            "use_spot": plan.spot, "autostop_minutes": AUTOSTOP_MINUTES, "workload": workload.to_dict(),
            "total_estimate_usd": plan.total_usd, "upper_bound_usd": plan.upper_bound_usd,
            "warnings": plan.warnings, "entries": [e.to_dict() for e in plan.entries]}
