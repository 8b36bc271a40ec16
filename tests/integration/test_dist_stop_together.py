"""Every rank stops on the same step, with every gradient hook, in train and in the scaling study alike."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

JOB = Path(__file__).with_name("ddp_every_hook_job.py")
CASES = [f"{m} {h}" for m in ("seed", "bncnn") for h in ("none", "fp16", "bf16", "powersgd:1", "powersgd:4")]


@pytest.fixture(scope="module")
def gathered(tmp_path_factory) -> dict:
    """One two-worker torchrun job running every case (one job: each start costs seconds)."""
    out = tmp_path_factory.mktemp("hooks") / "result.json"
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                           str(JOB), str(out)], capture_output=True, text=True, timeout=900,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.mark.parametrize("case", CASES)
def test_train_under_a_budget_ending_mid_epoch_stops_every_rank_on_the_same_step(gathered, case):
    rank0, rank1 = gathered["train"][case]
    assert rank0 == rank1, f"{case}: ranks parted ways: {rank0} vs {rank1}"
    assert rank0["last_epoch_steps"] < rank0["steps_per_epoch"], f"{case}: the budget did not end inside an epoch"


@pytest.mark.parametrize("case", CASES)
def test_the_scaling_workers_budget_stops_every_rank_on_the_same_step(gathered, case):
    rank0, rank1 = gathered["study"][case]
    assert rank0 == rank1 >= 3


def test_batchnorm_over_the_global_batch_is_one_batchnorm_over_the_whole_batch(gathered):
    same = {"output": True, "input_grad": True, "running_stats": True}
    assert gathered["batchnorm"] == [same, same]
