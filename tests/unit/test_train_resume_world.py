"""--resume keeps the run's worker count: another count would change its global batch, peak lr and images per epoch."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from kpbench.errors import KpbenchError
from kpbench.train import TrainConfig, train
from kpbench.train.loop import _check_same_world
from kpbench.train.world import World


def test_a_checkpoint_records_the_world_it_trained_in(synthetic_faces, tmp_path):
    cfg = TrainConfig(model="bncnn", epochs=1, batch_size=16, device="cpu", precision="fp32")
    train(synthetic_faces, cfg, out_dir=tmp_path, progress=False)
    world = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["world"]
    assert world["size"] == 1 and world["global_batch"] == 16


def test_resuming_on_another_worker_count_is_refused_saying_how_to_resume():
    state = {"world": {"size": 1, "global_batch": 64, "peak_lr": 5e-3}}
    with pytest.raises(KpbenchError, match=r"^D: this run trained on 1 worker \(global batch 64\), not 2; --resume keeps "
                                           r"a run's global batch and learning rate: resume it on 1 .*--force$"):
        _check_same_world(Path("D"), state, World(rank=0, size=2, local_size=2))


def test_the_same_world_a_new_run_or_an_older_checkpoint_resume_as_before():
    for state in ({"world": {"size": 2}}, None, {}):
        _check_same_world(Path("D"), state, World(rank=0, size=2, local_size=2))
