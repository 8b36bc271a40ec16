"""The CPU speed path, measured: what is fastest here, and does bf16 keep fp32's accuracy?

Not yet measured on a quiet machine (docs/training.md's block comes from the JSON this writes).
Measured so far, on the 2-core AMD EPYC (Zen 4, AVX512-BF16, no AMX), 1 thread, the machine loaded
by other users (ratios interleaved in one process, so the load hits all candidates alike):
  bncnn b64: bf16 + channels-last 1.65-1.93x fp32 + channels-last; contiguous (NCHW) 0.61-0.75x
  heatmap b32 (the default network): bf16 + channels-last 1.5x fp32 in the full training loop
  seed b32:  bf16 + channels-last 2.06-2.51x; seed's dense layer fed in NHWC order 1.01-1.02x (not kept)
  torch.compile (inductor) of bncnn: first compile 65-103 s (9 s from its on-disk cache), steps
             0.93-1.09x eager's: never pays inside a one-minute budget, so not a default
  accuracy (faces15, val RMSE, same seed): bncnn 20 epochs fp32 1.653 / bf16 1.654 px,
             35 epochs 1.514 / 1.503 px; heatmap 20 epochs 1.445 / 1.448 px: bf16 within 2 % of fp32.

What is run, in one go:
  1. speed: for each network at its batch size below, every candidate of kpbench.train.speed
     (fp32/bf16 x channels-last/NCHW x all threads/half of them) timed in interleaved rounds
     (speed.time_candidates, ROUNDS times its usual rounds); seed's big dense layer fed in NCHW
     order (as kpbench does) and in NHWC order (copy-free under channels-last);
  2. accuracy: kpbench.train on faces15 at fixed epochs (heatmap 20, bncnn 30, seed 10), fp32 against bf16, seeds
     0 and 1: the validation RMSE ratio bf16/fp32 (target: within 2 %);
  3. with --compile: torch.compile's first-call seconds and its steady ratio against eager (slow).
About 15 minutes on a quiet 2-core machine (more with --compile). Writes
benchmarks/results/DATE-cpu-paths.json. Shrunk check: `--epochs-scale 0.05 --rows 400 --json /tmp/p.json`.

    python benchmarks/cpu_paths.py [--compile] [--epochs-scale 1.0]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import torch  # noqa: E402

from kpbench.atomic import write_json  # noqa: E402
from kpbench.train import speed  # noqa: E402

HERE = Path(__file__).resolve().parent
FACES15 = HERE.parent.parent / "shared" / "datasets" / "faces15" / "training.zip"
NETWORKS = {"heatmap": (32, 20), "bncnn": (32, 30), "seed": (32, 10)}  # batch, epochs of the accuracy runs
ROUNDS = 4  # x speed.MEASURE_ROUNDS: a benchmark affords more rounds than a run's setup
SEEDS = (0, 1)


def speed_of_candidates(model: str, batch: int) -> dict[str, float]:
    threads = torch.get_num_threads()
    cands = [speed.Candidate(p, cl, t) for p in ("fp32", "bf16") for cl in (True, False)
             for t in dict.fromkeys((threads, max(1, threads // 2)))]
    speed.MEASURE_ROUNDS *= ROUNDS
    try:
        rates = speed.time_candidates(model, batch, cands)
    finally:
        speed.MEASURE_ROUNDS //= ROUNDS
    return {c.name: r for c, r in rates.items()}


def dense_order_ratio(batch: int = 32) -> dict[str, float]:
    """Seed's images/s with its dense layer fed in NHWC order over NCHW order, fp32 and bf16 (channels-last)."""
    from kpbench.models.seed import SeedNet

    class FlattenNHWC(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.permute(0, 2, 3, 1).flatten(1)  # a view of a channels-last tensor: no copy

    def stepper(precision: str, nhwc: bool):
        torch.manual_seed(0)
        net = SeedNet()
        if nhwc:
            net.head[0] = FlattenNHWC()
        return speed.training_step(net, batch, precision, channels_last=True)

    steps = {(p, o): stepper(p, o) for p in ("fp32", "bf16") for o in (False, True)}
    rates: dict = {k: [] for k in steps}
    for step in steps.values():
        step()
    for _ in range(speed.MEASURE_ROUNDS * ROUNDS):
        for k, step in steps.items():
            t0 = time.perf_counter()
            step()
            step()
            rates[k].append(2 * batch / (time.perf_counter() - t0))
    med = {k: statistics.median(v) for k, v in rates.items()}
    return {p: med[(p, True)] / med[(p, False)] for p in ("fp32", "bf16")}


def accuracy(data: Path, rows: int | None, scale: float) -> dict[str, dict]:
    """Validation RMSE at fixed epochs, fp32 and bf16, per network and seed."""
    import numpy as np

    from kpbench.data import load_faces
    from kpbench.train import TrainConfig, train

    faces = load_faces(data, progress=False)
    if rows:
        faces = faces.subset(np.arange(min(rows, len(faces))))
    out: dict[str, dict] = {}
    for model, (batch, epochs) in NETWORKS.items():
        epochs = max(1, round(epochs * scale))
        runs = {}
        for precision in ("fp32", "bf16"):
            for seed in SEEDS:
                cfg = TrainConfig(model=model, batch_size=batch, epochs=epochs, precision=precision, seed=seed,
                                  channels_last=True)
                result = train(faces, cfg, progress=False)
                runs[f"{precision}-seed{seed}"] = result.final_val_rmse_px
                print(f"  {model} {precision} seed {seed}: val RMSE {result.final_val_rmse_px:.3f} px "
                      f"({epochs} epochs, {result.steady_images_per_s:.0f} images/s)", flush=True)
        fp32 = statistics.fmean(runs[f"fp32-seed{s}"] for s in SEEDS)
        bf16 = statistics.fmean(runs[f"bf16-seed{s}"] for s in SEEDS)
        out[model] = {"epochs": epochs, "batch": batch, "val_rmse_px": runs, "bf16_over_fp32": bf16 / fp32,
                      "within_2_percent": abs(bf16 / fp32 - 1) <= 0.02}
    return out


def compile_cost(model: str = "bncnn", batch: int = 64) -> dict[str, float]:
    """Seconds of torch.compile's first call (forward + backward) and its steady images/s over eager's."""
    from kpbench.models import build_model

    net = build_model(model).to(memory_format=torch.channels_last)
    compiled = torch.compile(net)
    x = torch.randn(batch, 1, 96, 96).contiguous(memory_format=torch.channels_last)
    t0 = time.perf_counter()
    compiled(x).sum().backward()
    first_s = time.perf_counter() - t0

    def rate(fn) -> float:
        t = time.perf_counter()
        for _ in range(5):
            fn(x).sum().backward()
        return 5 * batch / (time.perf_counter() - t)

    ratios = [rate(compiled) / rate(net) for _ in range(3)]
    return {"first_call_s": first_s, "steady_over_eager": statistics.median(ratios)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=FACES15)
    p.add_argument("--rows", type=int, default=None)
    p.add_argument("--epochs-scale", type=float, default=1.0, help="scale the accuracy runs' epochs (a shrunk check)")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (a minute or more)")
    p.add_argument("--json", type=Path, default=HERE / "results" / f"{time.strftime('%Y-%m-%d')}-cpu-paths.json")
    args = p.parse_args()
    from kpbench.bench.fingerprint import cpu_model

    started = time.time()
    out: dict = {"date": time.strftime("%Y-%m-%d"), "machine": cpu_model(), "torch": torch.__version__,
                 "threads": torch.get_num_threads(), "speed": {}}
    for model, (batch, _) in NETWORKS.items():
        out["speed"][model] = speed_of_candidates(model, batch)
        print(f"{model} b{batch}: " + ", ".join(f"{k} {v:.0f}" for k, v in out["speed"][model].items()), flush=True)
    out["dense_nhwc_over_nchw"] = dense_order_ratio()
    print(f"seed dense layer NHWC/NCHW: {out['dense_nhwc_over_nchw']}")
    if args.compile:
        out["compile"] = compile_cost()
        print(f"torch.compile: {out['compile']}")
    out["accuracy"] = accuracy(args.data, args.rows, args.epochs_scale)
    out["elapsed_s"] = time.time() - started
    write_json(args.json, out)
    print(f"wrote {args.json} ({out['elapsed_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
