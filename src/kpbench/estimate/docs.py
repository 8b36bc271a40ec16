"""The tables of docs/estimate.md, generated: the GPU table from gpus.csv, the calibration from the benchmark's JSON.

`make docs` rewrites each block between its markers; a test fails when a block and its source differ.
"""

from __future__ import annotations

import json
from pathlib import Path

from kpbench import atomic
from kpbench.estimate.gpus import load_gpus

RESULTS = Path(__file__).resolve().parents[3] / "benchmarks" / "results" / "estimate_calibration.json"
BLOCKS = {"gpus": "GPU table: generated from src/kpbench/estimate/gpus.csv",
          "calibration": "calibration: generated from benchmarks/results/estimate_calibration.json"}


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- {BLOCKS[name]}; `make docs` rewrites it -->", f"<!-- end of {name} table -->"


def gpu_markdown() -> str:
    def cell(v: float | None) -> str:
        return "–" if v is None else f"{v:g}"

    lines = ["| GPU | one instance gets | arch | SMs | boost MHz | FP32 | FP16 tensor | BF16 tensor | TF32 tensor "
             "| GB/s | L2 MB | status | source |", "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"]
    for g in load_gpus().values():
        lines.append(f"| {g.name} | {g.instance_share} | {g.arch} | {g.sms} | {cell(g.boost_mhz)} | {cell(g.fp32_tflops)} "
                     f"| {cell(g.fp16_tensor_tflops or g.fp16_vector_tflops)} | {cell(g.bf16_tensor_tflops)} "
                     f"| {cell(g.tf32_tensor_tflops)} | {cell(g.mem_bw_gb_s)} | {cell(g.l2_mb)} | {g.status} | {g.source} |")
    return "\n".join(lines) + "\n"


def calibration_markdown(results: dict) -> str:
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
    return "\n".join(lines) + "\n"


def generated(name: str, results: dict | None = None) -> str:
    start, end = _markers(name)
    if name == "gpus":
        body = gpu_markdown()
    else:
        body = calibration_markdown(results or json.loads(RESULTS.read_text(encoding="utf-8")))
    return f"{start}\n\n{body}\n{end}"


def block_in(text: str, name: str) -> str | None:
    start, end = _markers(name)
    i, j = text.find(start), text.find(end)
    return text[i:j + len(end)] if 0 <= i < j else None


def update_docs(path: str | Path) -> bool:
    """Rewrite every generated block of ``path``; True when one changed."""
    path = Path(path)
    text = original = path.read_text(encoding="utf-8")
    for name in BLOCKS:
        old = block_in(text, name)
        if old is not None:
            text = text.replace(old, generated(name))
    if text != original:
        atomic.write_text(path, text)
    return text != original


if __name__ == "__main__":  # `make docs`
    import sys

    for doc in sys.argv[1:]:
        print(f"{doc}: {'rewritten' if update_docs(doc) else 'up to date'}")
