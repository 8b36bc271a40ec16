"""Data-parallel steps on torchrun: does the α-β model predict them, and do the parts add up?

Last measured 2026-12-01 on the 2-core development VM (Intel Xeon, AVX512-BF16, no AMX), torch 2.13
CPU, gloo, quiet (nothing else running), synthetic faces, batch 32 per worker, 10 timed steps,
`python benchmarks/dist_scale.py --steps 10` (2 min 20 s):
  seed   loopback 1×2t 150 ms/step (213 img/s), 2×1t 312 ms (205 img/s);
         tbf 1gbit 395 ms (α-β −11.9 %), tbf 200mbit 1479 ms (α-β −3.6 %)
  bncnn  loopback 1×2t  35 ms/step (915 img/s), 2×1t  77 ms (827 img/s);
         tbf 1gbit  68 ms (α-β +1.2 %),  tbf 200mbit  101 ms (α-β +9.3 %)
  parts (fwd + bwd + exposed + opt) vs step: worst 2.5 %                          (target ≤ 5 %: met)
  α-β prediction on shaped links: worst 11.9 % (seed, 1 Gbit/s)                  (target ≤ 15 %: met)
  2 workers × 1 thread vs 1 worker × 2 threads, loopback: seed 0.96x, bncnn 0.90x images/s

Targets (issue 10):
  - the α-β prediction of step time within 15 % of measurement on links shaped with tc tbf to
    1 Gbit/s and 200 Mbit/s, for seed and bncnn;
  - forward + backward + exposed communication (+ optimizer) = the measured step within 5 %;
  - 2 workers × 1 thread against 1 worker × 2 threads on unshaped loopback: the ratio, both models.

What is run, side by side in one go: per model, one 1-worker job and one 2-worker job on loopback
(threads = cores ÷ workers), then a 2-worker job per shaped link (each worker in its own network
namespace, kpbench.scaling.netns; root and iproute2 needed, else those rows are skipped). Every job
is a fresh torchrun job running kpbench.scaling.worker, exactly as `kpbench dist scale` runs it.

Run:  python benchmarks/dist_scale.py [--steps 12] [--models seed,bncnn] [--links 1gbit,200mbit]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kpbench.scaling import analysis  # noqa: E402
from kpbench.scaling.alphabeta import parse_rate_bit_per_s  # noqa: E402
from kpbench.scaling.scale import ScaleConfig, run_job  # noqa: E402


def _rows(cfg: ScaleConfig, nprocs: list[int], work: Path) -> tuple[list[dict], dict]:
    raws = [run_job(cfg, n, work) for n in nprocs]
    rows = [analysis.row(r, cfg.batch_size) for r in raws]
    analysis.add_speedups(rows)
    return rows, analysis.allreduce(raws)


def _line(model: str, where: str, r: dict, check: dict | None) -> str:
    pred = "" if check is None else (f"  predicted {check['predicted_step_s'] * 1e3:7.1f} ms ({check['error'] * 100:+5.1f} %),"
                                     f" serial {check['serial_step_s'] * 1e3:7.1f} ms ({check['serial_error'] * 100:+5.1f} %)")
    return (f"{model:8s} {where:16s} {r['nproc']}×{r['threads']}t  step {r['step_s'] * 1e3:7.1f} ms  "
            f"exposed {r['exposed_comm_s'] * 1e3:6.1f} ms  parts {r['parts_error'] * 100:+5.1f} %  "
            f"{r['images_per_s']:6.0f} img/s{pred}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=12)
    ap.add_argument("--models", default="seed,bncnn")
    ap.add_argument("--links", default="1gbit,200mbit")
    ap.add_argument("--data", default="synthetic")
    args = ap.parse_args()
    can_shape = os.geteuid() == 0 and shutil.which("ip") and shutil.which("tc")
    worst_pred, worst_serial, worst_parts, ratios = 0.0, 0.0, 0.0, {}
    with tempfile.TemporaryDirectory(prefix="kpbench-bench-dist-") as tmp:
        for model in args.models.split(","):
            base = ScaleConfig(data=args.data, model=model, steps=args.steps, allreduce_max_bytes=64 << 20).resolved()
            rows, fit = _rows(base, [1, 2], Path(tmp))
            ratios[model] = rows[1]["images_per_s"] / rows[0]["images_per_s"]
            checks = {c["nproc"]: c for c in analysis.checks(rows, fit, "none")}
            for r in rows:
                print(_line(model, "loopback", r, checks.get(r["nproc"])), flush=True)
                worst_parts = max(worst_parts, abs(r["parts_error"]))
            for link in args.links.split(",") if can_shape else []:
                cfg = ScaleConfig(data=args.data, model=model, steps=args.steps, allreduce_max_bytes=32 << 20,
                                  link_limit_bit_per_s=parse_rate_bit_per_s(link)).resolved()
                (r,), fit = _rows(cfg, [2], Path(tmp))
                (c,) = analysis.checks([r], fit, "none")
                print(_line(model, f"tbf {link}", r, c) + f"  busbw {fit['busbw_largest_bytes_per_s'] * 8 / 1e6:.0f} Mbit/s",
                      flush=True)
                worst_pred = max(worst_pred, abs(c["error"]))
                worst_serial = max(worst_serial, abs(c["serial_error"]))
                worst_parts = max(worst_parts, abs(r["parts_error"]))
    if not can_shape:
        print("shaped links skipped: needs root and iproute2")
    print(f"α-β prediction, worst |error| on shaped links: {worst_pred * 100:.1f} % with overlap, "
          f"{worst_serial * 100:.1f} % serial   (target ≤ 15 %)")
    print(f"fwd + bwd + exposed + opt against the step, worst: {worst_parts * 100:.1f} %   (target ≤ 5 %)")
    for model, ratio in ratios.items():
        print(f"{model}: 2 workers × 1 thread vs 1 worker × 2 threads, loopback: {ratio:.2f}x images/s")


if __name__ == "__main__":
    main()
