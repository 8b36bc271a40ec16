"""Verdicts from a Comparison: cheapest, fastest, "A ran r ± σ× faster than B", the Pareto front.

Ratio method (hyperfine's): r = mean_B / mean_A of the per-repeat init_s + train_s,
σ_r = r·√((σ_A/μ_A)² + (σ_B/μ_B)²) (kpbench.bench.stats.ratio). "Fastest" is the
row with the smallest such mean, so every ratio against it is at least 1. A single
repeat has no spread and the line says so.
"""

from __future__ import annotations

from kpbench import fmt
from kpbench.bench.stats import ratio
from kpbench.cost.types import Comparison, Row


def pareto_front(points: list[tuple[str, float, float]]) -> list[str]:
    """Labels of the (time, cost) points no other point beats on both; equal points all stay."""
    front = []
    for label, t, c in points:
        dominated = any(t2 <= t and c2 <= c and (t2 < t or c2 < c) for _, t2, c2 in points)
        if not dominated:
            front.append(label)
    return front


def speedup(fast: Row, slow: Row) -> tuple[float, float | None]:
    """(r, σ_r): how many times faster ``fast`` ran than ``slow``; σ None with a single repeat on either."""
    r, sigma = ratio({"mean": slow.time_mean_s, "stdev": slow.time_stdev_s},
                     {"mean": fast.time_mean_s, "stdev": fast.time_stdev_s})
    if fast.repeats < 2 or slow.repeats < 2:
        return r, None
    return r, sigma


def verdicts(comp: Comparison) -> list[str]:
    rows = {r.label: r for r in comp.rows}
    lines = []
    if comp.cheapest_to_target:
        r = rows[comp.cheapest_to_target]
        lines.append(f"cheapest to target: {r.label} ({fmt.usd(r.cost_to_target_usd, 4)}, {r.machine})")
    if comp.cheapest:
        r = rows[comp.cheapest]
        lines.append(f"cheapest per run: {r.label} ({fmt.usd(r.cost_per_run_usd, 4)} for {r.billed_s} s billed, {r.machine})")
    lines += _speed_lines(comp, rows)
    if comp.pareto:
        lines.append("Pareto front (time vs cost per run): " + ", ".join(comp.pareto))
    if comp.config_mismatches:
        lines.append("configs differ (" + ", ".join(m.field for m in comp.config_mismatches)
                     + "): the ratios above compare different work")
    return lines + estimate_verdicts(comp)


def estimate_verdicts(comp: Comparison) -> list[str]:
    """What the estimates say, labelled as estimates (never merged with the measured verdicts)."""
    if not comp.estimates:
        return []
    lines = []
    if comp.cheapest_estimate:
        r = comp.row(comp.cheapest_estimate)
        lines.append(f"estimated (not measured) cheapest per run: {r.label} ({fmt.usd(r.cost_per_run_usd, 4)}, "
                     f"band {fmt.usd(r.cost_low_usd, 4)} … {fmt.usd(r.cost_high_usd, 4)}, {r.machine})")
    fast = min(comp.estimates, key=lambda r: (r.time_s, r.label))
    lines.append(f"estimated fastest: {fast.label} ({fast.time_s:.1f} s init + train, band {fast.time_low_s:.1f} … "
                 f"{fast.time_high_s:.1f} s)")
    if comp.estimate_pareto:
        lines.append("Pareto front of the estimates: " + ", ".join(comp.estimate_pareto))
    return lines


def _speed_lines(comp: Comparison, rows: dict[str, Row]) -> list[str]:
    if comp.fastest is None:
        return []
    lines = []
    fast = rows[comp.fastest]
    lines.append(f"fastest: {fast.label} ({fast.time_s:.1f} s init + train, {fast.machine})")
    for other in comp.rows if fast.time_mean_s > 0 else ():  # no ratio to a run of no measurable time
        if other.label == fast.label:
            continue
        r, sigma = speedup(fast, other)
        line = f"{fast.label} ran {fmt.times_faster(r, sigma)} than {other.label}"
        if sigma is None:
            line += " (single repeat: no spread)"
        if fast.cost_per_run_usd is not None and other.cost_per_run_usd:
            c = fast.cost_per_run_usd / other.cost_per_run_usd
            if abs(c - 1) <= 0.005:
                line += " at the same cost per run"
            else:
                line += f" and costs {c:.2f}× {'more' if c > 1 else 'as much'} per run"
        lines.append(line)
    return lines
