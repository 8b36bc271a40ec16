"""Kill anywhere: SIGKILL `kpbench train` at random moments (some in the middle of a checkpoint
write), resume until done: every trial ends bit-identical to an uninterrupted run of the same seed,
and every file in the run directory is readable after every kill.

One CPU thread per run and a fixed seed make training deterministic, which is what lets resume be
exact (tests/unit/test_train_loop.py asserts the same in process). Trials run two at a time.

KPBENCH_KILL_TRIALS sets the number of trials: 3 by default (each kind of kill once: in a
checkpoint write, anywhere, and anywhere then in a resumed run's write), 10 under `make fuzz`.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

from helpers import start_kpbench
from kpbench.atomic import stale_temp_files

TRIALS = int(os.environ.get("KPBENCH_KILL_TRIALS", "3"))
ARGV = ["train", "--data", "synthetic:96", "--model", "bncnn", "--epochs", "3", "--threads", "1", "--device", "cpu",
        "--precision", "fp32", "--no-progress"]
DURING_WRITE = "during a checkpoint write"


def _start(out: Path, resume: bool) -> subprocess.Popen:
    return start_kpbench(*ARGV, "--out", out, *(["--resume"] if resume else []))


def _kill_when(p: subprocess.Popen, out: Path, when: float | str) -> bool:
    """SIGKILL ``p`` after ``when`` seconds, or as soon as a checkpoint temp file shows; False if it finished first."""
    t0 = time.monotonic()
    while p.poll() is None:
        if when == DURING_WRITE:
            if any(out.glob(".checkpoint.pt.*.tmp")):
                p.kill()
                break
            time.sleep(0.0005)
        elif time.monotonic() - t0 >= when:
            p.kill()
            break
        else:
            time.sleep(0.01)
    p.communicate()
    return p.returncode == -signal.SIGKILL


def _assert_every_file_readable(out: Path) -> None:
    if not out.exists():
        return
    for path in out.iterdir():
        if path.name.startswith("."):  # the lock, and a temporary file the kill cut short
            continue
        data = path.read_bytes()
        if path.suffix == ".pt":
            torch.load(path, weights_only=True)
        elif path.suffix == ".json":
            json.loads(data)
        elif path.suffix == ".png":
            assert data.startswith(b"\x89PNG") and data.endswith(b"IEND\xaeB`\x82"), path
        else:
            data.decode("utf-8")


def _run_to_the_end(out: Path, kills: list) -> int:
    """Run with the planned kills, then resume until a run finishes; the number of kills that landed in a write."""
    in_writes = 0
    for when in kills:
        killed = _kill_when(_start(out, resume=(out / "checkpoint.pt").exists()), out, when)
        _assert_every_file_readable(out)
        in_writes += killed and when == DURING_WRITE
    for _ in range(3):
        p = _start(out, resume=(out / "checkpoint.pt").exists())
        _, err = p.communicate(timeout=300)
        if p.returncode == 0:
            return in_writes
        assert p.returncode == 0, err
    raise AssertionError("no run finished")


def _final(out: Path) -> tuple[list, dict]:
    metrics = json.loads((out / "metrics.json").read_text())
    return [h["val_rmse_px"] for h in metrics["history"]], torch.load(out / "model.pt", weights_only=True)["state_dict"]


def test_sigkill_anywhere_then_resume_ends_as_an_uninterrupted_run(tmp_path):
    t0 = time.monotonic()
    reference = tmp_path / "reference"
    _run_to_the_end(reference, [])
    whole_s = time.monotonic() - t0
    rng = random.Random(12)
    assert TRIALS >= 2, "KPBENCH_KILL_TRIALS: at least 2 (a kill in a write, and a run killed twice)"
    plans = [[DURING_WRITE] if i % 3 == 0 else [rng.uniform(0.2, whole_s)] for i in range(TRIALS)]
    plans[1] = [rng.uniform(0.2, whole_s), DURING_WRITE]  # killed twice: once anywhere, then in a resumed run's write
    with ThreadPoolExecutor(max_workers=2) as pool:
        in_writes = list(pool.map(lambda i: _run_to_the_end(tmp_path / f"trial{i}", plans[i]), range(TRIALS)))
    assert sum(in_writes) >= 1, "no kill landed in a checkpoint write"
    ref_history, ref_weights = _final(reference)
    for i in range(TRIALS):
        out = tmp_path / f"trial{i}"
        history, weights = _final(out)
        assert history == ref_history, f"trial {i} ({plans[i]}): {history} != {ref_history}"
        assert all(torch.equal(weights[k], ref_weights[k]) for k in ref_weights), f"trial {i}: weights differ"
        assert stale_temp_files(out) == [] and not (out / ".kpbench.lock").exists()
