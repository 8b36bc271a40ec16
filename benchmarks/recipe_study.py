"""Which recipe is most accurate in a minute of CPU training? Validation RMSE at fixed epochs, on faces15.

Last run 2026-12-04 on the 2-core AMD EPYC (Zen 4) VM, 1 thread, while four other engineers loaded
the machine: accuracy at a fixed number of epochs does not depend on the load (images/s does, and
is not kept). Results: benchmarks/results/2026-12-04-recipe-study.json, rendered in docs/training.md.
Headline (hard validation, flip TTA, px): bncnn batch 64, 30 epochs 1.70 (two seeds); batch 32 1.63;
heatmap network, batch 32, 20 epochs (about the same training time as bncnn's 30) 1.51 (two seeds).

Two validation sets:
  val   train()'s own random 15 % split of the rows it is given (frames of the same videos as the
        training frames: an optimistic measure);
  hard  451 rows held out before train() sees anything, chosen as whole groups of near-duplicate
        frames (24x24-downsampled images correlating above 0.85, single linkage), so that no training
        frame is a near copy of a hard frame: closer to the withheld test set's unseen people.
Each is reported plain and with flip test-time augmentation (the mean of the image's and its
mirror's prediction, as `kpbench predict --flip-tta`).

    python benchmarks/recipe_study.py [--only NAME,…] [--threads 1]   (each run 1–3 minutes)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from kpbench.atomic import write_json  # noqa: E402

HERE = Path(__file__).resolve().parent
FACES15 = HERE.parent.parent / "shared" / "datasets" / "faces15" / "training.zip"
HARD_ROWS, HARD_MAX_GROUP, HARD_CORRELATION, HARD_SEED = 450, 40, 0.85, 123
BASE = {"precision": "bf16", "channels_last": True, "contrast_frac": 0.0, "brightness": 0.0, "model": "bncnn",
        "batch_size": 64}
# name -> the TrainConfig fields that differ from BASE
RUNS: dict[str, dict] = {
    "bncnn-b64-e30": {"epochs": 30},
    "bncnn-b64-e30-seed1": {"epochs": 30, "seed": 1},
    "bncnn-b64-e45": {"epochs": 45},
    "bncnn-b64-e30-lr1e-2": {"epochs": 30, "lr": 0.01},
    "bncnn-b64-e30-wd5e-3": {"epochs": 30, "weight_decay": 0.005},
    "bncnn-b64-e30-photometric": {"epochs": 30, "contrast_frac": 0.3, "brightness": 0.3},
    "bncnn-b64-e30-stronger-geometry": {"epochs": 30, "rotate_deg": 15, "shift_px": 6, "scale_frac": 0.1},
    "bncnn-b32-e30": {"epochs": 30, "batch_size": 32},
    "bncnn-b32-e30-seed1": {"epochs": 30, "batch_size": 32, "seed": 1},
    "bncnn-b32-e30-photometric": {"epochs": 30, "batch_size": 32, "contrast_frac": 0.3, "brightness": 0.3},
    "bncnn-b16-e30": {"epochs": 30, "batch_size": 16},
    "bncnn-b16-e30-seed1": {"epochs": 30, "batch_size": 16, "seed": 1},
    "heatmap-b32-e30": {"model": "heatmap", "epochs": 30, "batch_size": 32},
    "heatmap-b32-e20": {"model": "heatmap", "epochs": 20, "batch_size": 32},
    "heatmap-b32-e20-seed1": {"model": "heatmap", "epochs": 20, "batch_size": 32, "seed": 1},
    "heatmap-b32-e20-fp32": {"model": "heatmap", "epochs": 20, "batch_size": 32, "precision": "fp32"},
    "heatmap-b32-e20-photometric": {"model": "heatmap", "epochs": 20, "batch_size": 32, "contrast_frac": 0.3,
                                    "brightness": 0.3},
    "heatmap-b32-e20-lr2.5e-3": {"model": "heatmap", "epochs": 20, "batch_size": 32, "lr": 0.0025},
    "heatmap-b32-e20-lr1e-2": {"model": "heatmap", "epochs": 20, "batch_size": 32, "lr": 0.01},
    "heatmap-b32-e14": {"model": "heatmap", "epochs": 14, "batch_size": 32},
    "heatmap-b16-e16": {"model": "heatmap", "epochs": 16, "batch_size": 16},
}


def hard_rows(images: np.ndarray) -> np.ndarray:
    """Row indices of whole groups of near-duplicate frames, about HARD_ROWS of them (see the docstring)."""
    n = len(images)
    small = images.astype(np.float32).reshape(n, 24, 4, 24, 4).mean((2, 4)).reshape(n, -1)
    small = (small - small.mean(1, keepdims=True)) / (small.std(1, keepdims=True) + 1e-6)
    similar = small @ small.T / small.shape[1] > HARD_CORRELATION
    parent = np.arange(n)

    def root(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    for a, b in zip(*np.nonzero(np.triu(similar, 1))):
        parent[root(a)] = root(b)
    roots = np.array([root(a) for a in range(n)])
    groups, sizes = np.unique(roots, return_counts=True)
    chosen: list[int] = []
    for g in np.random.default_rng(HARD_SEED).permutation(len(groups)):
        if sizes[g] <= HARD_MAX_GROUP:  # the one giant chain of look-alikes stays in training
            chosen += list(np.flatnonzero(roots == groups[g]))
        if len(chosen) >= HARD_ROWS:
            break
    return np.sort(np.array(chosen))


def rmse(model, images, keypoints, norm, names, *, tta: bool) -> float:
    from kpbench.train.augment import flip_keypoints
    from kpbench.train.evaluate import predict_normalised
    from kpbench.train.loss import rmse_px, squared_error_sums_px

    pred = predict_normalised(model, images, norm, precision="fp32")
    if tta:
        mirrored = predict_normalised(model, images.flip(-1), norm, precision="fp32")
        pred = (pred + flip_keypoints(mirrored)) / 2
    return rmse_px(*squared_error_sums_px(pred, keypoints), names)[0]


def one_run(faces, hard: np.ndarray, settings: dict) -> dict:
    from kpbench.train import TrainConfig, train
    from kpbench.train.augment import to_normalised

    keep = np.setdiff1d(np.arange(len(faces)), hard)
    held = faces.subset(hard)
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **BASE, **settings})
    result = train(faces.subset(keep), cfg, progress=False)
    images = torch.from_numpy(np.ascontiguousarray(held.images)).unsqueeze(1)
    keypoints = to_normalised(torch.from_numpy(np.asarray(held.keypoints, dtype=np.float32)))
    val = result.val
    return {"settings": {**BASE, **settings}, "epochs": len(result.history),
            **{f"{where}{'_tta' if tta else ''}_px": rmse(result.model, *data, result.normalisation, faces.names, tta=tta)
               for where, data in (("val", (val.images, val.keypoints)), ("hard", (images, keypoints)))
               for tta in (False, True)}}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=FACES15)
    p.add_argument("--only", default=None, help="comma-separated run names (default: all)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", type=Path, default=HERE / "results" / f"{time.strftime('%Y-%m-%d')}-recipe-study.json")
    args = p.parse_args()
    from kpbench.data import load_faces

    torch.set_num_threads(args.threads)
    faces = load_faces(args.data, progress=False)
    hard = hard_rows(faces.images)
    names = args.only.split(",") if args.only else list(RUNS)
    out = json.loads(args.json.read_text()) if args.json.exists() else {"runs": {}}
    out.update(date=time.strftime("%Y-%m-%d"), hard_rows=len(hard), threads=args.threads)
    for name in names:
        out["runs"][name] = one_run(faces, hard, {**RUNS[name], "threads": args.threads})
        print(name, {k: round(v, 3) for k, v in out["runs"][name].items() if k.endswith("_px")}, flush=True)
        write_json(args.json, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
