"""kpbench against the two usual ways of training the seed network, side by side, with the CPU's MFU.

<!-- generated: peers-header (`make docs`; do not edit by hand) -->
Last measured 2026-12-04 on AMD EPYC, 3 epochs, batch 32, 3 repeats, 308 s in all (`2026-12-04-cpu-peers.json`). images/s, medians:
  kpbench-default 494   kpbench-fp32 270   kpbench-bf16 534   kpbench-bncnn 1250   kpbench-heatmap 900
  dataloader-fp32 141   keras-fp32 229   keras-bf16 413
  PASS kpbench-default vs keras-fp32: 2.20 ± 0.51x (target 1.5x)
  PASS kpbench-bf16 vs keras-bf16: 1.22 ± 0.15x (target 1.0x)
  PASS kpbench-fp32 vs keras-fp32: 1.17 ± 0.26x (target 0.8x)
  FAIL kpbench-bncnn: 43.4 % of the CPU's dense peak (target 60 %)
<!-- end generated: peers-header -->
docs/bench.md's table is generated from benchmarks/results/2026-12-04-cpu-peers.json. The earlier run
(2026-11-24, a Xeon VM, before the speed path, fp32 everywhere) gave 1.29 ± 0.41x against Keras fp32.

Targets: kpbench's defaults (seed, batch 32) >= 1.5x Keras model.fit fp32 images/s at an
accuracy no worse than fp32's; bncnn (at the default batch size) >= 60 % of the CPU's dense peak
for the precision it runs. The peak is computed from the CPU's vector units and clock and stated as an
assumption (kpbench.bench.flops.cpu_peak_flops).

Peers (each a fresh process per repeat, interleaved so machine noise spreads evenly):
  kpbench-default   kpbench.train with every default (seed model, batch 32): the speed path it picks
  kpbench-fp32      … with --precision fp32
  kpbench-bf16      … with --precision bf16 (only where the CPU has AVX512-BF16/AMX, or on a GPU)
  kpbench-bncnn     bncnn at the default batch size, every default: its MFU (the target is bncnn's)
  kpbench-heatmap   the default network, likewise
  dataloader-fp32   per-sample torch Dataset + DataLoader loop (peers/dataloader_loop.py)
  keras-fp32        TensorFlow/Keras model.fit (peers/keras_fit.py), run by --keras-python
  keras-bf16        … under the mixed_bfloat16 policy
Every peer reports steady-state images/s (epochs 2..N for the peers; kpbench's own
post-warm-up rate). Same data (the complete rows of faces15 training.zip, else
synthetic faces), same batch size, same epochs. MFU = train FLOPs per image (the network's
forward + backward, kpbench.models.summarize) x images/s / the CPU's dense peak at the peer's
precision (Keras bf16 and kpbench bf16 against the bf16 peak, the rest against fp32's).

Writes benchmarks/results/DATE-cpu-peers.json (docs/bench.md's block is generated from it).
About 6 minutes with the defaults on a 2-core machine; shrunk check (no Keras, 2 minutes):
`python benchmarks/peers.py --rows 128 --epochs 2 --repeats 1 --json /tmp/peers.json`.

    python benchmarks/peers.py --keras-python /tmp/tfvenv/bin/python [--epochs 3 --repeats 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kpbench import fmt
from kpbench.data import SYNTHETIC

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
FACES15 = REPO.parent / "shared" / "datasets" / "faces15"

# (A, B, target): "A is r ± σ x faster than B" must reach the target.
REQUIREMENTS = (
    ("kpbench-default", "keras-fp32", 1.5),
    ("kpbench-bf16", "keras-bf16", 1.0),
    ("kpbench-fp32", "keras-fp32", 0.8),
    ("kpbench-default", "dataloader-fp32", None),
    ("kpbench-fp32", "dataloader-fp32", None),
)
MFU_TARGETS = {"kpbench-bncnn": 0.60}  # of the CPU's dense peak at the precision the peer ran
RESULTS = HERE / "results"


def load_arrays(data: str, rows: int | None, out: Path) -> tuple[Path, str]:
    """The complete rows of the data set as an npz every peer can read (Keras has no kpbench)."""
    from kpbench.data import load_faces

    faces = load_faces(data, progress=False)
    faces = faces.subset(np.flatnonzero(faces.complete_mask()))
    if rows:
        faces = faces.subset(np.arange(min(rows, len(faces))))
    np.savez(out, images=faces.images, keypoints=faces.keypoints)
    return out, f"{faces.meta.get('file', data)} ({len(faces)} complete rows)"


def peer_commands(npz: Path, args: argparse.Namespace, bf16: bool) -> dict[str, list[str] | str]:
    """name -> argv, or a reason why the peer is skipped."""
    common = ["--data", str(npz), "--epochs", str(args.epochs), "--batch-size", str(args.batch_size)]
    kp = [sys.executable, str(HERE / "peers" / "kpbench_train.py"), *common]
    keras = [args.keras_python, str(HERE / "peers" / "keras_fit.py"), *common]
    no_bf16 = "this CPU has no AVX512-BF16/AMX and there is no GPU"
    from kpbench.train import TrainConfig

    def network(model: str) -> list[str]:  # at the training default's batch size, every other default too
        return [sys.executable, str(HERE / "peers" / "kpbench_train.py"), "--data", str(npz), "--epochs", str(args.epochs),
                "--model", model, "--batch-size", str(TrainConfig().batch_size)]

    return {
        "kpbench-default": kp,
        "kpbench-fp32": kp + ["--precision", "fp32"],
        "kpbench-bf16": kp + ["--precision", "bf16"] if bf16 else no_bf16,
        "kpbench-bncnn": network("bncnn"),
        "kpbench-heatmap": network("heatmap"),
        "dataloader-fp32": [sys.executable, str(HERE / "peers" / "dataloader_loop.py"), *common],
        "keras-fp32": keras + ["--precision", "fp32"],
        "keras-bf16": keras + ["--precision", "bf16"] if bf16 else no_bf16,
    }


def run_peer(argv: list[str]) -> dict:
    proc = subprocess.run(argv, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(lines[-1])


def main() -> int:
    args = parse_args()
    import torch

    from kpbench.bench.fingerprint import cpu_model
    from kpbench.bench.stats import figure
    from kpbench.train.config import cpu_has_native_bf16

    bf16 = cpu_has_native_bf16() or torch.cuda.is_available()
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="kpbench-peers-") as tmp:
        npz, described = load_arrays(args.data, args.rows, Path(tmp) / "faces.npz")
        print(f"data: {described}; batch {args.batch_size}, {args.epochs} epochs, {args.repeats} repeats")
        values, details, skipped = run_peers(peer_commands(npz, args, bf16), args.repeats)
    figures = {name: figure(v, "images/s") for name, v in values.items() if v and name not in skipped}
    mfu = mfu_of_peers(figures, details)

    print(f"\nmachine: {cpu_model()}, torch {torch.__version__}, {time.strftime('%Y-%m-%d')}, "
          f"{time.time() - started:.0f} s in all")
    for name, fig in figures.items():
        extra = f"   MFU {fmt.percent(mfu[name]['mfu'])}" if mfu.get(name, {}).get("mfu") is not None else ""
        print(f"  {name:<16} {fmt.mean_sigma(fig)}   ({fmt.value_range(fig)}){extra}")
    for name, why in skipped.items():
        print(f"  {name:<16} skipped: {why}")
    for name, d in details.items():
        if d.get("speed_path"):
            print(f"  {name:<16} speed path: {d['speed_path']}")
    verdicts = print_verdicts(figures) + print_mfu_verdicts(mfu)
    if args.json:
        from kpbench.atomic import write_json

        write_json(args.json, {"figures": figures, "skipped": skipped, "ratios": verdicts, "mfu": mfu,
                               "details": details, "machine": cpu_model(), "date": time.strftime("%Y-%m-%d"),
                               "elapsed_s": time.time() - started, "args": {k: str(v) for k, v in vars(args).items()}})
        print(f"wrote {args.json}")
    return 0


def mfu_of_peers(figures: dict[str, dict], details: dict[str, dict]) -> dict[str, dict]:
    """Per peer: train FLOPs per image of its network, the CPU's peak at its precision, MFU of its median."""
    from kpbench.bench.flops import cpu_peak_flops, read_cpu_info, train_flops_per_image

    cpu = read_cpu_info()
    out = {}
    for name, fig in figures.items():
        model = details.get(name, {}).get("model", "seed")
        precision = details.get(name, {}).get("precision") or ("bf16" if name.endswith("bf16") else "fp32")
        per_image = train_flops_per_image(model)
        peak, note = cpu_peak_flops(cpu, precision)
        achieved = per_image * fig["median"]
        out[name] = {"model": model, "precision": precision, "train_flops_per_image": per_image,
                     "achieved_flops_per_s": achieved, "peak_flops_per_s": peak,
                     "mfu": None if peak is None else achieved / peak, "peak_note": note}
    return out


def print_mfu_verdicts(mfu: dict[str, dict]) -> list[dict]:
    out = []
    for name, target in MFU_TARGETS.items():
        m = mfu.get(name)
        if m is None or m["mfu"] is None:
            print(f"  SKIP  {name} MFU: not measured or no peak known")
            out.append({"a": name, "mfu_target": target, "verdict": "SKIP"})
            continue
        verdict = "PASS" if m["mfu"] >= target else "FAIL"
        print(f"  {verdict}  {name} MFU {fmt.percent(m['mfu'])} of the {m['precision']} peak "
              f"(target >= {fmt.percent(target, 0)}; {m['peak_note']})")
        out.append({"a": name, "mfu": m["mfu"], "mfu_target": target, "verdict": verdict})
    return out


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(FACES15), help=f"faces15 directory/zip, or '{SYNTHETIC}'")
    p.add_argument("--rows", type=int, default=None, help="use the first N complete rows")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--keras-python", default=sys.executable, help="a Python with TensorFlow")
    p.add_argument("--json", type=Path, default=RESULTS / f"{time.strftime('%Y-%m-%d')}-cpu-peers.json",
                   help="where to write the results (default: benchmarks/results/DATE-cpu-peers.json)")
    args = p.parse_args()
    if args.epochs < 2:
        p.error("--epochs must be at least 2: the first epoch is warm-up")
    if args.data != SYNTHETIC and not Path(args.data).exists():
        if args.data != str(FACES15):
            p.error(f"--data {args.data}: no such file or directory (or pass '{SYNTHETIC}')")
        print(f"note: {FACES15} is absent; using synthetic faces")  # the default only
        args.data = SYNTHETIC
    return args


def run_peers(commands: dict[str, list[str] | str],
              repeats: int) -> tuple[dict[str, list[float]], dict[str, dict], dict[str, str]]:
    """images/s per peer and repeat (peers interleaved, so drift hits all alike); what each peer said of itself
    (network, precision, speed path, val RMSE of its last repeat); why a peer was skipped."""
    values: dict[str, list[float]] = {name: [] for name in commands}
    details: dict[str, dict] = {}
    skipped = {name: why for name, why in commands.items() if isinstance(why, str)}
    for repeat in range(repeats):
        for name, argv in commands.items():
            if name in skipped:
                continue
            out = run_peer(argv)
            if "skipped" in out or "error" in out:
                skipped[name] = out.get("skipped") or out["error"]
                print(f"  {name}: skipped: {skipped[name]}")
                continue
            values[name].append(out["images_per_s"])
            details[name] = {k: out[k] for k in ("model", "precision", "speed_path", "final_val_rmse_px") if k in out}
            print(f"  repeat {repeat + 1}: {name:<16} {out['images_per_s']:9.1f} images/s", flush=True)
    return values, details, skipped


def print_verdicts(figures: dict[str, dict]) -> list[dict]:
    """"A is r ± σ× faster than B" for each requirement, PASS/FAIL against its target."""
    from kpbench.bench.stats import ratio

    verdicts = []
    for a, b, target in REQUIREMENTS:
        if a not in figures or b not in figures:
            verdicts.append({"a": a, "b": b, "target": target, "verdict": "SKIP"})
            print(f"  SKIP  {a} vs {b}: one side did not run")
            continue
        r, sigma = ratio(figures[a], figures[b])
        verdict = "INFO" if target is None else ("PASS" if r >= target else "FAIL")
        goal = "" if target is None else f" (target >= {target}x)"
        print(f"  {verdict}  {a} is {fmt.times_faster(r, sigma)} than {b}{goal}")
        verdicts.append({"a": a, "b": b, "target": target, "ratio": r, "ratio_stdev": sigma, "verdict": verdict})
    return verdicts


if __name__ == "__main__":
    sys.exit(main())
