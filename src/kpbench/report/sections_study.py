"""The original study's table: its five instances and today's replacements, filled from kpbench estimate
Records, and this machine measured from its bench Record (its step time × the same workload).

Every figure is shown with its band and says whether it was measured or estimated; costs come from the
report's Comparison (kpbench.cost), as everywhere else in the report.
"""

from __future__ import annotations

from kpbench.errors import KpbenchError
from kpbench.estimate.gpus import gpu as gpu_row
from kpbench.estimate.gpus import load_gpus
from kpbench.estimate.measured import measured_estimate
from kpbench.estimate.output import band_text, usd_band
from kpbench.estimate.study import REPLACEMENTS, STUDY_INSTANCES
from kpbench.estimate.workload import Workload
from kpbench.fmt import DASH
from kpbench.report.blocks import Note, Paragraph, Section, Table
from kpbench.report.build import Inputs

SECTION_ID, TITLE = "study", "The original study's table"
COLUMNS = ["Instance", "GPU (what one instance gets)", "Status", "Initialization (s)", "Training (s)", "Price ($/h)",
           "Cost per run ($)", "Basis"]


def study_table(inputs: Inputs) -> Section:
    s = Section(SECTION_ID, TITLE)
    if not inputs.estimates:
        return s.add(Note("the original study's table: run `kpbench estimate --study --out DIR` and pass DIR "
                          "(estimates for its five instances and today's replacements, no GPU needed)"))
    by_type = {r["estimate"]["instance_type"]: r for _, r in inputs.estimates}
    order = [t for t in STUDY_INSTANCES + REPLACEMENTS if t in by_type]
    order += [t for t in by_type if t not in order]
    work = Workload(**{k: v for k, v in inputs.estimates[0][1]["workload"].items() if k in Workload.__dataclass_fields__})
    rows = [_estimate_row(by_type[t], inputs) for t in order]
    rows += [row for _, r in inputs.records if (row := _measured_row(r, work, inputs))]
    s.add(Paragraph(
        "A student team once set out to fill this table for five AWS instances and left it blank; four of the five "
        "can no longer be rented. kpbench fills it: each GPU row is estimated from one training step traced on this "
        "CPU (no GPU), priced on the GPU with a per-operator model fitted to published measurements; this machine "
        "is measured. Every figure reads median (low … high)."))
    s.add(Table(COLUMNS, rows, f"Workload: {work.source}, {work.steps:,} steps, evaluation after each epoch. "
                               "Initialization = process start and imports (measured here) + CUDA context (published) "
                               "+ instance provisioning (published); cost billed per second with EC2's 60 s minimum over "
                               "initialization and training, at the catalog's on-demand price. See docs/estimate.md."))
    return s


def _status(instance) -> str:
    if instance is None:
        return DASH
    if instance.retired:
        return f"retired since {instance.retired_date or 'an unknown date'}" + (
            f" (replacement: {instance.replacement})" if instance.replacement else "")
    return "available"


def _gpu_text(name: str | None) -> str:
    if not name:
        return "none (CPU)"
    if name.upper() in load_gpus():
        return f"{name}: {gpu_row(name).instance_share}"
    return name


def _cost_cells(label: str, inputs: Inputs) -> tuple[str, str]:
    comp = inputs.comparison
    row = next((r for r in (comp.estimates + comp.rows if comp else []) if r.label == label), None)
    if row is None or row.cost_per_run_usd is None:
        return DASH, DASH
    if row.estimated:
        return f"{row.price_per_hour:g}", usd_band(row.cost_per_run_usd, row.cost_low_usd, row.cost_high_usd)
    return f"{row.price_per_hour:g}", f"${row.cost_per_run_usd:.3g}"


def _estimate_row(record: dict, inputs: Inputs) -> list[str]:
    e = record["estimate"]
    inst = inputs.catalog.get(e["instance_type"]) if inputs.catalog is not None else None
    price, cost = _cost_cells(record["label"], inputs)
    basis = "estimated" + ("" if e["calibrated"] else ", outside the calibration (wider band)")
    return [e["instance_type"] or DASH, f"{_gpu_text(e['gpu'])}, {e['precision']}", _status(inst),
            band_text(e["init_s"], e["init_s_low"], e["init_s_high"]),
            band_text(e["train_s"], e["train_s_low"], e["train_s_high"]), price, cost, basis]


def _measured_row(record: dict, work: Workload, inputs: Inputs) -> list[str] | None:
    """A bench Record on the estimates' workload: its measured step and evaluation times × that workload."""
    try:
        est = measured_estimate(record, work, inputs.catalog)
    except KpbenchError as e:
        inputs.warn(f"study table: {e}")
        return None
    machine = record["machine"]
    name = machine.get("instance_type") or record.get("label") or "this machine"
    gpu = machine.get("gpu") or f"none: {machine.get('cpu_model') or 'CPU'}"
    price = DASH if est.price_per_hour is None else f"{est.price_per_hour:g}"
    cost = DASH if est.cost_per_run_usd is None else usd_band(est.cost_per_run_usd, est.cost_per_run_usd_low,
                                                               est.cost_per_run_usd_high)
    return [name, gpu, "measured here", band_text(est.init_s, est.init_s_low, est.init_s_high),
            band_text(est.train_s, est.train_s_low, est.train_s_high), price, cost,
            "measured (step time × this workload's steps)"]
