"""Peer: the textbook PyTorch loop: a per-sample Dataset, a DataLoader, model/loss/step.

The same seed network as kpbench (kpbench.models.seed when importable, else an
identical copy), Adam, MSE, fp32, batches collated by the DataLoader in the
main process (num_workers=0, the tutorial default). Prints one JSON line:
steady-state images/s over epochs 2..N.

    python dataloader_loop.py --data faces.npz --epochs 3 --batch-size 32
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class FacesDataset(Dataset):
    """One face per __getitem__: uint8 → float in [0, 1], keypoints → [-1, 1]."""

    def __init__(self, images: np.ndarray, keypoints: np.ndarray) -> None:
        self.images, self.targets = images, ((keypoints.reshape(len(images), 30) - 48.0) / 48.0).astype(np.float32)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        return torch.from_numpy(self.images[i]).float().div(255.0).unsqueeze(0), torch.from_numpy(self.targets[i])


def seed_net() -> nn.Module:
    try:
        from kpbench.models.seed import SeedNet

        return SeedNet()
    except ImportError:
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 128, 2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(128 * 11 * 11, 500), nn.ReLU(),
            nn.Linear(500, 500), nn.ReLU(), nn.Linear(500, 30),
        )


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.manual_seed(args.seed)
    d = np.load(args.data)
    loader = DataLoader(FacesDataset(d["images"], d["keypoints"]), batch_size=args.batch_size, shuffle=True)
    model = seed_net()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.MSELoss()
    epoch_s = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        for x, y in loader:
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            opt.step()
        epoch_s.append(time.perf_counter() - start)
    steady_s = epoch_s[1:] or epoch_s
    n = len(loader.dataset)
    print(json.dumps({"peer": "dataloader-fp32", "images_per_s": n * len(steady_s) / sum(steady_s),
                      "epoch_s": epoch_s, "images": n}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
