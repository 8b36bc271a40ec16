"""From the workers' raw step timings to the figures of a dist-scale Record. Pure: no torch, no processes.

Rows: medians over timed steps per worker count. All-reduce: nccl-tests' algbw/busbw and the
α-β fit. Prediction: the α-β model checked against every measured point, then extended to other
worker counts and links, at fixed per-worker and at fixed global batch, with the break-even.
"""

from __future__ import annotations

import statistics

from kpbench.scaling import alphabeta as ab
from kpbench.scaling.hooks import wire_factor

PARTS = ("forward_s", "backward_s", "exposed_comm_s", "optimizer_s", "stop_s")
PREDICT_NPROC = (2, 4, 8, 16, 32)


def _median(steps: list[dict], key: str) -> float:
    return statistics.median(s.get(key, 0.0) for s in steps)  # stop_s: absent from older workers


def row(raw: dict, batch: int) -> dict:
    """One worker count's figures: medians over its timed steps."""
    steps = raw["steps"]
    out = {"nproc": raw["nproc"], "threads": raw["threads"], "steps": len(steps)}
    for key in ("step_s", *PARTS, "comm_s", "overlap_window_s"):
        out[key] = _median(steps, key)
    out["compute_s"] = out["step_s"] - out["exposed_comm_s"]  # everything but waiting for the network
    out["overlapped_comm_s"] = max(0.0, out["comm_s"] - out["exposed_comm_s"])
    # the parts, summed per step, against the step timed as a whole
    out["parts_error"] = statistics.median(sum(s.get(p, 0.0) for p in PARTS) / s["step_s"] - 1 for s in steps)
    out["images_per_s"] = raw["nproc"] * batch / out["step_s"]
    out["bucket_bytes"] = steps[-1]["bucket_bytes"]
    same = [s["ready_offsets_s"] for s in steps if len(s["ready_offsets_s"]) == len(out["bucket_bytes"])]
    out["ready_offsets_s"] = [statistics.median(col) for col in zip(*same)]
    out["val_rmse_px"] = raw.get("val_rmse_px")
    return out


def add_speedups(rows: list[dict]) -> None:
    """Speedup and efficiency against the one-worker row (same total cores); None without one."""
    base = next((r for r in rows if r["nproc"] == 1), None)
    for r in rows:
        r["speedup"] = r["images_per_s"] / base["images_per_s"] if base else None
        r["efficiency"] = r["speedup"] / r["nproc"] if base else None


def allreduce(raws: list[dict]) -> dict:
    """The microbenchmark's points with algbw/busbw, and the α-β fit over all of them."""
    points = []
    for raw in raws:
        for p in raw.get("allreduce", []):
            s, n, t = p["size_bytes"], p["nproc"], p["time_s"]
            points.append({**p, "algbw_bytes_per_s": ab.algbw_bytes_per_s(s, t),
                           "busbw_bytes_per_s": ab.busbw_bytes_per_s(s, t, n)})
    out: dict = {"points": points, "alpha_s": None, "beta_s_per_byte": None, "fit_max_error": None,
                 "busbw_peak_bytes_per_s": max((p["busbw_bytes_per_s"] for p in points), default=None),
                 # the largest message's: below a tbf bucket's burst, messages pass faster than the shaped rate
                 "busbw_largest_bytes_per_s": max(points, key=lambda p: p["size_bytes"])["busbw_bytes_per_s"] if points else None}
    try:
        alpha, beta = ab.fit_alpha_beta([(p["size_bytes"], p["nproc"], p["time_s"]) for p in points])
    except ValueError:
        return out
    for p in points:
        p["predicted_s"] = ab.ring_allreduce_s(p["size_bytes"], p["nproc"], alpha, beta)
    big = [p for p in points if p["size_bytes"] >= 1 << 20]  # where β matters; small ones are jitter
    out.update(alpha_s=alpha, beta_s_per_byte=beta,
               link_gbit_per_s=(8 / beta / 1e9) if beta > 0 else None,
               fit_max_error=max((abs(ab.relative_error(p["predicted_s"], p["time_s"])) for p in big), default=None))
    return out


def wire_buckets(r: dict, comm_hook: str) -> list[float] | None:
    factor = wire_factor(comm_hook)
    return None if factor is None else [b * factor for b in r["bucket_bytes"]]


def checks(rows: list[dict], fit: dict, comm_hook: str) -> list[dict]:
    """The model against every measured multi-worker row: predicted step = compute + exposed α-β comm."""
    out = []
    if fit["alpha_s"] is None:
        return out
    for r in rows:
        buckets = wire_buckets(r, comm_hook)
        if r["nproc"] < 2 or buckets is None:
            continue
        comm = ab.comm_s(buckets, r["nproc"], fit["alpha_s"], fit["beta_s_per_byte"])
        step = ab.predict_step_s(r["compute_s"], r["ready_offsets_s"], buckets, r["nproc"], fit["alpha_s"],
                                 fit["beta_s_per_byte"])
        serial = r["compute_s"] + comm  # no overlap at all: the bound where comm and backward share cores
        out.append({"nproc": r["nproc"], "measured_step_s": r["step_s"], "predicted_step_s": step,
                    "predicted_comm_s": comm, "measured_comm_s": r["comm_s"],
                    "error": ab.relative_error(step, r["step_s"]), "serial_step_s": serial,
                    "serial_error": ab.relative_error(serial, r["step_s"])})
    return out


def profile(rows: list[dict], batch: int, comm_hook: str) -> ab.Profile | None:
    """One worker's step on its own machine, from the fewest-workers row: the input of predictions."""
    if not rows:
        return None
    r = min(rows, key=lambda x: x["nproc"])
    buckets = wire_buckets(r, comm_hook)
    if buckets is None:
        return None
    return ab.Profile(compute_s=r["compute_s"], ready_offsets_s=tuple(r["ready_offsets_s"]), batch=batch,
                      bucket_bytes=tuple(buckets))


def links(fit: dict, link_limit_bit_per_s: float | None) -> list[ab.Link]:
    """The catalog of links, plus the one measured here (fitted α, β) when there is a fit."""
    out = list(ab.LINKS)
    if fit.get("beta_s_per_byte"):
        name = f"measured ({link_limit_bit_per_s / 1e9:g} Gbit/s tbf)" if link_limit_bit_per_s else "measured (loopback)"
        out.insert(0, ab.Link(name, 8 / fit["beta_s_per_byte"] / 1e9, fit["alpha_s"]))
    return out


def prediction(rows: list[dict], fit: dict, batch: int, comm_hook: str, link_limit_bit_per_s: float | None) -> dict:
    """Checks against measurement; scenarios for other worker counts and links; the break-even."""
    out: dict = {"checks": checks(rows, fit, comm_hook), "scenarios": [], "break_even": []}
    out["max_abs_error"] = max((abs(c["error"]) for c in out["checks"]), default=None)
    prof = profile(rows, batch, comm_hook)
    if prof is None:
        return out
    global_batch = batch * max(r["nproc"] for r in rows)
    out.update(profile={"compute_s": prof.compute_s, "ready_offsets_s": list(prof.ready_offsets_s), "batch": batch,
                        "bucket_bytes": list(prof.bucket_bytes), "gradient_bytes": prof.gradient_bytes},
               global_batch=global_batch)
    for link in links(fit, link_limit_bit_per_s):
        for mode, gb in (("per-worker", None), ("global", global_batch)):
            for n in PREDICT_NPROC:
                out["scenarios"].append({**ab.scaling(prof, n, link, global_batch=gb), "batch_mode": mode})
            out["break_even"].append({"link": link.name, "batch_mode": mode,
                                      "nproc": ab.break_even_nproc(prof, link, global_batch=gb)})
    for n in (2, 8):
        for mode, gb in (("per-worker", None), ("global", global_batch)):
            out["break_even"].append({"link": None, "batch_mode": mode, "nproc": n,
                                      "gbit_per_s": ab.break_even_gbit_per_s(prof, n, global_batch=gb)})
    return out


def shaped_check(unshaped_row: dict, unshaped_fit: dict, shaped_row: dict, shaped_fit: dict, comm_hook: str) -> dict | None:
    """A shaped link's step predicted from the unshaped run and the two links' α-β fits, against its measurement.

    ``predicted``: the model with backward and the transfers sharing the cores (alphabeta.shaped_step_s);
    ``overlap``: the unshaped compute plus the exposed α-β replay at link speed (no sharing);
    ``serial``: the unshaped compute plus the whole all-reduce (no overlap at all).
    """
    buckets = wire_buckets(unshaped_row, comm_hook)
    if buckets is None or unshaped_fit.get("alpha_s") is None or shaped_fit.get("alpha_s") is None:
        return None
    n, compute = unshaped_row["nproc"], unshaped_row["compute_s"]
    link = (shaped_fit["alpha_s"], shaped_fit["beta_s_per_byte"])
    model = ab.shaped_step_s(compute, unshaped_row["ready_offsets_s"], buckets, n, unshaped_row["threads"],
                             (unshaped_fit["alpha_s"], unshaped_fit["beta_s_per_byte"]), link)
    overlap = ab.predict_step_s(compute, unshaped_row["ready_offsets_s"], buckets, n, *link)
    serial = compute + ab.comm_s(buckets, n, *link)
    measured = shaped_row["step_s"]
    return {"nproc": n, "measured_step_s": measured, "measured_exposed_s": shaped_row["exposed_comm_s"],
            "measured_compute_s": shaped_row["compute_s"], "predicted_step_s": model["step_s"],
            "predicted_exposed_s": model["exposed_s"], "predicted_window_s": model["window_s"],
            "unshaped_window_s": model["unshaped_window_s"], "error": ab.relative_error(model["step_s"], measured),
            "overlap_step_s": overlap, "overlap_error": ab.relative_error(overlap, measured),
            "serial_step_s": serial, "serial_error": ab.relative_error(serial, measured)}
