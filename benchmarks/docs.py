"""The figures in README.md, docs/*.md and the benchmark headers, generated from their one home.

A measured figure lives in a JSON file under benchmarks/results/ (a fact of the package, such as
the catalog, lives in the package); every table or line that shows it in a document stands
between two markers and is rewritten from there:

    <!-- generated: NAME (`make docs`; do not edit by hand) -->
    …
    <!-- end generated: NAME -->

    python benchmarks/docs.py           # rewrite every block (make docs)
    python benchmarks/docs.py --check   # exit 1 naming each block that differs (a unit test runs this)

Each NAME is a function in RENDERERS that returns the block's Markdown. A block whose source is
missing is left as it stands and reported, never blanked.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOCUMENTS = ("README.md", "docs/*.md", "benchmarks/*.py")
_BLOCK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) \(`make docs`; do not edit by hand\) -->\n)(?P<body>.*?)"
                    r"(<!-- end generated: (?P=name) -->)", re.S)


def begin(name: str) -> str:
    return f"<!-- generated: {name} (`make docs`; do not edit by hand) -->"


def end(name: str) -> str:
    return f"<!-- end generated: {name} -->"


def result(name: str) -> dict:
    """A results file by name (benchmarks/results/NAME.json)."""
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


# --- Renderers: NAME → the block's Markdown (ending in a newline) ---


def catalog() -> str:
    from kpbench.cost import load_catalog
    from kpbench.report.catalog import catalog_markdown

    return "\n" + catalog_markdown(load_catalog()) + "\n"


def estimate_gpus() -> str:
    """The GPU table of docs/estimate.md, from src/kpbench/estimate/gpus.csv (a fact of the package)."""
    from kpbench.estimate.gpus import load_gpus

    def cell(v: float | None) -> str:
        return "–" if v is None else f"{v:g}"

    lines = ["| GPU | one instance gets | arch | SMs | boost MHz | FP32 | FP16 tensor | BF16 tensor | TF32 tensor "
             "| GB/s | L2 MB | status | source |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for g in load_gpus().values():
        lines.append(f"| {g.name} | {g.instance_share} | {g.arch} | {g.sms} | {cell(g.boost_mhz)} | {cell(g.fp32_tflops)} "
                     f"| {cell(g.fp16_tensor_tflops or g.fp16_vector_tflops)} | {cell(g.bf16_tensor_tflops)} "
                     f"| {cell(g.tf32_tensor_tflops)} | {cell(g.mem_bw_gb_s)} | {cell(g.l2_mb)} | {g.status} | {g.source} |")
    return "\n" + "\n".join(lines) + "\n\n"


def estimate_calibration() -> str:
    """Every published point against the fit and leave-one-out, and the small-CNN ratios
    (benchmarks/estimate_calibration.py --write)."""
    results = result("estimate_calibration")
    s = results["summary"]
    lines = ["| published point | metric | published | fitted | leave-one-out | error |",
             "|---|---|---:|---:|---:|---:|"]
    for p in results["points"]:
        lines.append(f"| {p['label']} | {p['metric']} | {p['published']:.4g} | {p['fitted']:.4g} | {p['loo']:.4g} "
                     f"| {100 * p['loo_error']:+.1f} % |")
    lines += ["", f"Leave-one-out |error| over {s['points']} points: median {100 * s['median_abs_error']:.1f} %, "
                  f"worst {100 * s['worst_abs_error']:.1f} % ({s['worst_point']}).", ""]
    lines += ["| small CNN, same code | GPUs | measured ratio | predicted (this machine's host) | error "
              "| predicted (calibration stacks' host) | framework |", "|---|---|---:|---:|---:|---:|---|"]
    for r in s.get("ratios", []):
        stack = r.get("predicted_ratio_stack_host")
        lines.append(f"| {r['network']} | {r['gpus']} | {r['measured_ratio']:.2f}× | {r['predicted_ratio']:.2f}× "
                     f"| {100 * r['error']:+.1f} % | {'–' if stack is None else f'{stack:.2f}×'} | {r['framework']} |")
    return "\n" + "\n".join(lines) + "\n\n"


def latest(pattern: str) -> Path | None:
    """The newest results file matching ``pattern`` (dated names sort by date)."""
    found = sorted(RESULTS.glob(pattern))
    return found[-1] if found else None


def _machine_line(date: str, machine: dict, command: str) -> str:
    cpu = machine.get("cpu", "unknown CPU")
    return (f"Measured {date} on {machine.get('host', '?')} ({cpu}, {machine.get('cores', '?')} cores, torch "
            f"{machine.get('torch', '?')}): `{command}`.")


DIST_SCALE_CMD = "python benchmarks/dist_scale.py --steps 12"
CONVERGENCE_CMD = ("python benchmarks/dist_convergence.py --data ../shared/datasets/faces15 --budget 60 --target 2.0 "
                   "--links loopback,1gbit --repeats 3")


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:+.1f} %"


def dist_scale() -> str:
    """Steps on loopback and shaped links, and the step model's prediction from loopback (benchmarks/dist_scale.py)."""
    path = latest("*-dist-scale.json")
    if path is None:
        return (f"\nNo quiet measurement yet: `{DIST_SCALE_CMD}` (about 4 minutes, root for the shaped links) writes "
                "benchmarks/results/DATE-dist-scale.json.\n\n")
    r = json.loads(path.read_text(encoding="utf-8"))
    lines = ["| model | link | workers × threads | step (ms) | exposed (ms) | predicted from loopback (ms) | error | "
             "overlap only | serial | from unshaped veth |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for model, m in r["models"].items():
        for where, row in [("loopback", x) for x in m["loopback"]] + ([("veth, unshaped", m["veth"])] if m.get("veth") else []):
            lines.append(f"| {model} | {where} | {row['nproc']} × {row['threads']} | {row['step_s'] * 1e3:.0f} | "
                         f"{row['exposed_comm_s'] * 1e3:.1f} | | | | | |")
        for link, x in m["links"].items():
            c, row, v = x["check"] or {}, x["row"], x.get("from_veth") or {}
            pred = f"{c['predicted_step_s'] * 1e3:.0f}" if c else "—"
            lines.append(f"| {model} | tbf {link} | 2 × {row['threads']} | {row['step_s'] * 1e3:.0f} | "
                         f"{row['exposed_comm_s'] * 1e3:.1f} | {pred} | {_pct(c.get('error'))} | "
                         f"{_pct(c.get('overlap_error'))} | {_pct(c.get('serial_error'))} | {_pct(v.get('error'))} |")
    w, t = r["worst"], r["targets"]
    stops = ", ".join(f"{model} {_pct(m['stop']['cost'])}" for model, m in r["models"].items() if m["stop"]["cost"] is not None)
    lines += ["", f"Worst error of the prediction from loopback: {_pct(w['error'])} (target ≤ {t['error'] * 100:.0f} %). "
              f"The stop agreement before every step costs {stops or '—'} of the loopback step (target ≤ "
              f"{t['stop_cost'] * 100:.0f} %); the parts add up to the step within {_pct(w['parts_error'])}.", "",
              _machine_line(r["date"], r["machine"], r["command"])]
    return "\n" + "\n".join(lines) + "\n\n"


def dist_scale_header() -> str:
    """The benchmark header's lines: the last result, the machine, the date, the command."""
    path = latest("*-dist-scale.json")
    if path is None:
        return "No quiet measurement yet: run the command below on a quiet machine.\n"
    r = json.loads(path.read_text(encoding="utf-8"))
    out = [_machine_line(r["date"], r["machine"], r["command"])]
    for model, m in r["models"].items():
        for link, x in m["links"].items():
            c = x["check"]
            if c:
                out.append(f"  {model} tbf {link}: {c['measured_step_s'] * 1e3:.0f} ms measured, "
                           f"{c['predicted_step_s'] * 1e3:.0f} ms predicted from loopback ({_pct(c['error'])})")
    out.append(f"  worst {_pct(r['worst']['error'])} (target ≤ 15 %); stop agreement ≤ {_pct(r['worst']['stop_cost'])}")
    return "\n".join(out) + "\n"


def _convergence_records() -> list[tuple[str, dict]]:
    found = {}
    for path in sorted(RESULTS.glob("*-dist-convergence-*.json")):  # the newest date of each link wins
        found[path.stem.split("-dist-convergence-", 1)[1]] = json.loads(path.read_text(encoding="utf-8"))
    return sorted(found.items(), key=lambda kv: kv[0] != "loopback")


def _ms(sp: dict | None, fmt: str = "{:.1f}") -> str:
    if not sp:
        return "—"
    return fmt.format(sp["mean"]) + (f" ± {fmt.format(sp['stdev'])}" if sp["n"] > 1 else "")


def dist_convergence() -> str:
    """The convergence table per link (benchmarks/dist_convergence.py), with its verdicts."""
    from kpbench.scaling.output import verdicts

    records = _convergence_records()
    if not records:
        return (f"\nNo measurement yet: `{CONVERGENCE_CMD}` (about 45 minutes, root for the 1 Gbit/s link) writes "
                "benchmarks/results/DATE-dist-convergence-LINK.json.\n\n")
    out = []
    for link, rec in records:
        cfg = rec["config"]
        out += [f"**{'loopback' if link == 'loopback' else 'tbf ' + link}**: {cfg['budget_s']:g} s budget, target "
                f"{cfg['target_rmse_px']:g} px, mean ± σ over the runs (n).", "",
                "| configuration | workers | global batch | val RMSE (px) | time to target (s) | images/s | "
                "sent per step per worker | n |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for r in rec["rows"]:
            sp = r["spread"]
            ttt = _ms(sp.get("time_to_target_s")) if r["time_to_target_s"] is not None else \
                f"not reached ({r['target_reached']}/{r['repeats']})"
            sent = "—" if r["sent_bytes_per_step"] is None else f"{r['sent_bytes_per_step'] / 1e6:.2f} MB"
            out.append(f"| {r['variant']} | {r['nproc']} | {r.get('global_batch') or '—'} | "
                       f"{_ms(sp.get('final_val_rmse_px'), '{:.2f}')} | {ttt} | {_ms(sp.get('images_per_s'), '{:.0f}')} | "
                       f"{sent} | {r['repeats']} |")
        out += ["", *[f"- {v}." for v in verdicts(rec)], "",
                f"Measured {rec['created_utc'][:10]} on {rec['machine'].get('host', '?')} "
                f"({rec['machine'].get('cpu', '?')}, {rec['machine'].get('cores', '?')} cores).", ""]
    out.append(f"`{CONVERGENCE_CMD}`")
    return "\n" + "\n".join(out) + "\n\n"


def dist_convergence_header() -> str:
    records = _convergence_records()
    if not records:
        return "No quiet measurement yet: run the command below on a quiet machine.\n"
    from kpbench.scaling.output import verdicts

    lines = []
    for link, rec in records:
        lines.append(f"{link}, {rec['created_utc'][:10]}, {rec['machine'].get('cpu', '?')}:")
        lines += [f"  {v}" for v in verdicts(rec)]
    return "\n".join(lines) + "\n"


def newest(kind: str) -> str:
    """The stem of the newest results file of a kind, DATE-KIND.json; FileNotFoundError when there is none."""
    path = latest(f"????-??-??-{kind}.json")
    if path is None:
        raise FileNotFoundError(f"no benchmarks/results/DATE-{kind}.json yet")
    return path.stem


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'s' * (n != 1)}"


def peers() -> str:
    """kpbench against a DataLoader loop and Keras, images/s and MFU (benchmarks/peers.py)."""
    r = result(newest("cpu-peers"))
    mfu = r.get("mfu", {})
    lines = ["| peer | images/s, mean ± σ | median | MFU | speed path |", "|---|---:|---:|---:|---|"]
    for name, f in r["figures"].items():
        share = mfu.get(name, {}).get("mfu")
        path = r.get("details", {}).get(name, {}).get("speed_path", "")
        lines.append(f"| {name} | {f['mean']:.0f} ± {f['stdev']:.0f} | {f['median']:.0f} | "
                     f"{'–' if share is None else f'{100 * share:.1f} %'} | {path.split(' (')[0]} |")
    lines.append("")
    for v in r["ratios"]:
        if "ratio" in v:
            goal = "" if v.get("target") is None else f" (target ≥ {v['target']}×: {v['verdict']})"
            lines.append(f"- {v['a']} is {v['ratio']:.2f} ± {v['ratio_stdev']:.2f}× as fast as {v['b']}{goal}")
        elif "mfu" in v:
            lines.append(f"- {v['a']} reaches {100 * v['mfu']:.1f} % of the CPU's dense peak "
                         f"(target ≥ {100 * v['mfu_target']:.0f} %: {v['verdict']})")
    notes = {m["peak_note"] for m in mfu.values()}
    lines += ["", f"Measured {r['date']} on {r['machine']} (`benchmarks/peers.py`, `{newest('cpu-peers')}.json`)."]
    lines += [f"Peak: {n}." for n in sorted(notes)]
    return "\n".join(lines) + "\n"


def peers_header() -> str:
    """benchmarks/peers.py's header: the last result, the machine, the date, the verdicts."""
    name = newest("cpu-peers")
    r = result(name)
    medians = "   ".join(f"{k} {f['median']:.0f}" for k, f in r["figures"].items())
    out = [f"Last measured {r['date']} on {r['machine']}, {r['args']['epochs']} epochs, batch {r['args']['batch_size']}, "
           f"{r['args']['repeats']} repeats, {r['elapsed_s']:.0f} s in all (`{name}.json`). images/s, medians:",
           *textwrap.wrap(medians, 110, initial_indent="  ", subsequent_indent="  ")]
    for v in r["ratios"]:
        if v.get("target") is not None:
            out.append(f"  {v['verdict']} {v['a']} vs {v['b']}: {v['ratio']:.2f} ± {v['ratio_stdev']:.2f}x (target {v['target']}x)")
        elif "mfu" in v:
            out.append(f"  {v['verdict']} {v['a']}: {100 * v['mfu']:.1f} % of the CPU's dense peak (target {100 * v['mfu_target']:.0f} %)")
    return "\n".join(out) + "\n"


def _bench_split_results() -> tuple[dict, str, dict[str, dict]]:
    """(bench_split.py's summary, its date, the warm and cold Records of that date)."""
    name = newest("bench-split")
    date = name[:10]
    return result(name), date, {start: result(f"{date}-seed-faces15-bench-{start}") for start in ("warm", "cold")}


def bench_split() -> str:
    """The seed network's bench on faces15, warm against cold: the split of the wall clock (bench_split.py)."""
    summary, date, records = _bench_split_results()
    lines = ["| phase | warm, median s | share | cold, median s | share |", "|---|---:|---:|---:|---:|"]
    for name in records["warm"]["phases"]:
        cells = []
        for rec in records.values():
            fig, wall = rec["phases"][name], rec["figures"]["wall_s"]["median"]
            cells += [f"{fig['median']:.3f}", f"{100 * fig['median'] / wall:.1f} %"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    walls = [rec["figures"]["wall_s"]["median"] for rec in records.values()]
    inits = [rec["figures"]["init_s"]["median"] for rec in records.values()]
    lines.append(f"| **wall_s** | **{walls[0]:.3f}** | 100 % | **{walls[1]:.3f}** | 100 % |")
    lines.append(f"| init_s | {inits[0]:.3f} | | {inits[1]:.3f} | |")
    ev = [r["eviction"] for r in records["cold"]["runs"] if r.get("eviction")]
    floor = summary["warm"]["import_torch_s_median"]
    lines += ["", f"`import torch` in a fresh process: {floor:.2f} s (median); init_s, warm: "
              f"{summary['warm']['init_s_min']:.2f} s at least (covers it: {summary['warm']['init_covers_import']}). "
              f"Largest unattributed share: warm {100 * summary['warm']['unattributed_share_max']:.2f} %, cold "
              f"{100 * summary['cold']['unattributed_share_max']:.2f} % (target ≤ 2 %)."]
    if ev:
        e = ev[0]
        lines.append(f"Each cold repeat evicted {e['files']} files ({e['mb']:.0f} MB) in {e['evict_s']:.1f} s; "
                     f"{e['resident_before_mb']:.0f} MB of them were cached before, {e['resident_after_mb']:.0f} MB "
                     "stayed (pages other processes map).")
    cfg = records["warm"]["config"]
    lines.append(f"Measured {date} on {records['warm']['machine']['cpu_model']}: {cfg['model']}, batch "
                 f"{cfg['batch_size']}, {plural(cfg['epochs'], 'epoch')}, {cfg['rows']} rows, "
                 f"{plural(records['warm']['repeats']['completed'], 'repeat')} each (`benchmarks/bench_split.py`).")
    return "\n".join(lines) + "\n"


# The README's short form of the split: phases grouped as a user meets them.
_SPLIT_GROUPS = {"start and imports": ("interpreter_s", "imports_s"),
                 "device, data, model, speed path": ("device_init_s", "data_load_s", "train_setup_s", "autotune_s",
                                                     "model_build_s"),
                 "warm-up": ("warmup_s",), "steady training": ("steady_train_s",), "evaluation": ("eval_s",),
                 "checkpoints, teardown": ("checkpoint_s", "teardown_s"), "unattributed": ("unattributed_s",)}


def bench_split_short() -> str:
    """The README's view of bench_split(): the phases in groups, warm and cold side by side."""
    _, date, records = _bench_split_results()
    head = " | ".join(_SPLIT_GROUPS)
    lines = [f"| start | {head} | **wall clock** | init_s |", "|---" + "|---:" * (len(_SPLIT_GROUPS) + 2) + "|"]
    for start, rec in records.items():
        cells = [sum(rec["phases"][p]["median"] for p in group if p in rec["phases"]) for group in _SPLIT_GROUPS.values()]
        lines.append(f"| {start} | " + " | ".join(f"{c:.2f}" for c in cells)
                     + f" | **{rec['figures']['wall_s']['median']:.2f}** | {rec['figures']['init_s']['median']:.2f} |")
    cfg = records["warm"]["config"]
    lines += ["", f"Seconds, medians of {plural(records['warm']['repeats']['completed'], 'repeat')}: {cfg['model']}, batch "
              f"{cfg['batch_size']}, {plural(cfg['epochs'], 'epoch')} of {cfg['rows']} faces, measured {date} on "
              f"{records['warm']['machine']['cpu_model']} with nothing else running (`benchmarks/bench_split.py`; every "
              "phase in [docs/bench.md](docs/bench.md))."]
    return "\n" + "\n".join(lines) + "\n\n"


def cpu_paths() -> str:
    """Which CPU path is fastest here and whether bf16 keeps fp32's accuracy (benchmarks/cpu_paths.py)."""
    name = newest("cpu-paths")
    r = result(name)
    lines = ["| network | candidate | images/s | vs fp32-cl |", "|---|---|---:|---:|"]
    for model, rates in r["speed"].items():
        base = rates.get(f"fp32-cl-t{r['threads']}") or next(iter(rates.values()))
        for cand, rate in sorted(rates.items(), key=lambda kv: -kv[1]):
            lines.append(f"| {model} | {cand} | {rate:.0f} | {rate / base:.2f}× |")
    d = r["dense_nhwc_over_nchw"]
    lines += ["", f"Seed's dense layer fed in NHWC order: {d['fp32']:.2f}× (fp32), {d['bf16']:.2f}× (bf16) of NCHW order."]
    if "compile" in r:
        c = r["compile"]
        lines.append(f"torch.compile: first call {c['first_call_s']:.0f} s, then {c['steady_over_eager']:.2f}× eager.")
    for model, a in r["accuracy"].items():
        runs = ", ".join(f"{k} {v:.3f}" for k, v in a["val_rmse_px"].items())
        lines.append(f"{model}, {plural(a['epochs'], 'epoch')}: val RMSE px {runs}; bf16/fp32 {a['bf16_over_fp32']:.3f} "
                     f"(within 2 %: {a['within_2_percent']}).")
    lines.append(f"Measured {r['date']} on {r['machine']}, {plural(r['threads'], 'thread')} (`benchmarks/cpu_paths.py`).")
    return "\n".join(lines) + "\n"


def recipe_study() -> str:
    """Validation RMSE of recipes at fixed epochs on faces15, random and hard validation (benchmarks/recipe_study.py)."""
    name = newest("recipe-study")
    r = result(name)
    lines = ["| run | epochs | val px | val, flip TTA | hard val px | hard, flip TTA |", "|---|---:|---:|---:|---:|---:|"]
    for run, v in r["runs"].items():
        lines.append(f"| {run} | {v['epochs']} | {v['val_px']:.3f} | {v['val_tta_px']:.3f} | {v['hard_px']:.3f} "
                     f"| **{v['hard_tta_px']:.3f}** |")
    ratios = r.get("images_per_s_ratios", {})
    shown = ", ".join(f"{k} {v:.2f}×" for k, v in ratios.items() if k != "note")
    lines += ["", f"Speed ratios (images/s; {ratios.get('note', '')}): {shown}." if ratios else "",
              f"Measured {r['date']}, {plural(r['threads'], 'thread')}, hard validation = {r['hard_rows']} rows "
              f"(`benchmarks/recipe_study.py`, `{name}.json`)."]
    return "\n".join(line for line in lines if line is not None) + "\n"


def train_60s() -> str:
    """The default recipe at the 60-second budget on faces15 (benchmarks/train_60s.py)."""
    name = newest("faces15-default-60s-metrics")
    m = result(name)
    cfg = m["config"]
    path = m.get("speed_path")
    ran = f"{path['precision']}, {'channels-last' if path['channels_last'] else 'NCHW'}, {path['threads']} threads" \
        if path else m["precision"]
    return (f"Validation RMSE **{m['final_val_rmse_px']:.2f} px** after {len(m['history'])} epochs "
            f"({m['steady_images_per_s']:.0f} images/s, {ran}; {cfg['model']}, batch {cfg['batch_size']}), measured "
            f"{name[:10]} (`benchmarks/train_60s.py`; `{name}.json`). The test-set RMSE of its submission "
            f"(`{name.replace('metrics', 'submission')}.csv`) is scored by whoever holds the withheld labels.\n")


def _band(m: float | None, low: float | None, high: float | None, fmt: str = "{:.3g}") -> str:
    if m is None:
        return "–"
    if low is None or high is None or (low == m == high):
        return fmt.format(m)
    return f"{fmt.format(m)} ({fmt.format(low)}–{fmt.format(high)})"


def study_table() -> str:
    """The original study's table: its five instances and today's replacements, estimated, and this machine,
    measured (benchmarks/study.py, from `kpbench estimate --study` and the seed bench Record)."""
    from kpbench.cost import load_catalog

    r = result(newest("study"))
    catalog = load_catalog()
    lines = ["| instance | GPU, precision | status | initialization (s) | training (s) | $/h | $/run | basis |",
             "|---|---|---|---:|---:|---:|---:|---|"]
    for e in r["estimates"]:
        inst = catalog.get(e["instance_type"]) if e["instance_type"] else None
        status = "this machine"
        if inst is not None:
            status = f"retired {inst.retired_date} → {inst.replacement}" if inst.retired else "available"
        gpu = e["gpu"] or "none (CPU)"
        measured = e["basis"].startswith("measured")
        basis = "measured" if measured else ("estimated" if e["calibrated"] else "estimated, outside the calibration")
        price = "–" if e["price_per_hour"] is None else f"{e['price_per_hour']:g}"
        cost = _band(e["cost_per_run_usd"], e["cost_per_run_usd_low"], e["cost_per_run_usd_high"], "{:.3f}")
        lines.append(f"| {e['instance_type'] or 'this machine'} | {gpu}, {e['precision']} | {status} | "
                     f"{_band(e['init_s'], e['init_s_low'], e['init_s_high'])} | "
                     f"{_band(e['train_s'], e['train_s_low'], e['train_s_high'])} | {price} | {cost} | {basis} |")
    w = r["workload"]
    lines += ["", f"Workload: the {r['model']} network, {w['source']}. Median (band); the bands come from the "
              f"estimator's error on {r['calibration']['points']} published measurements (leave-one-out median "
              f"{100 * r['calibration']['loo_median_abs_error']:.0f} %, worst {100 * r['calibration']['loo_worst_abs_error']:.0f} %). "
              f"Made {r['date']} by `{r['command']}` from `{r['record']}`."]
    return "\n" + "\n".join(lines) + "\n\n"


def dist_verdicts() -> str:
    """The convergence table in one row per link, for the README: 1 worker against the soonest N-worker
    configuration, and which configurations missed the target within the budget."""
    from kpbench.scaling.output import sooner_ratio

    records = _convergence_records()
    if not records:
        return "\nNo quiet measurement yet (benchmarks/dist_convergence.py).\n\n"
    lines = ["| link | 1 worker to the target | soonest with more workers | against 1 worker | missed the target in some run |",
             "|---|---:|---|---|---|"]
    for link, rec in records:
        base = next(r for r in rec["rows"] if r["nproc"] == 1)
        many = [r for r in rec["rows"] if r["nproc"] > 1 and r["time_to_target_s"] is not None]
        best = min(many, key=lambda r: r["time_to_target_s"]) if many else None
        verdict = "—"
        if best is not None and (ratio := sooner_ratio(base, best)) is not None:
            k = ratio[0] if ratio[0] >= 1 else 1 / ratio[0]
            verdict = f"{k:.2f} ± {ratio[1] * k / ratio[0]:.2f}× {'sooner' if ratio[0] >= 1 else 'later'}"
        missed = ", ".join(r["variant"] for r in rec["rows"] if r["target_reached"] < r["repeats"])
        best_cell = "none reached it" if best is None else \
            f"{best['variant']}: {_ms(best['spread'].get('time_to_target_s'))} s (n = {best['repeats']})"
        lines.append(f"| {'loopback' if link == 'loopback' else 'tbf ' + link} | "
                     f"{_ms(base['spread'].get('time_to_target_s'))} s (n = {base['repeats']}) | {best_cell} | {verdict} | "
                     f"{missed or 'none'} |")
    cfg = records[0][1]["config"]
    lines += ["", f"{cfg['model']} on faces15, {cfg['budget_s']:g} s budget, target {cfg['target_rmse_px']:g} px validation "
              f"RMSE, 2 workers on this 2-core VM, measured {records[0][1]['created_utc'][:10]} with nothing else running "
              "(`benchmarks/dist_convergence.py`; every configuration in [docs/distributed.md](docs/distributed.md))."]
    return "\n" + "\n".join(lines) + "\n\n"


def quickstart() -> str:
    """How long the README's two commands took on a fresh clone here (benchmarks/quickstart.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("quickstart", Path(__file__).with_name("quickstart.py"))
    timer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(timer)  # the two commands live with the script that times them
    try:
        r = result(newest("quickstart"))
    except FileNotFoundError:  # a fresh measurement is taken on the committed tree: the commands come first
        return "\n```sh\n" + "".join(f"{cmd:<11}# {what}\n" for cmd, what in timer.COMMANDS) + "```\n\n"
    lines = ["```sh"]
    for c in r["commands"]:
        lines.append(f"{c['command']:<11}# {c['what']} ({c['wall_s'] / 60:.1f} min here)")
    lines += ["```", "", f"Timed {r['date']} on a fresh clone, {r['machine']}, nothing else running "
              f"(`python benchmarks/quickstart.py`; `make test`: {r['tests']}; the unit tier alone, `make test-quick`: "
              f"{r['unit_tier_s']:.0f} s)."]
    return "\n" + "\n".join(lines) + "\n\n"


RENDERERS: dict[str, Callable[[], str]] = {
    "study-table": study_table, "dist-verdicts": dist_verdicts, "quickstart": quickstart,
    "bench-split": bench_split, "bench-split-short": bench_split_short, "cpu-paths": cpu_paths, "train-60s": train_60s,
    "recipe-study": recipe_study,
    "catalog": catalog, "peers": peers, "peers-header": peers_header, "estimate-gpus": estimate_gpus,
    "estimate-calibration": estimate_calibration,
    "dist-scale": dist_scale, "dist-scale-header": dist_scale_header,
    "dist-convergence": dist_convergence, "dist-convergence-header": dist_convergence_header,
}


# --- Finding and rewriting blocks ---


def documents() -> list[Path]:
    here = Path(__file__).resolve()  # its docstring shows the markers; it holds no block
    return sorted({p for pattern in DOCUMENTS for p in ROOT.glob(pattern)} - {here})


def rewrite(text: str, renderers: dict[str, Callable[[], str]] = RENDERERS) -> tuple[str, list[str], list[str]]:
    """(new text, names of blocks that changed, problems: unknown names and missing sources)."""
    changed: list[str] = []
    problems: list[str] = []

    def one(m: re.Match) -> str:
        name = m.group("name")
        if name not in renderers:
            problems.append(f"unknown block {name!r}")
            return m.group(0)
        try:
            body = renderers[name]()
        except (OSError, KeyError, ValueError) as e:
            problems.append(f"block {name!r}: its source cannot be read ({e})")
            return m.group(0)
        if body != m.group("body"):
            changed.append(name)
        return m.group(1) + body + m.group(4)

    return _BLOCK.sub(one, text), changed, problems


def run(check: bool) -> int:
    stale = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        new, changed, problems = rewrite(text)
        rel = path.relative_to(ROOT)
        for p in problems:
            print(f"{rel}: {p}", file=sys.stderr)
        if changed:
            stale += [f"{rel}: {name}" for name in changed]
            if not check:
                path.write_text(new, encoding="utf-8")
    verb = "differ from their sources (run `make docs`)" if check else "rewritten"
    for s in stale:
        print(f"{s}: {verb}", file=sys.stderr if check else sys.stdout)
    return 1 if (check and stale) else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any block is stale")
    return run(parser.parse_args(argv).check)


if __name__ == "__main__":
    sys.exit(main())
