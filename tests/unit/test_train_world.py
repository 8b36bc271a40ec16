"""Data-parallel training's parts that need no torchrun: the world from torchrun's environment, lr
scaling, a launch's outcome as one line and its exit code, the rendezvous endpoint checked before
anything starts, the oversubscription warning. (Real torchrun jobs: tests/integration/test_train_ddp.py.)"""

from __future__ import annotations

import os
import signal
import socket

import pytest

from helpers import run_kpbench
from kpbench.errors import Interrupted, KpbenchError, RunFailed
from kpbench.train import TrainConfig
from kpbench.train.launch import Launch, Outcome, raise_for
from kpbench.train.world import World, from_env, threads_per_worker


def test_the_world_comes_from_torchruns_environment():
    env = {"WORLD_SIZE": "4", "RANK": "3", "LOCAL_RANK": "1", "LOCAL_WORLD_SIZE": "2", "TORCHELASTIC_RESTART_COUNT": "1"}
    assert from_env(env) == World(rank=3, size=4, local_rank=1, local_size=2, restart_count=1)
    assert from_env({}) == World() and World().main and not World().distributed
    assert threads_per_worker(World(size=2, local_size=2)) == max(1, len(os.sched_getaffinity(0)) // 2)
    assert threads_per_worker(World()) is None


def test_lr_scaling_grows_the_peak_rate_with_the_workers_and_leaves_one_worker_alone():
    cfg = TrainConfig(lr=0.01)
    assert cfg.lr_scaling == "sqrt" and cfg.scaled_lr(4) == pytest.approx(0.02) and cfg.scaled_lr(1) == 0.01
    assert TrainConfig(lr=0.01, lr_scaling="linear").scaled_lr(4) == pytest.approx(0.04)
    assert TrainConfig(lr=0.01, lr_scaling="none").scaled_lr(4) == 0.01
    with pytest.raises(KpbenchError, match="lr_scaling 'cubic' is not one of"):
        TrainConfig(lr_scaling="cubic").validate()


def test_a_killed_worker_past_its_restarts_is_one_line_naming_its_rank():
    outcome = Outcome(returncode=1, failed_rank=1, failed_exitcode=-9)
    with pytest.raises(RunFailed, match=r"worker rank 1 failed \(killed by SIGKILL\) .*--max-restarts 2"):
        raise_for(outcome, Launch(nproc_per_node=2, max_restarts=2))


def test_bad_input_seen_by_the_workers_is_said_once_with_exit_2():
    errors = {r: {"rank": r, "message": "nope.csv: no such file", "exit_code": 2} for r in (0, 1)}
    with pytest.raises(KpbenchError, match="^nope.csv: no such file$") as e:
        raise_for(Outcome(returncode=1, failed_rank=0, failed_exitcode=2, worker_errors=errors), Launch())
    assert e.value.exit_code == 2


def test_a_signal_forwarded_to_the_workers_gives_rank_0s_resume_line():
    errors = {0: {"rank": 0, "message": "stopped by SIGTERM …; run the same command with --resume", "exit_code": 143}}
    with pytest.raises(Interrupted, match="--resume") as e:
        raise_for(Outcome(returncode=1, signum=signal.SIGTERM, worker_errors=errors), Launch())
    assert e.value.exit_code == 143


def test_an_unknown_rendezvous_host_is_one_line_and_exit_2(tmp_path):
    code, _, err = run_kpbench("train", "--data", "synthetic:64", "--out", tmp_path / "run", "--nnodes", "2",
                               "--rdzv-endpoint", "no-such-host.invalid:29400")
    assert code == 2 and err.count("\n") == 1, err
    assert "unknown host no-such-host.invalid" in err


def test_a_rendezvous_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _, err = run_kpbench("train", "--data", "synthetic:64", "--out", tmp_path / "run", "--nnodes", "2",
                                   "--rdzv-endpoint", f"127.0.0.1:{port}")
    assert code == 2 and err.count("\n") == 1, err
    assert f"port {port} is already in use" in err


def test_more_workers_than_cores_are_refused_unless_oversubscribed_and_then_warned_about():
    from kpbench.train.launch import check_nproc

    cores = len(os.sched_getaffinity(0))
    with pytest.raises(KpbenchError, match="--oversubscribe"):
        check_nproc(cores + 1, "cpu", oversubscribe=False)
    assert f"--nproc {cores + 1} is more than this machine's {cores} CPU cores" in check_nproc(cores + 1, "cpu",
                                                                                               oversubscribe=True)
    assert check_nproc(1, "cpu", oversubscribe=False) is None
