"""Sections 7–9 (timing, cost, distributed training) and the headline, all read from Records.

Costs come only from kpbench.cost's Comparison: the report formats them, never
recomputes them.
"""

from __future__ import annotations

from kpbench.cost import Comparison
from kpbench.fmt import DASH, num, spread, usd
from kpbench.report import figures
from kpbench.report.blocks import Figure, Headline, Note, Paragraph, Section, Table
from kpbench.report.build import Inputs
from kpbench.report.sections import GPU_PURPOSE, machine_names, primary_run

# -- 7 ------------------------------------------------------------------------


def timing(inputs: Inputs) -> Section:
    s = Section("timing", "7. Timing across machines")
    if not inputs.records:
        return s.add(Note("timing: no Records (run `kpbench bench` on each machine and pass the Record JSON files)"))
    names = machine_names(inputs)
    recs = [r for _, r in inputs.records]
    s.add(Paragraph(
        "Each repeat runs in a fresh process, so initialization (interpreter start, imports, device start, data "
        "load, model build: everything before the first training step) is measured as a user meets it. The "
        "warm-up (first steps, any compile) is part of training time and shown on its own. Figures: "
        "median (min … max) over repeats."
    ))
    s.add(Figure("timing.png", figures.timing_png(list(zip(names, recs))),
                 "Left: initialization phases per machine (medians, stacked; whisker = init min … max). "
                 "Right: training time (median; whisker = min … max), its warm-up steps in red."))
    rows = []
    for name, r in zip(names, recs):
        f, rep = r["figures"], r["repeats"]
        finals = [x["final_val_rmse_px"] for x in r["runs"] if x.get("ok") and x.get("final_val_rmse_px") is not None]
        rows.append([
            name,
            f"{rep.get('completed', DASH)}/{rep.get('requested', DASH)}",
            spread(f.get("init_s")),
            spread(f.get("train_s")),
            spread(f.get("images_per_s"), 0),
            spread(f.get("time_to_target_s")),
            spread(f.get("peak_memory_mb"), 0),
            num(min(finals)) if finals else DASH,
        ])
    s.add(Table(["Machine", "Repeats", "Init (s)", "Train (s)", "Throughput (images/s)",
                 "Time to target (s)", "Peak memory (MB)", "Best val RMSE (px)"], rows,
                "Timing per machine: median (min … max) over repeats."))
    s.add(_split_table(names, recs))
    s.add(_work_table(names, recs))
    failed = [(n, x) for n, r in zip(names, recs) for x in r["repeats"].get("failed", [])]
    for n, x in failed:
        s.add(Note(f"{n}: repeat {x.get('repeat')} failed: {x.get('error')}"))
    return s


def _split_table(names: list[str], recs: list[dict]) -> Table:
    """One row per phase of the wall clock's split, one column per machine: median (min … max) and share."""
    from kpbench.bench.phases import PHASES

    order = [n for n in dict.fromkeys([*PHASES, *(n for r in recs for n in r["phases"])])
             if any(n in r["phases"] for r in recs)]
    rows = [[name] + [_phase_cell(r, name) for r in recs] for name in order]
    rows.append(["wall_s (spawn to exit)"] + [spread(r["figures"].get("wall_s"), 3) for r in recs])
    rows.append(["init_s (to the first step)"] + [spread(r["figures"].get("init_s"), 3) for r in recs])
    return Table(["Phase (s)"] + names, rows,
                 "Where each repeat's wall clock went, median (min … max) over repeats and the share of the median "
                 "wall clock; the phases add up to wall_s (unattributed_s: what no timer caught). init_s = "
                 "interpreter_s … model_build_s; train_s = warmup_s + steady_train_s + eval_s. A Record of schema "
                 "version 1 has only its five phases and no wall_s.")


def _phase_cell(record: dict, name: str) -> str:
    fig, wall = record["phases"].get(name), record["figures"].get("wall_s")
    if fig is None:
        return DASH
    share = f" · {100 * fig['median'] / wall['median']:.1f} %" if wall and wall["median"] else ""
    return spread(fig, 3) + share


def _work_table(names: list[str], recs: list[dict]) -> Table:
    rows = []
    for name, r in zip(names, recs):
        c, fl = r["config"], r["flops"]
        rows.append([
            name, str(c.get("model", DASH)), str(c.get("batch_size", DASH)), str(c.get("epochs", DASH)),
            spread(r["figures"].get("epoch_s")),
            num(c.get("rows")), str(c.get("precision", DASH)), str(r.get("data_load", DASH)),
            num((fl.get("achieved_flops_per_s") or 0) / 1e9) if fl.get("achieved_flops_per_s") else DASH,
            f"{100 * fl['mfu']:.1f}" if fl.get("mfu") is not None else DASH,
        ])
    return Table(["Machine", "Model", "Batch (images)", "Epochs", "Epoch (s)", "Rows", "Precision", "Data load", "Achieved (GFLOP/s)",
                  "MFU (%)"], rows, "What each Record measured, and how much of the machine it used "
                  "(MFU: achieved / peak dense FLOP/s, where the peak is known).")


# -- 8 ------------------------------------------------------------------------


def cost(inputs: Inputs, charts: list[tuple[str, bytes, str]]) -> Section:
    s = Section("cost", "8. Cost across machines")
    comp = inputs.comparison
    if comp is None:
        s.add(Note(f"cost comparison: {inputs.cost_error or 'no Records'}"))
    else:
        from kpbench.cost.export import table_cells  # cost's own cell formatting: no second copy

        header, body = table_cells(comp)
        s.add(Table([COST_HEADERS.get(h, h) for h in header], body,
                    "Cost per machine from kpbench.cost: time = init + train (medians); billed per second, "
                    "60 s minimum; ★ = on the Pareto front of time vs cost"
                    + ("; (estimate) rows are kpbench estimate's, not measured: band in brackets, ☆ = on the "
                       "estimates' own Pareto front." if comp.estimates else ".")))
        for name, png, caption in charts:
            s.add(Figure(name, png, caption))
        for v in comp.verdicts:
            s.add(Paragraph("Verdict: " + v + "."))
        for m in comp.config_mismatches:
            s.add(Note(f"comparable timings: {m.message}"))
        if not _any_priced(comp):
            s.add(Note("measured cost per run: no Record here comes from a priced machine (a local machine has "
                       "no catalog price). Bench a catalog instance, or pass --price-per-hour to `kpbench bench`."))
        s.add(Paragraph(f"Method: {comp.method}.", small=True))
    if inputs.catalog is not None and (comp is None or not _any_priced(comp)):
        s.add(_catalog_table(inputs))
    return s


COST_HEADERS = {"": "Record", "machine": "Machine", "$/h": "Price ($/h)", "init s": "Init (s)",
                "train s": "Train (s)", "billed s": "Billed (s)", "$/run": "Cost per run ($)",
                "$/target": "Cost to target ($)", "$/M images": "Cost per million images ($)",
                "Pareto": "Pareto", "note": "Note"}


def _any_priced(comp: Comparison) -> bool:
    return any(r.cost_per_run_usd is not None for r in comp.rows)


def _catalog_table(inputs: Inputs) -> Table:
    rows = []
    for inst in inputs.catalog:
        rows.append([
            inst.instance_type, str(inst.vcpus),
            f"{inst.gpu_count}× {inst.gpu}" if inst.gpu and inst.gpu_count > 1 else (inst.gpu or "none"),
            num(inst.gpu_memory_gb, 0), GPU_PURPOSE.get(str(inst.gpu_purpose), DASH),
            usd(inst.price_per_hour), inst.price_date, "retired" if inst.retired else "",
        ])
    return Table(["Instance", "vCPUs", "GPU", "GPU memory (GB)", "GPU built for", "Price ($/h)", "Price date", "Status"],
                 rows, "Catalog prices (listed, not measured here): no Record in this report was timed on "
                 "these instances, so no run cost is shown for them; bench one to price it.")


# -- 9 (hook) ------------------------------------------------------------------


def headline(inputs: Inputs) -> list[Headline]:
    out: list[Headline] = []
    run = primary_run(inputs)
    finals = [(r.metrics["final_val_rmse_px"], r.name) for r in inputs.runs
              if r.metrics and r.metrics.get("final_val_rmse_px") is not None]
    if finals:
        best, name = min(finals)
        out.append(Headline("Best validation RMSE", f"{num(best)} px", f"run directory “{name}”"))
    elif run is None:
        out.append(Headline("Best validation RMSE", DASH, "no run directory"))
    if inputs.records:
        comp = inputs.comparison
        if comp is not None:  # the Comparison's own verdict: init + train, medians
            fast = comp.row(comp.fastest)
            out.append(Headline("Fastest machine", fast.label, f"{num(fast.time_s)} s init + train (median)"))
        else:
            names = machine_names(inputs)
            trains = [r["figures"]["train_s"].get("median") for _, r in inputs.records]
            timed = [(t, n) for t, n in zip(trains, names) if t is not None]
            if timed:
                t, n = min(timed)
                out.append(Headline("Fastest machine", n, f"training {num(t)} s (median)"))
        out.append(Headline("Machines measured", str(len(inputs.records)),
                            f"{sum(r['repeats'].get('completed', 0) for _, r in inputs.records)} repeats"))
    else:
        out.append(Headline("Fastest machine", DASH, "no Records"))
    cheapest = _cheapest(inputs)
    out.append(Headline("Cheapest machine", cheapest[0], cheapest[1]))
    return out


def _cheapest(inputs: Inputs) -> tuple[str, str]:
    comp = inputs.comparison
    if comp is not None and comp.cheapest is None and comp.cheapest_estimate is not None:
        row = comp.row(comp.cheapest_estimate)  # nothing measured is priced: the estimates, labelled as such
        return row.label, (f"estimated, not measured: {usd(row.cost_per_run_usd)} per run "
                           f"({usd(row.cost_low_usd)} … {usd(row.cost_high_usd)}), {row.machine}")
    if comp is None or comp.cheapest is None:
        return DASH, "no priced Records"
    row = comp.row(comp.cheapest)
    return row.label, f"{usd(row.cost_per_run_usd)} per run ({row.machine})"
