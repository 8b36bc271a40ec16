"""bncnn: a small BatchNorm CNN, the default. Built to be fast on a 2-core CPU and accurate.

Two stride-2 convolutions take 96x96 to 24x24 cheaply; conv-BN-ReLU stages with max-pool go to
6x6; a 1x1 conv shrinks the channels and a small dense head reads the 6x6 map (it keeps where
things are; global pooling would throw that away). 39 MFLOPs forward per image, 0.45 M params.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_bn(c_in: int, c_out: int, stride: int = 1, kernel: int = 3) -> list[nn.Module]:
    return [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),  # BN brings the bias
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    ]


class BnCnn(nn.Module):
    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 64, 128), hidden: int = 256, outputs: int = 30) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.features = nn.Sequential(
            *_conv_bn(1, w0, stride=2),  # 96 → 48
            *_conv_bn(w0, w1, stride=2),  # 48 → 24
            *_conv_bn(w1, w1), nn.MaxPool2d(2),  # 24 → 12
            *_conv_bn(w1, w2), *_conv_bn(w2, w2), nn.MaxPool2d(2),  # 12 → 6
            *_conv_bn(w2, w3),
        )
        self.head = nn.Sequential(
            *_conv_bn(w3, 32, kernel=1),
            nn.Flatten(),
            nn.Linear(32 * 6 * 6, hidden), nn.ReLU(inplace=True),
            nn.Linear(hidden, outputs),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
