"""The run directory's lock held by another process: a second writer is refused in one line naming
the holder's pid; a holder that was killed leaves no obstacle. (The lock's other rules, in process:
tests/unit/test_reliability_run_dir.py.)"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from helpers import run_kpbench
from kpbench.lock import LOCK_NAME, run_dir_lock
from kpbench.train.checkpoint import RUN_FILES

HOLD = "import sys; from kpbench.lock import run_dir_lock\nwith run_dir_lock(sys.argv[1]):\n print('held', flush=True); sys.stdin.read()"


def _holder(out_dir: Path) -> subprocess.Popen:
    """Another process holding ``out_dir``'s lock until its stdin closes."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(out_dir)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def _train_argv(out: Path) -> list[str]:
    return ["train", "--data", "synthetic:64", "--out", str(out), "--epochs", "1", "--batch-size", "16",
            "--device", "cpu", "--precision", "fp32", "--no-progress"]


def test_second_writer_gets_a_one_line_error_naming_the_holder(tmp_path):
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        code, _, err = run_kpbench(*_train_argv(out))
        assert code == 2 and err.count("\n") == 1 and f"{out} is in use by kpbench pid {holder.pid}" in err
        assert not any((out / name).exists() for name in RUN_FILES)
    finally:
        holder.communicate("")
    code, _, err = run_kpbench(*_train_argv(out))  # released: the next run goes ahead
    assert code == 0, err


def test_a_lock_left_by_a_killed_process_is_no_obstacle(tmp_path):
    holder = _holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert "pid=" in (tmp_path / LOCK_NAME).read_text()  # the stale file stays; its flock died with the holder
    with run_dir_lock(tmp_path):
        assert f"pid={os.getpid()}" in (tmp_path / LOCK_NAME).read_text()
    assert not (tmp_path / LOCK_NAME).exists()
