"""The DDP pieces train adds: gradient hooks by name, the bytes a step sends, BatchNorm over the global batch."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from kpbench.errors import KpbenchError
from kpbench.models import build_model
from kpbench.train.config import TrainConfig
from kpbench.train.ddp import allreduce_bytes_per_step, parse_comm_hook, sync_batchnorm


@pytest.mark.parametrize("text, parsed", [("none", ("none", 0)), ("bf16", ("bf16", 0)), ("PowerSGD:4", ("powersgd", 4))])
def test_hooks_are_named_as_the_cli_spells_them(text, parsed):
    assert parse_comm_hook(text) == parsed


@pytest.mark.parametrize("bad", ["zip", "powersgd", "powersgd:0", "powersgd:1000"])
def test_an_unknown_hook_is_refused_with_the_choices(bad):
    with pytest.raises(KpbenchError, match="powersgd:R"):
        TrainConfig(comm_hook=bad).validate()


def test_a_step_sends_the_gradient_in_fp32_half_of_it_in_fp16_and_p_and_q_with_powersgd():
    net = nn.Sequential(nn.Linear(100, 50), nn.Linear(50, 2))  # weights 50×100 and 2×50, biases 50 and 2
    fp32 = (5000 + 50 + 100 + 2) * 4
    assert allreduce_bytes_per_step(net, "none") == fp32 and allreduce_bytes_per_step(net, "fp16") == fp32 // 2
    # rank 1: the 50×100 weight sends P (50) and Q (100); the 2×50 one is not worth compressing, nor the biases
    assert allreduce_bytes_per_step(net, "powersgd", 1) == (150 + 100 + 50 + 2) * 4


def test_the_seed_networks_dense_layer_is_what_powersgd_shrinks():
    seed = build_model("seed")
    assert allreduce_bytes_per_step(seed, "none") > 32e6 > 100 * allreduce_bytes_per_step(seed, "powersgd", 1)


def test_global_batchnorm_in_a_world_of_one_is_the_batchnorm_it_was_and_saves_the_same_state():
    torch.manual_seed(0)
    plain = build_model("bncnn")
    synced = sync_batchnorm(build_model("bncnn"), "cpu")
    synced.load_state_dict(plain.state_dict())
    x = torch.randn(4, 1, 96, 96)
    assert torch.allclose(plain(x), synced(x), atol=1e-6)
    assert synced.state_dict().keys() == plain.state_dict().keys()
    assert any(type(m).__name__ == "GlobalBatchNorm2d" for m in synced.modules())
