"""The terminal view of a dist-scale Record (rich tables); it reads the Record and computes nothing new."""

from __future__ import annotations


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v * 1e3:.1f}"


def _x(v: float | None) -> str:
    return "—" if v is None else f"{v:.2f}×"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.1f} %"


def print_scale_record(record: dict, path: str, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = console or Console()
    t = Table(title=f"{record['label']}: median step (ms), per worker count", caption="comm: all-reduce span; "
              "overlap: hidden by backward; Σ/step: fwd+bwd+exposed+opt against the step timed whole")
    # workers×threads; step and its parts; comm = all-reduce span, overlap = hidden by backward;
    # Σ/step = (fwd + bwd + exposed + opt) against the step timed whole
    for col in ("n×thr", "step", "fwd", "bwd", "comm", "overlap", "exposed", "opt", "Σ/step", "img/s", "speedup", "eff"):
        t.add_column(col, justify="right")
    for r in record["rows"]:
        t.add_row(f"{r['nproc']}×{r['threads']}", _ms(r["step_s"]), _ms(r["forward_s"]), _ms(r["backward_s"]),
                  _ms(r["comm_s"]), _ms(r["overlapped_comm_s"]), _ms(r["exposed_comm_s"]), _ms(r["optimizer_s"]),
                  _pct(r["parts_error"]), f"{r['images_per_s']:.0f}", _x(r["speedup"]),
                  "—" if r["efficiency"] is None else f"{r['efficiency'] * 100:.0f} %")
    console.print(t)
    _print_fit(record, console)
    _print_checks(record, console)
    _print_break_even(record, console)
    if record.get("compare"):
        _print_compare(record, console)
    console.print(f"Record: {path}", highlight=False)


def _print_fit(record: dict, console) -> None:
    ar = record["allreduce"]
    if ar.get("alpha_s") is None:
        console.print("all-reduce: no multi-worker run, no α-β fit")
        return
    if ar.get("beta_s_per_byte") is None or not ar.get("link_gbit_per_s"):  # only small messages: latency alone
        console.print(f"all-reduce: α = {ar['alpha_s'] * 1e6:.1f} µs; no bandwidth fit (give --allreduce-max-mb 1 or more)",
                      highlight=False)
        return
    peak = ar.get("busbw_peak_bytes_per_s")
    largest = ar.get("busbw_largest_bytes_per_s") or peak
    console.print(f"all-reduce α-β fit: α = {ar['alpha_s'] * 1e6:.1f} µs, β = {ar['beta_s_per_byte'] * 1e9:.3f} ns/byte "
                  f"(≈ {ar['link_gbit_per_s']:.3g} Gbit/s); busbw of the largest message {largest * 8 / 1e9:.3g} Gbit/s; "
                  f"fit error ≤ {_pct(ar['fit_max_error'])} on messages ≥ 1 MiB", highlight=False)


def _print_checks(record: dict, console) -> None:
    for c in record["prediction"]["checks"]:
        console.print(f"α-β prediction, {c['nproc']} workers: step {_ms(c['predicted_step_s'])} ms predicted, "
                      f"{_ms(c['measured_step_s'])} ms measured ({_pct(c['error'])}); no-overlap bound "
                      f"{_ms(c['serial_step_s'])} ms ({_pct(c['serial_error'])})", highlight=False)


def _print_break_even(record: dict, console) -> None:
    from rich.table import Table

    pred = record["prediction"]
    if not pred.get("scenarios"):
        return
    t = Table(title="Predicted speedup over one worker (own machine each), fixed per-worker batch | fixed global batch "
                    f"{pred.get('global_batch')}")
    ns = sorted({s["nproc"] for s in pred["scenarios"]})
    t.add_column("link")
    for n in ns:
        t.add_column(f"{n} workers", justify="right")
    t.add_column("break-even workers", justify="right")
    links = list(dict.fromkeys(s["link"] for s in pred["scenarios"]))
    for link in links:
        cells = []
        for n in ns:
            pair = [next(s["speedup"] for s in pred["scenarios"] if s["link"] == link and s["nproc"] == n
                         and s["batch_mode"] == m) for m in ("per-worker", "global")]
            cells.append(f"{pair[0]:.2f} | {pair[1]:.2f}")
        be = [next(b["nproc"] for b in pred["break_even"] if b["link"] == link and b["batch_mode"] == m)
              for m in ("per-worker", "global")]
        t.add_row(link, *cells, " | ".join("never" if b is None else str(b) for b in be))
    console.print(t)
    for b in pred["break_even"]:
        if b["link"] is None:
            rate = "no link speed" if b["gbit_per_s"] is None else f"{b['gbit_per_s'] * 1e3:.3g} Mbit/s"
            console.print(f"break-even link for {b['nproc']} workers ({b['batch_mode']} batch): {rate}", highlight=False)


def _print_compare(record: dict, console) -> None:
    from rich.table import Table

    t = Table(title="What changes the picture: speed and accuracy at a fixed time budget")
    for col in ("variant", "workers", "budget (s)", "steps", "step (ms)", "exposed (ms)", "images/s", "val RMSE (px)"):
        t.add_column(col, justify="right")
    for c in record["compare"]:
        if "error" in c:
            t.add_row(c["variant"], str(c["nproc"]), f"{c['budget_s']:g}", "failed", "—", "—", "—", "—")
            continue
        t.add_row(c["variant"], str(c["nproc"]), f"{c['budget_s']:g}", str(c["steps"]), _ms(c["step_s"]),
                  _ms(c["exposed_comm_s"]), f"{c['images_per_s']:.0f}",
                  "—" if c["val_rmse_px"] is None else f"{c['val_rmse_px']:.2f}")
    console.print(t)
    for c in record["compare"]:
        if "error" in c:
            console.print(f"{c['variant']} failed: {c['error']}", highlight=False, markup=False, soft_wrap=True)


def _mean_sd(sp: dict | None, fmt: str = "{:.1f}") -> str:
    if not sp:
        return "—"
    return fmt.format(sp["mean"]) + (f" ± {fmt.format(sp['stdev'])}" if sp["n"] > 1 else "")


def _bytes(v: int | None) -> str:
    if v is None:
        return "—"
    return f"{v / 1e6:.2f} MB" if v >= 1e5 else f"{v / 1e3:.1f} kB"


def sooner_ratio(base: dict, other: dict) -> tuple[float, float] | None:
    """How many times sooner ``other`` reached the target than ``base``, with its σ (relative errors added
    in quadrature); None unless both reached it in every repeat."""
    a, b = base["spread"].get("time_to_target_s"), other["spread"].get("time_to_target_s")
    if base["time_to_target_s"] is None or other["time_to_target_s"] is None or not a or not b:
        return None
    ratio = a["mean"] / b["mean"]
    return ratio, ratio * ((a["stdev"] / a["mean"]) ** 2 + (b["stdev"] / b["mean"]) ** 2) ** 0.5


def verdicts(record: dict) -> list[str]:
    """'2 workers, lr sqrt reached 2.0 px 1.31 ± 0.05× sooner than 1 worker' per multi-worker row."""
    base = next((r for r in record["rows"] if r["nproc"] == 1), None)
    target = record["config"]["target_rmse_px"]
    out = []
    for r in record["rows"]:
        if base is None or r is base:
            continue
        ratio = sooner_ratio(base, r)
        if ratio is None:
            missed = [x["variant"] for x in (base, r) if x["time_to_target_s"] is None]
            out.append(f"{r['variant']} against {base['variant']}: no verdict, {' and '.join(missed)} did not reach "
                       f"{target:g} px in every run")
            continue
        word = "sooner" if ratio[0] >= 1 else "later"
        k = ratio[0] if ratio[0] >= 1 else 1 / ratio[0]
        out.append(f"{r['variant']} reached {target:g} px {k:.2f} ± {ratio[1] * (k / ratio[0]):.2f}× {word} "
                   f"than {base['variant']}")
    return out


def print_tta_record(record: dict, path: str, console=None) -> None:  # noqa: ANN001 - a rich Console
    import sys

    from rich.console import Console
    from rich.table import Table

    console = console or Console(width=None if sys.stdout.isatty() else 150)
    t = Table(title=f"{record['label']}: mean ± σ over repeats")
    for col in ("configuration", "workers", "lr rule", "time to target (s)", "epochs to target", "final val RMSE (px)",
                "images/s", "sent/step/worker", "reached"):
        t.add_column(col, justify="right")
    for r in record["rows"]:
        sp = r["spread"]
        t.add_row(r["variant"], str(r["nproc"]), r["lr_scaling"] or "—",
                  _mean_sd(sp.get("time_to_target_s")) if r["time_to_target_s"] is not None else "not reached",
                  _mean_sd(sp.get("epochs_to_target")) if r["epochs_to_target"] is not None else "—",
                  _mean_sd(sp.get("final_val_rmse_px"), "{:.2f}"), _mean_sd(sp.get("images_per_s"), "{:.0f}"),
                  _bytes(r["sent_bytes_per_step"]), f"{r['target_reached']}/{r['repeats']}"
                  + (f" ({r['failed']} failed)" if r["failed"] else ""))
    console.print(t)
    for line in verdicts(record):
        console.print(line, highlight=False, markup=False)
    console.print(f"Record: {path}", highlight=False)
