"""A worker that fails is one line naming its rank and cause; the rest is in the log.
(A restart in one line: tests/integration/test_train_ddp.py.)"""

from __future__ import annotations

import sys
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
