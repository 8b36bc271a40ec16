"""A worker that fails is one line naming its rank and cause; a restart is one line; the rest is in the log."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

from kpbench.train.launch import Launch, worker_env
from kpbench.train.supervise import Node, Watch, supervise

JOB = Path(__file__).with_name("mismatched_collective_job.py")


def test_a_worker_aborted_by_gloo_is_its_rank_and_gloos_own_words(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2", str(JOB)]
    log = tmp_path / "job.log"
    outcome = supervise([Node(cmd, worker_env(Launch()))], log, Watch(rdzv_timeout_s=30, timeout_s=300))
    assert outcome.returncode != 0 and outcome.failed_rank is not None
    line = outcome.failure()
    assert line.startswith(f"rank {outcome.failed_rank}: ") and "Received data size doesn't match" in line, line
    assert "killed by SIGABRT" in line and "Received data size doesn't match" in log.read_text()


def _workers_of(marker: str) -> dict[int, int]:
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            env = (entry / "environ").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        values = dict(v.split("=", 1) for v in env if "=" in v)
        if values.get("KPBENCH_TEST_MARKER") == marker and "LOCAL_RANK" in values:
            found[int(values["RANK"])] = int(entry.name)
    return found


def test_a_restart_after_a_killed_worker_is_one_line_and_the_run_succeeds(tmp_path):
    out, marker = tmp_path / "run", uuid.uuid4().hex
    proc = subprocess.Popen([sys.executable, "-m", "kpbench", "train", "--data", "synthetic:256", "--model", "bncnn",
                             "--epochs", "3", "--batch-size", "8", "--no-progress", "--nproc", "2", "--max-restarts", "1",
                             "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KPBENCH_TEST_MARKER": marker})
    deadline = time.monotonic() + 400
    while not (out / "checkpoint.pt").exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    os.kill(_workers_of(marker)[1], signal.SIGKILL)
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    assert err.strip().splitlines() == [f"kpbench: worker rank 1 failed (killed by SIGKILL); torchrun restarted the "
                                        f"workers (restart 1 of 1); log: {out / 'workers.log'}"]
    assert "-- attempt 1" in (out / "workers.log").read_text()  # both attempts' output is in the log
