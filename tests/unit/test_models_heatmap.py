"""The heatmap network: its soft-argmax reads coordinates where the faces' keypoints are measured."""

from __future__ import annotations

import pytest
import torch

from kpbench.models import build_model, summarize
from kpbench.models.heatmap import soft_argmax
from kpbench.train.augment import to_pixels


def test_a_sharp_peak_reads_as_the_centre_of_its_cell_in_pixels():
    logits = torch.full((1, 1, 24, 24), -1e4)
    logits[0, 0, 5, 10] = 0.0  # row 5, column 10: pixels [40, 44) across, [20, 24) down
    x, y = to_pixels(soft_argmax(logits).reshape(1, 1, 2))[0, 0].tolist()
    assert (x, y) == pytest.approx((42.0, 22.0))


def test_two_equal_peaks_read_as_their_midpoint():
    logits = torch.full((1, 1, 12, 12), -1e4)
    logits[0, 0, 3, 2] = logits[0, 0, 3, 6] = 0.0
    x, y = to_pixels(soft_argmax(logits).reshape(1, 1, 2))[0, 0].tolist()
    assert (x, y) == pytest.approx((4 * 8.0 + 4, 3 * 8.0 + 4))  # the mean of columns 2 and 6, row 3, of 8-pixel cells


def test_a_flat_heatmap_reads_as_the_image_centre():
    assert torch.allclose(soft_argmax(torch.zeros(2, 15, 24, 24)), torch.zeros(2, 30), atol=1e-6)


def test_the_network_maps_faces_to_30_coordinates_inside_the_image_in_fp32_and_bf16():
    torch.manual_seed(0)
    net = build_model("heatmap").eval()
    x = torch.randn(4, 1, 96, 96)
    with torch.no_grad():
        out = net(x)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out_bf16 = net(x)
    assert out.shape == (4, 30) and out.dtype == torch.float32 and out_bf16.dtype == torch.float32
    assert out.abs().max() < 1 and (out - out_bf16).abs().max() < 0.05


def test_the_summary_counts_its_convolutions():
    s = summarize(build_model("heatmap"), "heatmap")
    assert 0.3e6 < s.params < 0.35e6 and s.train_flops_per_image > 2.5 * s.forward_flops_per_image
