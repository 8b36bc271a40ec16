"""Section 9: distributed training, from Records of kind "dist-scale" (``kpbench dist scale``) and
"dist-tta" (``kpbench dist tta`` and benchmarks/dist_convergence.py).

Scaling chart, stacked time split, the α-β check, the break-even table and the accuracy table,
all read from the Records; the charts are kpbench.scaling.charts', so the report draws what
``dist scale --out`` drew. A dist-tta Record is the convergence table: time to a target RMSE,
final RMSE, images/s and bytes sent per step, per configuration, with the spread over repeats.
"""

from __future__ import annotations

from pathlib import Path

from kpbench.fmt import DASH, num
from kpbench.report.blocks import Figure, Note, Paragraph, Section, Table
from kpbench.report.build import Inputs


def _ms(v: float | None) -> str:
    return DASH if v is None else f"{v * 1e3:.1f}"


def _pct(v: float | None) -> str:
    return DASH if v is None else f"{v * 100:+.1f} %"


def distributed(inputs: Inputs) -> Section | None:
    """The section, or None when no dist-scale Record was given."""
    if not inputs.scaling:
        return None
    s = Section("scaling", "9. Distributed training")
    s.add(Paragraph(
        "Each worker count ran as a fresh torchrun job (DistributedDataParallel, gloo on CPU, NCCL on CUDA) with the "
        "same total cores, threads per worker = cores ÷ workers. A timed communication hook notes when each gradient "
        "bucket is ready and when its all-reduce completes: communication after the last bucket is ready is exposed, "
        "the rest overlapped with backward. The α-β model (ring all-reduce, T = 2(n−1)α + 2(n−1)/n·S·β) is fitted "
        "to an all-reduce microbenchmark and checked against every measured step; see docs/distributed.md."))
    for i, (path, rec) in enumerate(inputs.scaling):
        if rec.get("kind") == "dist-tta":
            _add_tta(s, path, rec)
        elif not isinstance(rec.get("rows"), list):
            s.add(_legacy_table(path, rec))
        else:
            _add_record(s, i, path, rec)
    return s


def _mean_sd(sp: dict | None, digits: int = 1) -> str:
    if not sp:
        return DASH
    return f"{sp['mean']:.{digits}f}" + (f" ± {sp['stdev']:.{digits}f}" if sp["n"] > 1 else "")


def _add_tta(s: Section, path: Path, rec: dict) -> None:
    """The convergence table of one dist-tta Record, and what it says in a line per configuration."""
    from kpbench.scaling.output import verdicts

    cfg = rec.get("config") or {}
    rows = []
    for r in rec.get("rows") or []:
        sp = r.get("spread") or {}
        ttt = (_mean_sd(sp.get("time_to_target_s")) if r.get("time_to_target_s") is not None
               else f"not reached ({r.get('target_reached', 0)}/{r.get('repeats', 0)})")
        sent = DASH if r.get("sent_bytes_per_step") is None else f"{r['sent_bytes_per_step'] / 1e6:.2f}"
        rows.append([str(r.get("variant")), str(r.get("nproc")), str(r.get("global_batch") or DASH),
                     _mean_sd(sp.get("final_val_rmse_px"), 2), ttt, _mean_sd(sp.get("images_per_s"), 0), sent,
                     str(r.get("repeats"))])
    budget = cfg.get("budget_s")
    past = any((r.get("settings") or {}).get("stop_at_target") is False for r in rec.get("rows") or [])
    how = (f"for the {budget:g} s budget, the time to target noted on the way" if past and budget else
           "to the target RMSE" + (f" within {budget:g} s" if budget else ""))
    s.add(Paragraph(f"{rec.get('label') or path.name} ({path.name}).", small=True))
    s.add(Table(["Configuration", "Workers", "Global batch", "Val RMSE (px)", f"Time to {cfg.get('target_rmse_px')} px (s)",
                 "Images/s", "Sent per step per worker (MB)", "Runs"], rows,
                f"Each run a fresh torchrun job of `kpbench train` {how}; mean ± σ over the runs. Time to target: training "
                "wall clock, per-epoch validation included, at the first epoch whose validation RMSE reached it."))
    lines = verdicts(rec) if rec.get("rows") else []
    if lines:
        s.add(Paragraph(" ".join(f"{v}." for v in lines)))


def _legacy_table(path: Path, rec: dict) -> Table:
    # a scaling Record from before kpbench.dist-scale/1: show what it says
    workers = str(rec.get("workers", rec.get("nodes", DASH)))
    train = ((rec.get("figures") or {}).get("train_s") or {}).get("median")
    return Table(["Record", "Workers", "Train (s)"], [[str(rec.get("label") or path.name), workers, num(train)]],
                 "Scaling Record without per-step figures.")


def _add_record(s: Section, i: int, path: Path, rec: dict) -> None:
    from kpbench.scaling import charts

    label = str(rec.get("label") or path.name)
    s.add(Paragraph(f"{label} ({path.name}).", small=True))
    s.add(_rows_table(rec))
    s.add(Figure(f"dist-scaling-{i}.png", charts.scaling_png(rec),
                 "Efficiency (speedup over one worker ÷ workers): measured with the same total cores, and "
                 "predicted by the α-β model for clusters with a machine per worker, at fixed per-worker batch "
                 "(solid) and fixed global batch (dashed)."))
    s.add(Figure(f"dist-time-split-{i}.png", charts.time_split_png(rec),
                 "Median step split: forward, backward, exposed communication, optimizer; the bar's outline is "
                 "the step timed whole."))
    checks = rec["prediction"].get("checks") or []
    if checks:
        s.add(Table(["Workers", "Measured step (ms)", "Predicted step (ms)", "Error", "No-overlap bound (ms)", "Error "],
                    [[str(c["nproc"]), _ms(c["measured_step_s"]), _ms(c["predicted_step_s"]), _pct(c["error"]),
                      _ms(c.get("serial_step_s")), _pct(c.get("serial_error"))] for c in checks], _fit_caption(rec)))
    if rec["prediction"].get("break_even"):
        s.add(_break_even_table(rec))
    if rec.get("compare"):
        s.add(_compare_table(rec))
    else:
        s.add(Note("accuracy at a fixed budget: this Record has no comparison (run `kpbench dist scale --compare-hooks`)"))


def _rows_table(rec: dict) -> Table:
    rows = [[f"{r['nproc']} × {r['threads']}", _ms(r["step_s"]), _ms(r["forward_s"]), _ms(r["backward_s"]),
             _ms(r["comm_s"]), _ms(r["exposed_comm_s"]), _ms(r["optimizer_s"]), _pct(r["parts_error"]),
             num(r["images_per_s"], 0), DASH if r["speedup"] is None else f"{r['speedup']:.2f}×"]
            for r in rec["rows"]]
    return Table(["Workers × threads", "Step (ms)", "Forward (ms)", "Backward (ms)", "Comm span (ms)", "Exposed (ms)",
                  "Optimizer (ms)", "Parts vs step", "Images/s", "Speedup"], rows,
                 f"Medians over timed steps; {rec['config']['model']}, batch {rec['config']['batch_size']} per worker, "
                 f"hook {rec['config']['comm_hook']}. 'Parts vs step': forward + backward + exposed + optimizer + stop agreement "
                 "against the step timed as a whole.")


def _fit_caption(rec: dict) -> str:
    ar = rec["allreduce"]
    if ar.get("alpha_s") is None:
        return "α-β check."
    return (f"α-β model against measurement: α = {ar['alpha_s'] * 1e6:.0f} µs, β = {ar['beta_s_per_byte'] * 1e9:.2f} ns/byte "
            f"(≈ {ar['link_gbit_per_s']:.2f} Gbit/s), fitted to the all-reduce microbenchmark. Predicted: "
            "communication overlaps backward at link speed; no-overlap bound: compute + the whole all-reduce.")


def _break_even_table(rec: dict) -> Table:
    pred = rec["prediction"]
    by = {(b["link"], b["batch_mode"]): b["nproc"] for b in pred["break_even"] if b["link"] is not None}
    links = list(dict.fromkeys(link for link, _ in by))
    speed = {(x["link"], x["batch_mode"], x["nproc"]): x["speedup"] for x in pred["scenarios"]}

    def be(link: str, mode: str) -> str:
        n = by.get((link, mode))
        return "never (≤ 64)" if n is None else str(n)

    rows = [[link, be(link, "per-worker"), be(link, "global"), num(speed.get((link, "per-worker", 8))),
             num(speed.get((link, "global", 8)))] for link in links]
    rates = [f"{b['nproc']} workers, {b['batch_mode']} batch: "
             + ("never" if b["gbit_per_s"] is None else f"{b['gbit_per_s'] * 1e3:.3g} Mbit/s")
             for b in pred["break_even"] if b["link"] is None]
    return Table(["Link", "Break-even workers (per-worker batch)", f"Break-even workers (global batch {pred.get('global_batch')})",
                  "Speedup at 8 (per-worker)", "Speedup at 8 (global)"], rows,
                 "Predicted (not measured) for a machine per worker, from the one-worker profile; link latencies of "
                 "the catalogue links are assumed. Slowest link that pays: " + "; ".join(rates) + ".")


def _compare_table(rec: dict) -> Table:
    rows = [[c["variant"], str(c["nproc"]), f"{c['budget_s']:g}", "failed: " + str(c["error"]), DASH, DASH, DASH, DASH]
            if "error" in c else
            [c["variant"], str(c["nproc"]), f"{c['budget_s']:g}", str(c["steps"]), _ms(c["step_s"]),
             _ms(c["exposed_comm_s"]), num(c["images_per_s"], 0), num(c["val_rmse_px"])] for c in rec["compare"]]
    return Table(["Variant", "Workers", "Budget (s)", "Steps", "Step (ms)", "Exposed (ms)", "Images/s", "Val RMSE (px)"],
                 rows, "What changes the picture: each variant trained for the same wall-clock budget, "
                 "validation RMSE at its end.")
