"""bncnn: a small BatchNorm CNN, the default. Built to be fast on a 2-core CPU and accurate.

Strided stem to 48x48, three stages of conv-BN-ReLU with max-pool, then a small dense head on
the 6x6 map (keeps where things are; global pooling would throw that away).
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]


class BnCnn(nn.Module):
    def __init__(self, widths: tuple[int, ...] = (24, 32, 64, 128), hidden: int = 256, outputs: int = 30) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.features = nn.Sequential(
            *_conv_bn(1, w0, stride=2),  # 96 → 48
            *_conv_bn(w0, w1), nn.MaxPool2d(2),  # 48 → 24
            *_conv_bn(w1, w2), *_conv_bn(w2, w2), nn.MaxPool2d(2),  # 24 → 12
            *_conv_bn(w2, w3), *_conv_bn(w3, w3), nn.MaxPool2d(2),  # 12 → 6
        )
        self.head = nn.Sequential(
            nn.Conv2d(w3, 32, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(inplace=True),  # shrink before flatten
            nn.Flatten(),
            nn.Linear(32 * 6 * 6, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
