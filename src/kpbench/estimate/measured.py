"""A bench Record as a row of the study: measured figures beside the estimates, labelled as measured.

When the workload is the Record's own, its medians are shown as they are (band: min … max over
repeats); for another workload its measured step time (batch / images_per_s) and evaluation time per
epoch are scaled to that workload's steps, and the row says so.
"""

from __future__ import annotations

from kpbench.errors import KpbenchError
from kpbench.estimate import study
from kpbench.estimate.workload import Workload, from_record, split_rows


def _fig(record: dict, name: str) -> dict | None:
    return record["figures"].get(name)


def measured_estimate(record: dict, work: Workload, catalog) -> study.Estimate:
    machine, cfg = record["machine"], record["config"]
    step, step_low, step_high = _step_s(record, work)
    own = work.record is record
    if own:
        train = _fig(record, "train_s")
        train_s, train_low, train_high = train["median"], min(train["values"]), max(train["values"])
        ttt = _fig(record, "time_to_target_s")
        to_target = ttt["median"] if ttt else None
        how = "measured: the Record's own medians (band: min … max over its repeats)"
    else:
        eval_epoch = _eval_per_epoch(record) * work.val_rows
        train_s = work.steps * step + work.epochs * eval_epoch
        train_low = work.steps * step_low + work.epochs * eval_epoch
        train_high = work.steps * step_high + work.epochs * eval_epoch
        to_target = None
        how = "measured: the Record's step time and evaluation per row × this workload's steps and rows"
    init = _fig(record, "init_s")
    inst = catalog.get(machine.get("instance_type"))
    label_gpu = machine.get("gpu")
    est = study.Estimate(
        gpu=label_gpu, instance_type=machine.get("instance_type"), precision=str(cfg.get("precision") or "fp32"),
        step_s=step, step_s_low=step_low, step_s_high=step_high, images_per_s=work.batch_size / step, bound="measured",
        train_s=train_s, train_s_low=train_low, train_s_high=train_high, init_s=init["median"],
        init_s_low=min(init["values"]), init_s_high=max(init["values"]), cost_per_run_usd=None,
        cost_per_run_usd_low=None, cost_per_run_usd_high=None, basis=how, calibrated=True, time_to_target_s=to_target,
        init_parts=[study.Part("measured initialization (imports, device, data, model)", init["median"],
                               min(init["values"]), max(init["values"]), "measured", record.get("label") or "Record")],
        notes=[] if inst else ["no price (not a catalog instance)"])
    return study.priced(est, inst)


def _step_s(record: dict, work: Workload) -> tuple[float, float, float]:
    """(median, low, high) seconds per step: batch / steady images_per_s; a Record too short for a steady rate
    (warm-up took every step) falls back on its training time over its steps."""
    batch = int(record["config"].get("batch_size") or work.batch_size)
    ips = _fig(record, "images_per_s")
    if ips and min(ips["values"]) > 0:
        return batch / ips["median"], batch / max(ips["values"]), batch / min(ips["values"])
    train, steps = _fig(record, "train_s"), from_record(record, "Record").steps
    if not steps or not train["median"] > 0:
        raise KpbenchError(f"Record {record.get('label') or ''}: no measured step time (no steady throughput, "
                           "no training time)")
    return train["median"] / steps, min(train["values"]) / steps, max(train["values"]) / steps


def _eval_per_epoch(record: dict) -> float:
    """Measured evaluation seconds per validation row (per epoch)."""
    cfg = record["config"]
    ev, epoch_count = _fig(record, "eval_s"), cfg.get("epochs") or 1
    _, val = split_rows(int(cfg.get("rows") or 2))
    return (ev["median"] if ev else 0.0) / epoch_count / max(1, val)
