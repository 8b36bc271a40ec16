"""heatmap: bncnn's trunk, then one heatmap per keypoint and its soft-argmax (the default network).

Regressing coordinates from a dense layer, as bncnn and seed do, must learn where things are from
scratch; a heatmap head keeps the image's layout: a 1×1-conv top-down path brings the 6×6 and 12×12
context back to 24×24 (as a feature pyramid does), a 3×3 conv turns it into 15 heatmaps, and each
keypoint is the heatmap's soft-argmax, the probability-weighted mean of the cell centres
(differentiable: "numerical coordinate regression", Nibali et al. 2018; "integral regression",
Sun et al. 2018). The output is the same (B, 30) normalised coordinates as every network here, so
loss, evaluation, flips and prediction are unchanged. About 0.3 M parameters.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

from kpbench.models.bncnn import _conv_bn


class HeatmapNet(nn.Module):
    def __init__(self, widths: tuple[int, int, int, int] = (16, 32, 64, 128), keypoints: int = 15) -> None:
        super().__init__()
        w0, w1, w2, w3 = widths
        self.stem = nn.Sequential(*_conv_bn(1, w0, stride=2), *_conv_bn(w0, w1, stride=2), *_conv_bn(w1, w1))  # 96 → 24
        self.mid = nn.Sequential(nn.MaxPool2d(2), *_conv_bn(w1, w2), *_conv_bn(w2, w2))  # 24 → 12
        self.deep = nn.Sequential(nn.MaxPool2d(2), *_conv_bn(w2, w3), *_conv_bn(w3, w3))  # 12 → 6
        self.lateral6 = nn.Conv2d(w3, w2, 1)
        self.lateral12 = nn.Conv2d(w2, w1, 1)
        self.head = nn.Sequential(*_conv_bn(w1, w1), nn.Conv2d(w1, keypoints, 3, padding=1))
        self.sharpness = nn.Parameter(torch.tensor(1.0))  # the softmax's inverse temperature, learnt

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        f24 = self.stem(x)
        f12 = self.mid(f24)
        f6 = self.deep(f12)
        f12 = f12 + F.interpolate(self.lateral6(f6), scale_factor=2, mode="nearest")
        f24 = f24 + F.interpolate(self.lateral12(f12), scale_factor=2, mode="nearest")
        return soft_argmax(self.head(f24).float() * self.sharpness)


def soft_argmax(logits: torch.Tensor) -> torch.Tensor:
    """(B, K, H, W) heatmap logits → (B, 2K) normalised (x, y): the mean cell centre under each softmax.

    A cell j of W spans pixels [j·96/W, (j+1)·96/W); its centre in normalised coordinates is
    (j + 0.5)/W·2 − 1, as augment.to_normalised maps pixel centres.
    """
    b, k, h, w = logits.shape
    p = torch.softmax(logits.reshape(b, k, h * w), dim=-1).reshape(b, k, h, w)
    xs = (torch.arange(w, device=logits.device, dtype=p.dtype) + 0.5) / w * 2 - 1
    ys = (torch.arange(h, device=logits.device, dtype=p.dtype) + 0.5) / h * 2 - 1
    x = (p.sum(dim=2) * xs).sum(dim=-1)
    y = (p.sum(dim=3) * ys).sum(dim=-1)
    return torch.stack((x, y), dim=-1).reshape(b, 2 * k)
