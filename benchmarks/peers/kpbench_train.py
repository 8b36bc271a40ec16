"""Peer: kpbench.train.train on the same arrays (device-resident loop, on-device augmentation).

Prints one JSON line with TrainResult.steady_images_per_s (after kpbench's own
warm-up steps, evaluation excluded). ``--precision default`` keeps every
TrainConfig default except model, epochs and batch size.

    python kpbench_train.py --data faces.npz --epochs 3 --batch-size 32 --precision default|fp32|bf16
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--precision", choices=("default", "fp32", "bf16"), default="default")
    p.add_argument("--model", default="seed")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    from kpbench.data.faceset import FaceSet
    from kpbench.train import TrainConfig, train

    d = np.load(args.data)
    faces = FaceSet(images=d["images"], keypoints=d["keypoints"], source=args.data, meta={"load": "cache"})
    settings = {"model": args.model, "epochs": args.epochs, "batch_size": args.batch_size, "seed": args.seed}
    if args.precision != "default":
        settings["precision"] = args.precision
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **settings})
    # A short benchmark run would not measure its speed path (train.speed.MIN_STEPS_TO_MEASURE): resolve
    # it as a user's first full-length run on this machine would, so the defaults are the measured ones.
    from kpbench.train.config import resolve_device
    from kpbench.train.speed import resolve_speed_path

    resolve_speed_path(cfg, resolve_device(cfg.device), planned_steps=None)
    result = train(faces, cfg, progress=False)
    from kpbench.train.speed import SpeedPath

    print(json.dumps({
        "peer": f"kpbench-{args.precision}",
        "model": args.model,
        "images_per_s": float(result.steady_images_per_s),
        "epoch_s": [float(h["epoch_s"]) for h in result.history],
        "precision": str(result.precision),
        "speed_path": SpeedPath(**result.speed_path).describe(),
        "final_val_rmse_px": None if result.final_val_rmse_px is None else float(result.final_val_rmse_px),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
