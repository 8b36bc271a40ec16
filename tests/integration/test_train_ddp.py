"""Data-parallel training on torchrun: same steps as one process, rank 0 writes, restarts, one-line failures."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import torch

from kpbench.errors import Interrupted, KpbenchError, RunFailed
from kpbench.train import TrainConfig, train
from kpbench.train.launch import Launch, Outcome, raise_for
from kpbench.train.world import World, from_env, threads_per_worker

RUN_FILES = {"checkpoint.pt", "model.pt", "metrics.json", "model_summary.md", "curves.png", "faces.png", "keypoint_error.png"}


def _kpbench(*argv: str, env: dict | None = None, timeout_s: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpbench", *argv], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout_s)


def _weights(model_pt: Path) -> dict:
    return torch.load(model_pt, weights_only=True)["state_dict"]


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
    done = _kpbench("train", "--data", "synthetic:64", "--out", str(tmp_path / "run"), "--nnodes", "2",
                    "--rdzv-endpoint", "no-such-host.invalid:29400", timeout_s=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "unknown host no-such-host.invalid" in done.stderr


def test_a_rendezvous_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _kpbench("train", "--data", "synthetic:64", "--out", str(tmp_path / "run"), "--nnodes", "2",
                        "--rdzv-endpoint", f"127.0.0.1:{port}", timeout_s=120)
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert f"port {port} is already in use" in done.stderr


def test_more_workers_than_cores_is_warned_about(capsys):
    from kpbench.train.launch import _warn_if_oversubscribed

    cores = len(os.sched_getaffinity(0))
    _warn_if_oversubscribed("cpu", cores + 1)
    assert f"--nproc {cores + 1} is more than this machine's {cores} CPU cores" in capsys.readouterr().err
    _warn_if_oversubscribed("cpu", 1)
    assert capsys.readouterr().err == ""


@pytest.mark.slow
def test_two_workers_take_the_same_steps_as_one_process_with_twice_the_batch(tmp_path):
    from kpbench.data import load_faces

    # seed: no BatchNorm, whose statistics are per worker; augmentation on: drawn per global batch
    cfg = TrainConfig(model="seed", epochs=1, batch_size=16, val_frac=0.25, device="cpu", precision="fp32", lr_scaling="none")
    one = train(load_faces("synthetic:64"), cfg, out_dir=tmp_path / "one", progress=False)
    done = _kpbench("train", "--data", "synthetic:64", "--model", "seed", "--epochs", "1", "--batch-size", "8",
                    "--val-frac", "0.25", "--device", "cpu", "--precision", "fp32", "--lr-scaling", "none",
                    "--no-progress", "--nproc", "2", "--out", str(tmp_path / "two"))
    assert done.returncode == 0, done.stderr
    metrics = json.loads((tmp_path / "two/metrics.json").read_text())
    assert metrics["final_val_rmse_px"] == pytest.approx(one.final_val_rmse_px, rel=1e-5)
    assert metrics["history"][0]["train_loss"] == pytest.approx(one.history[0]["train_loss"], rel=1e-5)
    # Adam divides by sqrt(v): a weight whose gradient is ~0 moves by up to ~lr on float rounding alone
    # (the all-reduce sums in another order), so weights agree to a fraction of one step, most far closer
    a, b = _weights(tmp_path / "one/model.pt"), _weights(tmp_path / "two/model.pt")
    assert all(torch.allclose(a[k], b[k], rtol=0, atol=cfg.lr / 4) for k in a)
    close = sum(int(torch.isclose(a[k], b[k], rtol=1e-4, atol=1e-6).sum()) for k in a)
    assert close / sum(a[k].numel() for k in a) > 0.999
    assert metrics["distributed"] == {"world_size": 2, "per_worker_batch": 8, "global_batch": 16,
                                      "lr_scaling": "none", "peak_lr": cfg.lr}
    assert metrics["history"][0]["images"] == one.history[0]["images"]
    names = {p.name for p in (tmp_path / "two").iterdir()}
    assert RUN_FILES <= names and not [n for n in names if n.endswith(".tmp")]  # one writer: no stray temporaries
    assert done.stdout.count("val RMSE") == 1  # rank 0 alone prints


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


def _kill_rank_once_checkpointed(argv: list[str], out: Path, rank: int) -> subprocess.CompletedProcess:
    """Runs kpbench with ``argv``; SIGKILLs worker ``rank`` once the first checkpoint exists (mid-epoch 2)."""
    marker = uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "kpbench", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "KPBENCH_TEST_MARKER": marker})
    deadline = time.monotonic() + 400
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    pid = _workers_of(marker).get(rank)
    assert pid is not None, "worker not found"
    os.kill(pid, signal.SIGKILL)
    out_text, err_text = proc.communicate(timeout=600)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out_text, err_text)


def _train_argv(out: Path, *extra: str) -> list[str]:
    return ["train", "--data", "synthetic:256", "--model", "bncnn", "--epochs", "3", "--batch-size", "8",
            "--no-progress", "--nproc", "2", "--out", str(out), *extra]


@pytest.mark.slow
def test_a_worker_killed_mid_epoch_is_restarted_and_the_run_finishes(tmp_path):
    out = tmp_path / "run"
    done = _kill_rank_once_checkpointed(_train_argv(out, "--max-restarts", "1"), out, rank=1)
    assert done.returncode == 0, done.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3] and metrics["final_val_rmse_px"] > 0


@pytest.mark.slow
def test_a_worker_killed_with_no_restarts_left_is_one_line_naming_it_and_exit_3(tmp_path):
    out = tmp_path / "run"
    done = _kill_rank_once_checkpointed(_train_argv(out), out, rank=1)
    assert done.returncode == 3, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("kpbench: error: worker rank 1 failed (killed by SIGKILL)"), done.stderr
    torch.load(out / "checkpoint.pt", weights_only=True)  # the last checkpoint is whole


@pytest.mark.slow
def test_a_rendezvous_that_never_forms_fails_within_its_timeout(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    t0 = time.monotonic()
    done = _kpbench("train", "--data", "synthetic:64", "--out", str(tmp_path / "run"), "--nnodes", "2",
                    "--rdzv-endpoint", f"127.0.0.1:{port}", env={"KPBENCH_RDZV_TIMEOUT_S": "5"}, timeout_s=300)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith("kpbench: error: the workers' rendezvous at 127.0.0.1:")
    assert "did not form within 5 s" in done.stderr
    assert time.monotonic() - t0 < 120


@pytest.mark.slow
def test_sigterm_to_a_two_worker_run_checkpoints_once_and_resume_finishes_it(tmp_path):
    from test_train_loop import sigterm_once_checkpointed

    out = tmp_path / "run"
    returncode, err = sigterm_once_checkpointed([sys.executable, "-m", "kpbench", *_train_argv(out)], out)
    assert returncode == 143, err
    assert err.strip().count("\n") == 0 and "stopped by SIGTERM in epoch" in err and "--resume" in err
    assert not (out / "model.pt").exists()
    done = _kpbench(*_train_argv(out, "--resume"))
    assert done.returncode == 0, done.stderr
    assert [h["epoch"] for h in json.loads((out / "metrics.json").read_text())["history"]] == [1, 2, 3]
