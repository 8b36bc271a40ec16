"""Data-parallel training on torchrun: same steps as one process, rank 0 writes, restarts, one-line failures.
(The launcher's parts that need no torchrun: tests/unit/test_train_world.py.)"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import torch

from helpers import Result, run_kpbench, start_kpbench
from kpbench.train import TrainConfig, train
from kpbench.train.checkpoint import RUN_FILES


def _weights(model_pt: Path) -> dict:
    return torch.load(model_pt, weights_only=True)["state_dict"]


def test_two_workers_take_the_same_steps_as_one_process_with_twice_the_batch(tmp_path):
    from kpbench.data import load_faces

    # seed: no BatchNorm, whose statistics are per worker; augmentation on: drawn per global batch
    cfg = TrainConfig(model="seed", epochs=1, batch_size=16, val_frac=0.25, device="cpu", precision="fp32", lr_scaling="none")
    one = train(load_faces("synthetic:64"), cfg, out_dir=tmp_path / "one", progress=False, pictures=False)
    done = run_kpbench("train", "--data", "synthetic:64", "--model", "seed", "--epochs", "1", "--batch-size", "8",
                       "--val-frac", "0.25", "--device", "cpu", "--precision", "fp32", "--lr-scaling", "none",
                       "--no-progress", "--nproc", "2", "--out", tmp_path / "two", subprocess=True, timeout_s=600)
    assert done.code == 0, done.err
    metrics = json.loads((tmp_path / "two/metrics.json").read_text())
    assert metrics["final_val_rmse_px"] == pytest.approx(one.final_val_rmse_px, rel=1e-5)
    assert metrics["history"][0]["train_loss"] == pytest.approx(one.history[0]["train_loss"], rel=1e-5)
    # Adam divides by sqrt(v): a weight whose gradient is ~0 moves by up to ~lr on float rounding alone
    # (the all-reduce sums in another order), so weights agree to a fraction of one step, most far closer
    a, b = _weights(tmp_path / "one/model.pt"), _weights(tmp_path / "two/model.pt")
    assert all(torch.allclose(a[k], b[k], rtol=0, atol=cfg.lr / 4) for k in a)
    close = sum(int(torch.isclose(a[k], b[k], rtol=1e-4, atol=1e-6).sum()) for k in a)
    assert close / sum(a[k].numel() for k in a) > 0.999
    assert metrics["distributed"] | {"stop_decision_s_per_step": 0} == {
        "world_size": 2, "per_worker_batch": 8, "global_batch": 16, "lr_scaling": "none", "peak_lr": cfg.lr,
        "comm_hook": "none", "sync_batchnorm": False, "allreduce_bytes_per_step": 32206008, "stop_decision_s_per_step": 0}
    assert metrics["history"][0]["images"] == one.history[0]["images"]
    names = {p.name for p in (tmp_path / "two").iterdir()}
    assert set(RUN_FILES) <= names and not [n for n in names if n.endswith(".tmp")]  # one writer: no stray temporaries
    assert done.out.count("val RMSE") == 1  # rank 0 alone prints


def _workers_of(marker: str) -> dict[int, int]:
    """rank → pid of the kpbench workers whose environment carries ``marker``."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            env = dict(v.split("=", 1) for v in (entry / "environ").read_bytes().decode(errors="replace").split("\0") if "=" in v)
        except OSError:
            continue
        if env.get("KPBENCH_TEST_MARKER") == marker and "RANK" in env and "LOCAL_RANK" in env:
            found[int(env["RANK"])] = int(entry.name)
    return found


def _wait_for_the_first_checkpoint(proc: subprocess.Popen, out: Path) -> None:
    deadline = time.monotonic() + 400
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)


def _kill_rank_once_checkpointed(argv: list[str], out: Path, rank: int) -> Result:
    """Runs kpbench with ``argv``; SIGKILLs worker ``rank`` once the first checkpoint exists (mid-epoch 2)."""
    marker = uuid.uuid4().hex
    proc = start_kpbench(*argv, stdout=subprocess.PIPE, env={"KPBENCH_TEST_MARKER": marker})
    _wait_for_the_first_checkpoint(proc, out)
    pid = _workers_of(marker).get(rank)
    assert pid is not None, "worker not found"
    os.kill(pid, signal.SIGKILL)
    out_text, err_text = proc.communicate(timeout=600)
    return Result(proc.returncode, out_text, err_text)


def _train_argv(out: Path, *extra: str) -> list[str]:
    return ["train", "--data", "synthetic:256", "--model", "bncnn", "--epochs", "3", "--batch-size", "8",
            "--no-progress", "--nproc", "2", "--out", str(out), *extra]


def test_a_worker_killed_mid_epoch_is_restarted_in_one_line_and_the_run_finishes(tmp_path):
    out = tmp_path / "run"
    done = _kill_rank_once_checkpointed(_train_argv(out, "--max-restarts", "1"), out, rank=1)
    assert done.code == 0, done.err
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3] and metrics["final_val_rmse_px"] > 0
    # the restart is one line on the terminal; both attempts' output is in the log it names
    assert done.err.strip().splitlines() == [f"kpbench: worker rank 1 failed (killed by SIGKILL); torchrun restarted the "
                                             f"workers (restart 1 of 1); log: {out / 'workers.log'}"]
    assert "-- attempt 1" in (out / "workers.log").read_text()


def test_a_worker_killed_with_no_restarts_left_is_one_line_naming_it_and_exit_3(tmp_path):
    out = tmp_path / "run"
    done = _kill_rank_once_checkpointed(_train_argv(out), out, rank=1)
    assert done.code == 3, done.err
    assert done.error_line.startswith("kpbench: error: worker rank 1 failed (killed by SIGKILL)"), done.err
    torch.load(out / "checkpoint.pt", weights_only=True)  # the last checkpoint is whole


def test_a_rendezvous_that_never_forms_fails_within_its_timeout(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    done = run_kpbench("train", "--data", "synthetic:64", "--out", tmp_path / "run", "--nnodes", "2",
                       "--rdzv-endpoint", f"127.0.0.1:{port}", env={"KPBENCH_RDZV_TIMEOUT_S": "2"}, subprocess=True)
    assert done.code == 2, done.err
    assert done.error_line.startswith("kpbench: error: the workers' rendezvous at 127.0.0.1:")
    assert "did not form within 2 s" in done.err
    assert time.monotonic() - t0 < 120


def test_sigterm_to_a_two_worker_run_checkpoints_once_and_resume_finishes_it(tmp_path):
    out = tmp_path / "run"
    proc = start_kpbench(*_train_argv(out))
    _wait_for_the_first_checkpoint(proc, out)
    time.sleep(0.3)  # into epoch 2
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 143, err
    assert err.strip().count("\n") == 0 and "stopped by SIGTERM in epoch" in err and "--resume" in err
    assert not (out / "model.pt").exists()
    done = run_kpbench(*_train_argv(out, "--resume"), subprocess=True, timeout_s=600)
    assert done.code == 0, done.err
    assert [h["epoch"] for h in json.loads((out / "metrics.json").read_text())["history"]] == [1, 2, 3]
