"""Records × catalog → one Comparison: cost per run, cost to target, the Pareto front, verdicts.

Every export (terminal table, JSON, CSV, Markdown, charts, the report) reads the
Comparison; none of them computes a cost of its own.

Method (stated in every export):
- time of a run = init_s + train_s, the medians of the Record's repeats; billed
  seconds = max(60, ceil(provision_s + time)) (EC2 Linux per-second billing;
  provision_s, the instance's start-up, only in Records of cloud runs).
- "A is r ± σ× faster than B": r = mean_B / mean_A of the per-repeat init_s +
  train_s; σ propagated from both standard deviations, σ_r = r·√((σ_A/μ_A)² +
  (σ_B/μ_B)²), as hyperfine does. One repeat gives no spread and says so.
- cost ratios are ratios of cost_per_run_usd: billing is a function of time, so
  its spread is the time's.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path

from kpbench.bench.record_types import Machine, Record
from kpbench.cost import billing
from kpbench.cost.catalog import Catalog, Instance, load_catalog
from kpbench.cost.records import as_record, median, run_totals_s, spread
from kpbench.cost.types import Comparison, EstimatedRun, Mismatch, Row
from kpbench.cost.verdicts import pareto_front, verdicts
from kpbench.errors import KpbenchError

# Config fields that change the work done: Records differing in one are not timed on
# the same job, so a ratio between them is flagged, not silently reported.
COMPARED_CONFIG: tuple[str, ...] = (
    "model", "data_sha256", "rows", "batch_size", "precision", "epochs", "time_budget_s",
    "target_rmse_px", "missing",
)
METHOD = (
    "time = init_s + train_s (medians over repeats; per-epoch evaluation is inside train_s); "
    "billed_s = max(60, ceil(time + provision_s of a cloud run)); cost = billed_s/3600 × price_per_hour (whole instance); "
    "cost to target = billed(init_s + time_to_target_s, + provision_s); per million images = price/3600 / images_per_s × 1e6; "
    "'r ± σ× faster' = ratio of the means of per-repeat init_s + train_s, σ propagated from both "
    "standard deviations (σ_r = r·√((σa/μa)² + (σb/μb)²))"
)


def compare(
    records: Iterable[Record | str | Path],
    catalog: Catalog | None = None,
    *,
    price_per_hour: float | None = None,
    spot: bool = False,
    estimates: Iterable[EstimatedRun] = (),
) -> Comparison:
    """Price each Record: its own machine.price_per_hour, else ``price_per_hour``, else the catalog.

    ``estimates`` (kpbench estimate's, read by kpbench.estimate) are priced from the catalog the same way
    but kept apart: their own rows, band and Pareto front, never mixed with measured rows.
    """
    if price_per_hour is not None and (not math.isfinite(price_per_hour) or price_per_hour < 0):
        raise KpbenchError(f"--price-per-hour must be a non-negative number, got {price_per_hour}")
    catalog = catalog if catalog is not None else load_catalog()
    recs = [as_record(r, f"Record {i}") for i, r in enumerate(records, 1)]
    estimated = _estimate_rows(list(estimates), catalog, spot)
    if not recs and not estimated:
        raise KpbenchError("no Records to compare")
    labels = unique_labels(recs)
    rows = [_row(label, rec, catalog, price_per_hour, spot) for label, rec in zip(labels, recs)]
    rows.sort(key=lambda r: (r.cost_per_run_usd is None, r.cost_per_run_usd or 0.0, r.time_s, r.label))
    front = pareto_front([(r.label, r.time_s, r.cost_per_run_usd) for r in rows if r.cost_per_run_usd is not None])
    for r in rows:
        r.pareto = r.label in front
    priced = [r for r in rows if r.cost_per_run_usd is not None]
    to_target = [r for r in rows if r.cost_to_target_usd is not None]
    cheapest = priced[0].label if priced else None
    cheapest_to_target = min(to_target, key=lambda r: (r.cost_to_target_usd, r.time_s)).label if to_target else None
    # The same statistic the speed ratios divide (mean of per-repeat init + train), so
    # a verdict never says the fastest ran 0.97× faster than another.
    fastest = min(rows, key=lambda r: (r.time_mean_s, r.label)).label if rows else None
    mismatches = config_mismatches(labels, recs)
    est_priced = [r for r in estimated if r.cost_per_run_usd is not None]
    comp = Comparison(
        rows=rows, cheapest=cheapest, cheapest_to_target=cheapest_to_target, fastest=fastest,
        pareto=[r.label for r in rows if r.pareto], verdicts=[], config_mismatches=mismatches,
        spot=spot, catalog_path=str(catalog.path), method=METHOD, estimates=estimated,
        estimate_pareto=[r.label for r in estimated if r.pareto],
        cheapest_estimate=est_priced[0].label if est_priced else None,
    )
    comp.verdicts = verdicts(comp)
    return comp


def _estimate_rows(estimates: list[EstimatedRun], catalog: Catalog, spot: bool) -> list[Row]:
    """Estimated rows priced from the catalog (on-demand, or spot where known), sorted by cost, on their own front."""
    rows = [_estimate_row(e, catalog.get(e.instance_type), spot) for e in estimates]
    rows.sort(key=lambda r: (r.cost_per_run_usd is None, r.cost_per_run_usd or 0.0, r.time_s, r.label))
    front = pareto_front([(r.label, r.time_s, r.cost_per_run_usd) for r in rows if r.cost_per_run_usd is not None])
    for r in rows:
        r.pareto = r.label in front
    return rows


def _estimate_row(e: EstimatedRun, inst: Instance | None, spot: bool) -> Row:
    time_s, low, high = e.init_s + e.train_s, e.init_low_s + e.train_low_s, e.init_high_s + e.train_high_s
    price = source = None
    if inst is not None:
        use_spot = spot and inst.spot_price_per_hour is not None
        price = inst.spot_price_per_hour if use_spot else inst.price_per_hour
        source = f"catalog {'spot' if use_spot else 'on-demand'}, {inst.price_date}"

    def cost(seconds: float) -> float | None:
        return None if price is None else billing.cost_usd(seconds, price)

    machine = e.instance_type or f"{e.gpu or 'CPU'} (no instance)"
    return Row(
        label=e.label, machine=machine, instance_type=e.instance_type, gpu=e.gpu or (inst.gpu if inst else None),
        gpus_used=1 if e.gpu else 0, instance_gpu_count=inst.gpu_count if inst else None, price_per_hour=price,
        price_source=source, init_s=e.init_s, train_s=e.train_s, time_s=time_s, time_mean_s=time_s, time_stdev_s=0.0,
        time_min_s=low, time_max_s=high, repeats=0, images_per_s=e.images_per_s, time_to_target_s=e.time_to_target_s,
        billed_s=billing.billed_s(time_s), cost_per_run_usd=cost(time_s),
        cost_to_target_usd=None if e.time_to_target_s is None else cost(e.init_s + e.time_to_target_s),
        cost_per_million_images_usd=(None if price is None or not e.images_per_s
                                     else billing.cost_per_million_images_usd(e.images_per_s, price)),
        retired=bool(inst and inst.retired), note=f"estimate ({e.basis})", estimated=True, time_low_s=low,
        time_high_s=high, cost_low_usd=cost(low), cost_high_usd=cost(high))


def config_mismatches(labels: list[str], records: list[Record]) -> list[Mismatch]:
    """Config fields (and the data load path) whose values differ between the Records."""
    found = []
    for name in COMPARED_CONFIG + ("data_load",):
        values = {
            label: (rec["data_load"] if name == "data_load" else rec["config"].get(name))
            for label, rec in zip(labels, records)
        }
        if len({repr(v) for v in values.values()}) > 1:
            found.append(Mismatch(name, values))
    return found


def unique_labels(records: list[Record]) -> list[str]:
    """One label per Record: its label, else its instance type, else "record N"; repeats get " #2" …"""
    labels, seen = [], {}
    for i, rec in enumerate(records, 1):
        base = rec["label"] or rec["machine"]["instance_type"] or f"record {i}"
        seen[base] = seen.get(base, 0) + 1
        labels.append(base if seen[base] == 1 else f"{base} #{seen[base]}")
    return labels


def _row(label: str, rec: Record, catalog: Catalog, price_override: float | None, spot: bool) -> Row:
    machine = rec["machine"]
    itype = machine["instance_type"] or None
    inst = catalog.get(itype)
    notes: list[str] = []
    price, source = _price(machine, inst, price_override, spot, notes)
    display = _machine_name(machine, itype, inst, price, notes)
    if inst is not None:
        notes += _instance_notes(rec, inst)
    init_s, train_s = median(rec, "init_s"), median(rec, "train_s")
    time_s = init_s + train_s
    billed_time_s = provision_s(rec) + time_s  # a cloud run pays for its boot too
    totals = run_totals_s(rec)
    mean_s, stdev_s = spread(totals)
    images_per_s = median(rec, "images_per_s", required=False)
    ttt_s = median(rec, "time_to_target_s", required=False)
    if ttt_s is None and rec["config"]["target_rmse_px"] is not None:
        notes.append("target RMSE not reached: no cost to target")
    return Row(
        label=label, machine=display, instance_type=itype,
        gpu=machine["gpu"] or (inst.gpu if inst else None),
        gpus_used=int(machine["gpu_count"]), instance_gpu_count=inst.gpu_count if inst else None,
        price_per_hour=price, price_source=source,
        init_s=init_s, train_s=train_s, time_s=time_s,
        time_mean_s=mean_s, time_stdev_s=stdev_s, time_min_s=min(totals), time_max_s=max(totals),
        repeats=len(totals), images_per_s=images_per_s, time_to_target_s=ttt_s,
        billed_s=billing.billed_s(billed_time_s),
        cost_per_run_usd=None if price is None else billing.cost_usd(billed_time_s, price),
        cost_to_target_usd=(None if price is None or ttt_s is None
                            else billing.cost_usd(billed_time_s - train_s + ttt_s, price)),
        cost_per_million_images_usd=(
            None if price is None or not images_per_s else billing.cost_per_million_images_usd(images_per_s, price)
        ),
        retired=bool(inst and inst.retired),
        note="; ".join(notes),
    )


def provision_s(rec: Record) -> float:
    """Seconds a cloud run spent starting its instance (Record ``cloud.provision_s``); 0 elsewhere."""
    return float(rec.get("cloud", {}).get("provision_s", 0.0))


def _price(machine: Machine, inst: Instance | None, override: float | None, spot: bool,
           notes: list[str]) -> tuple[float | None, str | None]:
    """(USD per hour, where it came from): the Record's own price, else the flag, else the catalog."""
    own = machine["price_per_hour"]
    # A price copied from the catalog at bench time (older Records) is not the user's
    # override: the catalog in use now (its date, --spot, --catalog) decides.
    if own is not None and machine.get("price_source") != "catalog":
        if inst is not None:
            notes.append(f"the Record's own price {own:g} $/h, not the catalog's {inst.price_per_hour:g}")
        return float(own), "Record (machine.price_per_hour)"
    if override is not None:
        return float(override), "--price-per-hour"
    if inst is None:
        return None, None
    if spot and inst.spot_price_per_hour is not None:
        return inst.spot_price_per_hour, f"catalog spot, {inst.price_date}"
    if spot:
        notes.append("no spot price in the catalog: on-demand price used")
    return inst.price_per_hour, f"catalog on-demand, {inst.price_date}"


def _machine_name(machine: Machine, itype: str | None, inst: Instance | None, price: float | None,
                  notes: list[str]) -> str:
    """The instance type, or "local (<gpu or cpu>)"; notes why a row has no cost."""
    if itype is None:
        if price is None:
            notes.append("local machine, no instance type or price: no cost")
        return "local (" + (machine["gpu"] or machine["cpu_model"] or "unknown machine") + ")"
    if inst is None:
        unpriced = "" if price is not None else " and no price was given: no cost"
        notes.append(f"{itype} is not in the catalog{unpriced}")
    return itype


def _instance_notes(rec: Record, inst: Instance) -> list[str]:
    """What a reader must know about the catalog instance: retired, whole-instance billing, GPU mismatch."""
    machine, notes = rec["machine"], []
    gpus_used = int(machine["gpu_count"])
    if inst.retired:
        notes.append(f"{inst.instance_type} is retired" + (f" ({inst.retired_date})" if inst.retired_date else "")
                     + ": historical price")
    if inst.gpu_count > 1 or gpus_used != inst.gpu_count:
        device = rec["config"]["device"]
        plural = "s" if inst.gpu_count != 1 else ""
        notes.append(f"whole instance billed ({inst.gpu_count} GPU{plural}); the Record's machine saw {gpus_used}"
                     + (f", config.device={device}" if device else ""))
    if inst.gpu and machine["gpu"] and inst.gpu.lower() not in machine["gpu"].lower():
        notes.append(f"Record GPU {machine['gpu']!r} is not the catalog's {inst.gpu}: check the instance type")
    if inst.gpu_purpose == "graphics":
        notes.append(f"{inst.gpu} is a graphics GPU")
    return notes
