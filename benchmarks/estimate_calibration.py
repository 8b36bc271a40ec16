"""Calibrate and check `kpbench estimate`'s cost model against published measurements.

Result (2026-12-04, the 2-vCPU AMD EPYC development VM, torch 2.13.0+cpu; the fit needs no GPU and no quiet machine):
  38 published points, leave-one-out |error| median 12.0 %, worst 39.5 % (A100-80GB ResNet-50 fp32, NVIDIA 21.03);
  band on a calibrated step estimate ×0.83 … ×1.21. Small CNNs, same code on two GPUs (DAWNBench CIFAR-10 logs):
  K80/P100 ResNet-164 ratio 3.56× predicted vs 3.08× measured (+15.6 %); M60/V100 ResNet-50 4.39× vs 2.99× (+46.9 %,
  outside the 20 % target; 2.16× with the calibration stacks' host costs: that V100 run was not GPU-bound, both runs
  took 9-13× the model's GPU time per step, and no published figure gives tensorpack's per-step host cost).
CPU (`--cpu`, 2026-12-07, the same VM, then exposing AVX2 only, quiet: nothing else running; 2 threads, fp32,
  batch 32, kpbench bench medians of 3): seed 136.4 ms measured, 134.4 ms predicted (-1.5 %); bncnn 40.0 ms measured,
  53.0 ms predicted (+32.6 %, outside the 25 % target). Convolution efficiency depends on the layer's narrow weight
  side (model.cpu_conv_efficiency; forward 0.94, backward 0.61, width_half 16, fitted to seed's and bncnn's layers
  timed one by one in a real training step with torch's profiler): bncnn's 3x3 layers over 32-64 channels run
  faster in a whole step than that fit says. benchmarks/results/estimate_cpu.json holds the run.

Command: `PYTHONPATH=src:benchmarks python benchmarks/estimate_calibration.py` (about 3 minutes: one fit,
then one refit per point for leave-one-out). `--write` stores the fitted constants in
src/kpbench/estimate/constants.json and the result in benchmarks/results/estimate_calibration.json (docs/estimate.md's
table is generated from it). `--cpu` instead checks the model with this machine's CPU figures against step times
`kpbench bench` measures here (needs a quiet machine; see docs/estimate.md).

Every published point (benchmarks/data/published-throughput.csv, with its source) is printed next to the model's
prediction: fitted on all points, and leave-one-out (fitted without the point, then predicting it), which is the
error to expect on a network and GPU the fit has not seen.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from kpbench.estimate import model as model_mod
from kpbench.estimate import ops as ops_mod
from kpbench.estimate.gpus import gpu as gpu_row
from kpbench.estimate.model import Constants, OpArrays, predict_step

HERE = Path(__file__).resolve().parent
PUBLISHED = HERE / "data" / "published-throughput.csv"
RESULTS = HERE / "results" / "estimate_calibration.json"
RATIOS = HERE / "data" / "small-cnn-ratios.csv"
PRECISION = {"fp32": "fp32", "tf32": "fp32", "amp fp16": "fp16", "fp16": "fp16", "bf16": "bf16"}
GEMM_SIDE = 8192  # "best shape" of the published maximum-achievable-matmul runs: a large square GEMM


@dataclass
class Case:
    source: str
    gpu: str  # row of gpus.csv
    what: str  # network or operator
    kind: str  # train, latency, op-floor, op-bandwidth, gemm
    batch: int
    precision: str
    metric: str
    value: float
    stack: str  # the software that measured it (STACKS); "pytorch" is the reference kpbench's own eager loop is like
    arrays: OpArrays | None = None

    @property
    def label(self) -> str:
        b = f" b{self.batch}" if self.batch else ""
        return f"{self.gpu} {self.what}{b} {self.precision} {self.kind}"


def load_cases() -> list[Case]:
    rows = [r for r in csv.DictReader(line for line in PUBLISHED.open(encoding="utf-8") if not line.startswith("#"))]
    cases = []
    for r in rows:
        task, metric = r["task"], r["metric"]
        if metric == "images_per_s":
            kind = "train"
        elif task.startswith("inference"):
            kind = "latency"
        elif metric == "latency_ms":
            kind = "op-floor"
        elif metric == "effective_gb_s":
            kind = "op-bandwidth"
        else:
            kind = "gemm"
        cases.append(Case(source=r["source"], gpu=r["gpu_row"], what=r["model"], kind=kind,
                          batch=int(r["batch_per_gpu"] or 0), precision=PRECISION[r["precision"]], metric=metric,
                          value=float(r["value"]), stack=stack_of(r["source"])))
    return cases


def stack_of(source: str) -> str:
    """The software stack a published figure was measured with: its speed differs up to 2× on one GPU."""
    if source.startswith("TensorFlow"):
        return "tf1"  # tf_cnn_benchmarks, TensorFlow 1.1, CUDA 8, cuDNN 5.1 (2017)
    for container in ("21.03", "20.06"):
        if f"container {container}" in source:
            return f"dle-{container}"  # NVIDIA DeepLearningExamples: DALI, channels-last, tuned for the GPU
    return "pytorch"  # plain PyTorch: Lambda's benchmark, NeuSight's per-operator timings, stas00's matmul


def trace_cases(cases: list[Case]) -> None:
    """Trace each distinct network step once (fake tensors: no GPU, about a second each)."""
    from estimate_networks import NETWORKS
    from kpbench.estimate.trace import trace_step

    cache: dict[tuple, OpArrays] = {}
    for case in cases:
        if case.kind in ("train", "latency"):
            key = (case.what, case.batch, case.precision, case.kind)
            if key not in cache:
                build, side = NETWORKS[case.what]
                t = trace_step(build, batch_size=case.batch, precision=case.precision, input_shape=(3, side, side),
                               optimizer="sgd", loss="cross_entropy", label=case.what, inference=case.kind == "latency")
                cache[key] = OpArrays.of(t)
            case.arrays = cache[key]
        else:
            case.arrays = _single_op(case)


def _single_op(case: Case) -> OpArrays:
    if case.kind == "gemm":
        n = GEMM_SIDE
        return _arrays(flops=2.0 * n**3, nbytes=3 * n * n * 2, parallel=n * n, kind=ops_mod.GEMM, precision=case.precision)
    elements = 65536 if case.kind == "op-floor" else 62.7e6  # the NeuSight rows: ≤ 64 Ki elements, 62.7 M elements
    return _arrays(flops=elements, nbytes=12 * elements, parallel=elements, kind=ops_mod.ELEMENTWISE, precision="fp32")


def _arrays(*, flops: float, nbytes: float, parallel: float, kind: str, precision: str) -> OpArrays:
    return OpArrays(flops=np.array([flops]), bytes=np.array([nbytes]), kernels=np.array([1.0]),
                    parallel=np.array([parallel]), kind=np.array([ops_mod.KINDS.index(kind)]),
                    conv_class=np.array([""]), precision=np.array([precision]), module_calls=0)


def predict(case: Case, c: Constants) -> float:
    g = gpu_row(case.gpu)
    c = stack_constants(c, case.stack)
    if case.kind == "train":
        return case.batch / predict_step(case.arrays, g, c).step_s
    if case.kind in ("latency", "op-floor"):
        return predict_step(case.arrays, g, c, synchronised=True).step_s * 1e3
    device, _, _ = model_mod.device_times(case.arrays, g, c)
    if case.kind == "op-bandwidth":
        return float(case.arrays.bytes.sum() / device.sum() / 1e9)
    return float(case.arrays.flops.sum() / device.sum() / 1e12)


# -- parameters -------------------------------------------------------------------------------------------------

# (name, prior, low, high): every fitted constant, its prior (a plain-words guess, weakly held) and bounds.
PARAMS: list[tuple[str, float, float, float]] = [
    ("compute.fp32.Kepler", 0.4, 0.05, 0.9), ("compute.fp32.Pascal", 0.5, 0.05, 0.9),
    ("compute.fp32.Volta", 0.5, 0.05, 0.9), ("compute.fp32.Turing", 0.5, 0.05, 0.9),
    ("compute.tf32.Ampere", 0.4, 0.02, 0.9), ("compute.tf32.Hopper", 0.4, 0.02, 0.9),
    ("compute.half.Volta", 0.4, 0.02, 0.9), ("compute.half.Ampere", 0.4, 0.02, 0.9),
    ("compute.half.Hopper", 0.4, 0.02, 0.9), ("gemm.half", 0.8, 0.3, 0.95), ("algorithm.fp32.3x3", 1.5, 1.0, 4.0),
    ("algorithm.fp32.5x5+", 1.5, 1.0, 4.0),
    ("memory.default", 0.8, 0.5, 0.95),
    ("stack.tf1.memory", 1.0, 0.5, 5.0), ("stack.dle-21.03.device", 1.0, 0.3, 3.0),
    ("stack.dle-20.06.device", 1.0, 0.3, 3.0),
    ("kernel_floor_s", 3e-6, 5e-7, 3e-5), ("launch_s", 5e-6, 5e-7, 5e-5), ("dispatch_s", 1e-5, 1e-6, 2e-4),
    ("module_s", 2e-5, 1e-6, 2e-4), ("sync_s", 1e-5, 1e-6, 1e-4),
]
# Not fitted (the published set, large networks at large batches, cannot tell them apart), set by reasoning:
# - memory-bound operators: Little's law, bandwidth × DRAM latency ≈ 900 GB/s × 0.5 µs ≈ 450 KB in flight on a V100,
#   about 1500 fp32 elements per SM, reach half the bandwidth;
# - convolutions and matmuls: about one 64×64 output tile per SM gives half the compute rate.
FILL = {"fill_elements_per_sm": 1500.0, "fill_outputs_per_sm": 4096.0}
# This machine's CPU (no published CPU point to fit). Convolutions: e = e_pass / (1 + (width_half / width)²), width the
# narrow side of the weight matrix (model.cpu_conv_efficiency); e_pass and width_half fitted to the seed and bncnn layers
# timed one by one inside a real training step here (torch profiler, 2 threads, 2026-12-06: forward 0.94, backward 0.61
# of the nominal-clock peak; width_half 16 fp32 lanes: one AVX-512 vector, two AVX2 ones). MKL's matmuls reach about 60 %
# of the vector peak; memory-bound operators about half of the STREAM copy bandwidth; a parallel region (OpenMP fork
# and join) costs a few microseconds. `--cpu` checks them against kpbench bench on this machine.
CPU = {"conv_forward": 0.94, "conv_backward": 0.61, "conv_width_half": 16.0, "gemm": 0.6, "elementwise": 0.5,
       "memory": 0.5, "parallel_region_s": 5e-6}
PRIOR_WEIGHT = 0.05  # residual per unit of log-distance from the prior: keeps unidentified constants at their guess


def stack_constants(c: Constants, stack: str) -> Constants:
    """The constants as one published stack sees them: its fitted speed factors applied (reference: 1)."""
    factors = c.meta.get("stacks", {}).get(stack, {})
    memory = factors.get("memory", 1.0) * factors.get("device", 1.0)
    device = factors.get("device", 1.0)
    if memory == 1.0 and device == 1.0:
        return c
    return replace(c, compute={p: {a: e / device for a, e in t.items()} for p, t in c.compute.items()},
                   gemm={p: e / device for p, e in c.gemm.items()}, memory={a: e / memory for a, e in c.memory.items()})


def constants_of(theta: np.ndarray, base: Constants | None = None) -> Constants:
    values = {name: float(math.exp(t)) for (name, *_), t in zip(PARAMS, theta)}
    compute: dict[str, dict[str, float]] = {}
    memory, gemm, algorithm, stacks = {}, {}, {}, {}
    for name, v in values.items():
        parts = name.split(".")
        if parts[0] == "stack":
            stack, key = name.removeprefix("stack.").rsplit(".", 1)
            stacks.setdefault(stack, {})[key] = v
        elif parts[0] == "compute":
            compute.setdefault(parts[1], {})[parts[2]] = v
        elif parts[0] == "memory":
            memory[parts[1]] = v
        elif parts[0] == "gemm":
            gemm[parts[1]] = v
        elif parts[0] == "algorithm":
            algorithm.setdefault(parts[1], {})[parts[2]] = v
    for table in compute.values():
        table["default"] = float(statistics.geometric_mean(table.values()))
    compute["fp32"].setdefault("default", compute["fp32"]["default"])
    compute["half-vector"] = dict(compute["fp32"])  # P100's fp16: CUDA cores at twice the rate
    algorithm["half-vector"] = dict(algorithm["fp32"])
    calibrated = {"fp32": ["Kepler", "Pascal", "Volta", "Turing"], "tf32": ["Ampere", "Hopper"],
                  "half": ["Volta", "Ampere", "Hopper"]}
    band = base.band if base else {"calibrated": [0.8, 1.25], "uncalibrated": [0.6, 1.6]}
    return Constants(compute=compute, gemm=gemm, algorithm=algorithm, memory=memory,
                     kernel_floor_s=values["kernel_floor_s"], launch_s=values["launch_s"],
                     dispatch_s=values["dispatch_s"], module_s=values["module_s"], sync_s=values["sync_s"],
                     **FILL, band=band, calibrated=calibrated,
                     cpu=base.cpu if base else CPU, meta={**(base.meta if base else {}), "stacks": stacks})


def fit(cases: list[Case], start: np.ndarray | None = None) -> np.ndarray:
    from scipy.optimize import least_squares

    prior = np.log([p for _, p, _, _ in PARAMS])
    lo, hi = np.log([p[2] for p in PARAMS]), np.log([p[3] for p in PARAMS])

    def residuals(theta: np.ndarray) -> np.ndarray:
        c = constants_of(theta)
        errs = [math.log(predict(case, c) / case.value) for case in cases]
        return np.concatenate([errs, PRIOR_WEIGHT * (theta - prior)])

    x0 = np.clip(prior if start is None else start, lo + 1e-9, hi - 1e-9)
    return least_squares(residuals, x0, bounds=(lo, hi), loss="soft_l1", f_scale=0.15, x_scale=1.0).x


def leave_one_out(cases: list[Case], theta: np.ndarray) -> list[float]:
    preds = []
    for i, case in enumerate(cases):
        rest = cases[:i] + cases[i + 1:]
        preds.append(predict(case, constants_of(fit(rest, theta))))
        print(f"  leave-one-out {i + 1}/{len(cases)}", end="\r", file=sys.stderr)
    return preds


CPU_RESULTS = HERE / "results" / "estimate_cpu.json"


def cpu_check(rows: int, repeats: int, note: str) -> list[dict]:
    """This machine's CPU through the same model vs `kpbench bench` here: seed and bncnn, step time."""
    import tempfile

    from kpbench.bench import BenchConfig, run_bench
    from kpbench.estimate import machine, model
    from kpbench.estimate.trace import trace_step

    c, cpu, host = model.load_constants(), machine.cpu(), machine.host()
    print(f"CPU: {cpu.model}; {cpu.note}; copy bandwidth {cpu.bandwidth_gb_s:.1f} GB/s "
          f"({cpu.thread_bandwidth_gb_s:.1f} on one thread); dispatch {host.dispatch_s * 1e6:.2f} µs per operator")
    out = []
    for name in ("seed", "bncnn"):
        with tempfile.TemporaryDirectory() as tmp:
            record, _ = run_bench(BenchConfig(model=name, rows=rows, epochs=1, repeats=repeats, label=name), tmp,
                                  progress=False)
        batch, precision = record["config"]["batch_size"], record["config"]["precision"]
        measured = batch / record["figures"]["images_per_s"]["median"]
        pred = model.predict_cpu_step(OpArrays.of(trace_step(name, batch_size=batch, precision=precision)), cpu, host, c)
        err = pred.step_s / measured - 1
        print(f"{name:<6} batch {batch} {precision}: measured {measured * 1e3:7.1f} ms/step (kpbench bench, median of "
              f"{repeats}), predicted {pred.step_s * 1e3:7.1f} ms ({pred.bound}-bound): error {100 * err:+.1f} %")
        out.append({"model": name, "batch": batch, "precision": precision, "measured_step_s": measured,
                    "predicted_step_s": pred.step_s, "error": err, "bound": pred.bound,
                    "time_by_kind_s": pred.time_by_kind_s})
    CPU_RESULTS.parent.mkdir(exist_ok=True)
    CPU_RESULTS.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "cpu": cpu.to_dict(), "host": host.to_dict(),
                                       "rows": rows, "repeats": repeats, "note": note, "checks": out}, indent=2) + "\n",
                           encoding="utf-8")
    print(f"wrote {CPU_RESULTS}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="store constants.json and the results JSON")
    ap.add_argument("--no-loo", action="store_true", help="skip leave-one-out (quick look at the fit)")
    ap.add_argument("--ratios", action="store_true", help="only the small-CNN ratio check, with constants.json")
    ap.add_argument("--cpu", action="store_true", help="check the model on this CPU against kpbench bench (quiet machine)")
    ap.add_argument("--cpu-rows", type=int, default=3000, help="rows of synthetic faces per --cpu bench epoch")
    ap.add_argument("--cpu-repeats", type=int, default=3)
    ap.add_argument("--note", default="quiet machine", help="how the --cpu measurement was taken (stored beside it)")
    args = ap.parse_args()
    if args.cpu:
        cpu_check(args.cpu_rows, args.cpu_repeats, args.note)
        return
    if args.ratios:
        ratio_checks(model_mod.load_constants())
        return
    t0 = time.perf_counter()
    cases = load_cases()
    trace_cases(cases)
    theta = fit(cases)
    c = constants_of(theta)
    print(json.dumps({n: round(float(math.exp(t)), 8) for (n, *_), t in zip(PARAMS, theta)}))
    fitted = [predict(case, c) for case in cases]
    loo = fitted if args.no_loo else leave_one_out(cases, theta)
    rows = _print_table(cases, fitted, loo)
    errors = [abs(r["loo_error"]) for r in rows]
    summary = {"points": len(rows), "median_abs_error": statistics.median(errors), "worst_abs_error": max(errors),
               "worst_point": rows[int(np.argmax(errors))]["label"], "seconds": time.perf_counter() - t0}
    print(f"\nleave-one-out |error|: median {100 * summary['median_abs_error']:.1f} %, worst "
          f"{100 * summary['worst_abs_error']:.1f} % ({summary['worst_point']}); {len(rows)} points, "
          f"{summary['seconds']:.0f} s")
    print("\nsmall CNNs, same code on two GPUs (step-time ratio; target: within 20 %):")
    summary["ratios"] = ratio_checks(c)
    c = replace(c, band=_band(rows))
    print(f"band on a step estimate: calibrated ×{c.band['calibrated'][0]:.2f} … ×{c.band['calibrated'][1]:.2f}, "
          f"outside the calibration ×{c.band['uncalibrated'][0]:.2f} … ×{c.band['uncalibrated'][1]:.2f}")
    if args.write:
        _write(c, rows, summary)


def ratio_checks(c: Constants) -> list[dict]:
    """Small CNNs, same code on two GPUs: the model's step-time ratio against the measured epoch-time ratio.

    The host figures are this machine's (as `kpbench estimate` uses them); absolute times are not compared:
    those 2017 runs spent most of each epoch outside the GPU (Python input pipelines, evaluation).
    """
    from estimate_networks import NETWORKS
    from kpbench.estimate import machine
    from kpbench.estimate.trace import trace_step

    host = machine.host()
    rows = []
    for r in csv.DictReader(line for line in RATIOS.open(encoding="utf-8") if not line.startswith("#")):
        build, side = NETWORKS[r["network"]]
        t = trace_step(build, batch_size=int(r["batch"]), precision=r["precision"], input_shape=(3, side, side),
                       optimizer="sgd", loss="cross_entropy", label=r["network"])
        arrays = OpArrays.of(t)
        a, b = (predict_step(arrays, gpu_row(r[k]), c, dispatch_s=host.dispatch_s, module_s=host.module_s)
                for k in ("gpu_a", "gpu_b"))
        sa, sb = (predict_step(arrays, gpu_row(r[k]), c) for k in ("gpu_a", "gpu_b"))  # the 2021 stacks' host
        measured = float(r["seconds_per_epoch_a"]) / float(r["seconds_per_epoch_b"])
        predicted, stack_host = a.step_s / b.step_s, sa.step_s / sb.step_s
        rows.append({"network": r["network"], "gpus": f"{r['gpu_a']}/{r['gpu_b']}", "measured_ratio": measured,
                     "predicted_ratio": predicted, "error": predicted / measured - 1, "bounds": f"{a.bound}/{b.bound}",
                     "predicted_ratio_stack_host": stack_host, "framework": r["framework"], "source": r["source"]})
        print(f"{r['network']:<18} {r['gpu_a']}/{r['gpu_b']:<6} measured {measured:5.2f}×  predicted {predicted:5.2f}×  "
              f"error {100 * (predicted / measured - 1):+5.1f} %  (bound {a.bound}/{b.bound}; with the calibration "
              f"stacks' host costs {stack_host:.2f}×; {r['framework']})")
    return rows


def _print_table(cases: list[Case], fitted: list[float], loo: list[float]) -> list[dict]:
    rows = []
    print(f"{'point':<48} {'metric':<14} {'published':>10} {'fitted':>10} {'err':>7} {'LOO':>10} {'err':>7}")
    for case, f, p in zip(cases, fitted, loo):
        err, loo_err = f / case.value - 1, p / case.value - 1
        print(f"{case.label:<48} {case.metric:<14} {case.value:>10.4g} {f:>10.4g} {100 * err:>6.1f}% {p:>10.4g} "
              f"{100 * loo_err:>6.1f}%")
        rows.append({"label": case.label, "gpu": case.gpu, "what": case.what, "kind": case.kind, "batch": case.batch,
                     "precision": case.precision, "metric": case.metric, "published": case.value, "fitted": f,
                     "fitted_error": err, "loo": p, "loo_error": loo_err, "source": case.source})
    return rows


def _band(rows: list[dict]) -> dict[str, list[float]]:
    """Factors on an estimate that cover the middle 80 % of leave-one-out outcomes (measured = estimate × f)."""
    ratios = sorted(r["published"] / r["loo"] for r in rows)
    low, high = float(np.quantile(ratios, 0.1)), float(np.quantile(ratios, 0.9))
    low, high = min(low, 0.95), max(high, 1.05)
    # outside the calibration (an architecture or precision path without a point): twice as wide in log terms
    return {"calibrated": [low, high], "uncalibrated": [low**2, high**2]}


def _write(c: Constants, rows: list[dict], summary: dict) -> None:
    data = c.to_dict()
    data["meta"] = {**c.meta, "fitted_by": "benchmarks/estimate_calibration.py --write", "date": time.strftime("%Y-%m-%d"),
                    "points": summary["points"], "loo_median_abs_error": summary["median_abs_error"],
                    "loo_worst_abs_error": summary["worst_abs_error"]}
    model_mod.CONSTANTS_JSON.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"summary": summary, "points": rows}, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {model_mod.CONSTANTS_JSON} and {RESULTS}")


if __name__ == "__main__":
    main()
