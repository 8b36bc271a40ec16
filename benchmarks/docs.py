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


def peers() -> str:
    """kpbench against a DataLoader loop and Keras, images/s (benchmarks/peers.py --json)."""
    r = result("2026-11-24-cpu-peers")
    lines = ["| peer | images/s, mean ± σ | median |", "|---|---:|---:|"]
    for name, f in r["figures"].items():
        lines.append(f"| {name} | {f['mean']:.0f} ± {f['stdev']:.0f} | {f['median']:.0f} |")
    lines.append("")
    lines.append(f"Measured {r['date']} on {r['machine']}.")
    return "\n".join(lines) + "\n"


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


RENDERERS: dict[str, Callable[[], str]] = {
    "catalog": catalog, "peers": peers, "estimate-gpus": estimate_gpus, "estimate-calibration": estimate_calibration,
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
