"""Terminal output of `kpbench estimate`: the trace in one line, the table with bands, then the notes.

Every figure reads "median (low … high)"; a row says whether it is estimated or measured.
"""

from __future__ import annotations

from kpbench.fmt import DASH, si


def band_text(value: float | None, low: float | None, high: float | None, *, scale: float = 1.0, digits: int = 3,
              sep: str = " ", unit: str = "") -> str:
    """'4.1 (3.2 … 5.3)' with ``digits`` significant figures (``sep`` between value and band); — without a figure."""
    if value is None:
        return DASH
    return (f"{unit}{_g(value * scale, digits)}{sep}({unit}{_g(low * scale, digits)} … "
            f"{unit}{_g(high * scale, digits)})")


def usd_band(value: float | None, low: float | None, high: float | None, sep: str = " ") -> str:
    return band_text(value, low, high, digits=2, sep=sep, unit="$")


def _g(x: float, digits: int) -> str:
    if x == 0:
        return "0"
    text = f"{x:.{digits}g}"
    return f"{float(text):,.0f}" if "e" in text else text


def trace_line(result) -> str:
    lines = []
    for precision, t in result.traces.items():
        lines.append(f"Trace ({t.model}, batch {t.batch_size}, {precision}, on this CPU, no GPU): {t.operators} operators, "
                     f"{t.kernels} CUDA kernels, {si(t.flops_per_step, 'FLOP')} and {si(t.bytes_per_step, 'B')} moved "
                     "per training step")
    return "\n".join(lines)


def print_result(result) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from kpbench.fmt import plain
    from kpbench.fmt import rich_text as escape  # labels and names from files: no control character, no markup

    console = Console(highlight=False)
    console.print(plain(trace_line(result)), markup=False)
    console.print(plain(f"Workload: {result.workload.source} → {result.workload.steps:,} steps"), markup=False)
    table = Table(box=box.SIMPLE_HEAD, padding=(0, 1), pad_edge=False,
                  title="Estimated per machine: median, band below")
    table.add_column("machine", min_width=18, overflow="fold")
    for name in ("step ms", "train s", "init s", "$/run"):
        table.add_column(name, justify="right", no_wrap=True)
    for e in result.estimates:
        price = "" if e.price_per_hour is None else f" · ${e.price_per_hour:g}/h"
        where = (escape(e.label) + (" [bold](measured)[/]" if e.measured else "")
                 + f"\n[dim]{escape(e.gpu or 'CPU')} {e.precision} · {e.bound}{price}[/]")
        table.add_row(where, _cell(e.step_s, e.step_s_low, e.step_s_high, 1e3), _cell(e.train_s, e.train_s_low, e.train_s_high),
                      _cell(e.init_s, e.init_s_low, e.init_s_high),
                      _cell(e.cost_per_run_usd, e.cost_per_run_usd_low, e.cost_per_run_usd_high, unit="$"))
    console.print(table)
    for line in notes(result):
        console.print(plain(line), style="dim", markup=False)


def _cell(value: float | None, low: float | None, high: float | None, scale: float = 1.0, unit: str = "") -> str:
    if value is None:
        return DASH
    digits = 2 if unit else 3
    return f"{unit}{_g(value * scale, digits)}\n[dim]{_g(low * scale, digits)} … {_g(high * scale, digits)}[/]"


def notes(result) -> list[str]:
    """The lines under the table: retirements, bands widened, skipped targets, what init is made of, the method."""
    lines = []
    for e in result.estimates:
        if e.instance is not None and e.instance.retired:
            lines.append(f"{e.label}: retired since {e.instance.retired_date or 'an unknown date'} "
                         f"(replacement: {e.instance.replacement or 'none listed'}); {e.gpu}: {_share(e)}")
        lines += [f"{e.label}: {n}" for n in e.notes]
    for s in result.skipped:
        lines.append(f"{s['instance_type']}: no estimate: {s['reason']}")
    first = next((e for e in result.estimates if e.init_parts and not e.measured), None)
    if first is not None:
        parts = "; ".join(f"{p.name} {band_text(p.s, p.low_s, p.high_s)} s ({p.basis})" for p in first.init_parts)
        lines.append(f"init = {parts}")
    meta = result.constants.meta
    if meta:
        lines.append(f"method: per-operator roofline + host dispatch (docs/estimate.md); constants fitted on "
                     f"{meta.get('points', '?')} published points, leave-one-out error median "
                     f"{100 * meta.get('loo_median_abs_error', 0):.0f} %, worst {100 * meta.get('loo_worst_abs_error', 0):.0f} %; "
                     f"host dispatch measured here: {result.host.dispatch_s * 1e6:.1f} µs per operator")
    return lines


def _share(e) -> str:
    from kpbench.estimate.gpus import gpu

    return gpu(e.gpu).instance_share if e.gpu else "CPU"
