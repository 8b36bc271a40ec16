"""The seed network: the classic CNN of the Kaggle facial-keypoints tutorials.

conv 32@3x3 → pool → conv 64@2x2 → pool → conv 128@2x2 → pool → dense 500 → dense 500 → 30,
ReLU, valid padding (Keras defaults). 8.05 M parameters, 7.7 M of them in the first dense layer.
"""

from __future__ import annotations

import torch
from torch import nn


class SeedNet(nn.Module):
    def __init__(self, outputs: int = 30) -> None:
        super().__init__()
        # pool before ReLU: max-pool and ReLU commute (ReLU is monotonic), so this is the same
        # function as Keras' conv→ReLU→pool, but ReLU and its backward touch a 4x smaller tensor.
        # inplace ReLU: one activation fewer per layer.
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.MaxPool2d(2), nn.ReLU(inplace=True),  # 94 → 47
            nn.Conv2d(32, 64, 2), nn.MaxPool2d(2), nn.ReLU(inplace=True),  # 46 → 23
            nn.Conv2d(64, 128, 2), nn.MaxPool2d(2), nn.ReLU(inplace=True),  # 22 → 11
        )
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(128 * 11 * 11, 500), nn.ReLU(inplace=True),
            nn.Linear(500, 500), nn.ReLU(inplace=True),
            nn.Linear(500, outputs),
        )
        for m in self.modules():  # Keras defaults: Glorot-uniform weights, zero biases
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
