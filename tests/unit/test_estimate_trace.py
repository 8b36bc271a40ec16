"""Tracing one training step on fake tensors: operators, phases, FLOPs, bytes, kernels, precisions."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kpbench.errors import KpbenchError
from kpbench.estimate.trace import PHASES, op_counts, trace_step


@pytest.fixture(scope="module")
def seed_fp32():
    return trace_step("seed", batch_size=16, precision="fp32")


def test_seed_step_runs_its_three_convolutions_forward_and_backward(seed_fp32):
    counts = op_counts(seed_fp32)
    assert counts["convolution"] == 3 and counts["convolution_backward"] == 3
    assert counts["_fused_adamw_"] == 1  # kpbench's fused optimizer: one operator for all parameters


def test_step_flops_are_forward_and_backward_of_every_image(seed_fp32):
    from kpbench.models import build_model, summarize

    per_image = summarize(build_model("seed")).train_flops_per_image
    conv_and_matmul = sum(o.flops for o in seed_fp32.ops if o.kind in ("conv", "gemm") and o.phase != "data")
    assert conv_and_matmul == pytest.approx(16 * per_image, rel=0.02)


def test_every_phase_of_the_training_loop_is_traced(seed_fp32):
    assert {o.phase for o in seed_fp32.ops} == set(PHASES)


def test_views_launch_no_kernel_and_move_no_bytes(seed_fp32):
    views = [o for o in seed_fp32.ops if o.kind == "view"]
    assert views and all(o.kernels == 0 and o.bytes == 0 for o in views)


def test_a_convolution_with_bias_launches_two_kernels(seed_fp32):
    conv = next(o for o in seed_fp32.ops if o.name == "convolution")
    assert conv.kernels == 2 and conv.conv_class in ("3x3", "other")


def test_bf16_autocast_runs_convolutions_in_bfloat16_and_adds_casts():
    fp32 = trace_step("bncnn", batch_size=8, precision="fp32")
    bf16 = trace_step("bncnn", batch_size=8, precision="bf16")
    assert {o.dtype for o in bf16.ops if o.name == "convolution"} == {"bfloat16"}
    assert op_counts(bf16)["_to_copy"] > op_counts(fp32)["_to_copy"]
    assert bf16.bytes_per_step < fp32.bytes_per_step


def test_fp16_is_traced_with_float16_autocast():
    t = trace_step("convonly", batch_size=4, precision="fp16")
    assert {o.dtype for o in t.ops if o.name == "convolution"} == {"float16"}


def test_a_users_network_is_traced_with_mse_on_its_output_whatever_its_size():
    def tiny() -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 30 * 30, 7))

    t = trace_step(tiny, batch_size=4, input_shape=(3, 32, 32))
    assert op_counts(t)["mse_loss"] == 1 and t.params == 8 * 27 + 8 + 8 * 900 * 7 + 7


def test_an_inference_pass_has_no_backward_and_no_optimizer():
    t = trace_step("seed", batch_size=8, inference=True)
    assert {o.phase for o in t.ops} == {"forward"}


def test_batch_size_scales_activations_not_the_operator_list():
    small, large = (trace_step("bncnn", batch_size=b) for b in (8, 32))
    assert small.operators == large.operators
    assert large.flops_per_step == pytest.approx(4 * small.flops_per_step, rel=0.01)


def test_tracing_allocates_no_real_tensors():
    # a VGG-sized layer at batch 512 would need gigabytes if it ran for real
    def big() -> nn.Module:
        return nn.Sequential(nn.Conv2d(3, 512, 3, padding=1), nn.Flatten(), nn.Linear(512 * 224 * 224, 10))

    t = trace_step(big, batch_size=512, input_shape=(3, 224, 224))
    assert t.bytes_per_step > 1e11


def test_kpbench_networks_take_only_face_images():
    with pytest.raises(KpbenchError, match="1,96,96"):
        trace_step("seed", input_shape=(3, 32, 32))


def test_unknown_precision_is_refused():
    with pytest.raises(KpbenchError, match="precision"):
        trace_step("seed", precision="int8")


def test_tracing_leaves_torch_global_state_alone():
    before = torch.get_default_dtype(), torch.is_grad_enabled()
    trace_step("convonly", batch_size=2)
    assert (torch.get_default_dtype(), torch.is_grad_enabled()) == before
