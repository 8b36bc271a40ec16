"""convonly: convolutions all the way, for data-parallel training with little to all-reduce.

No dense layer: stride-2 convolutions take 96x96 to 6x6, and a last 6x6 convolution reads that
map into the 30 outputs (it keeps where things are, as a dense head would, with 4x fewer weights
than bncnn's). GroupNorm, not BatchNorm: it normalises each image on its own, so N workers with
batch B compute exactly what one process computes with batch N·B. About 0.12 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_gn(c_in: int, c_out: int, stride: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False), nn.GroupNorm(8, c_out), nn.ReLU(inplace=True)]


class ConvOnly(nn.Module):
    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 48, 64), outputs: int = 30) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.features = nn.Sequential(
            *_conv_gn(1, w0, stride=2),  # 96 → 48
            *_conv_gn(w0, w1, stride=2),  # 48 → 24
            *_conv_gn(w1, w2, stride=2),  # 24 → 12
            *_conv_gn(w2, w3, stride=2),  # 12 → 6
        )
        self.head = nn.Sequential(nn.Conv2d(w3, outputs, 6), nn.Flatten())  # 6x6 → 1x1 × 30

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))
