"""SIGINT and SIGTERM to a real `kpbench train`: one line saying what stopped it and how to continue,
exit 128+N, no temporary files. (The same path in process: tests/unit/test_cli.py; a signal
mid-epoch checkpoints and resumes bit-identically: tests/unit/test_train_loop.py.)

The children get SIGINT's default disposition back (a shell running the suite in the background
ignores SIGINT, and an ignored SIGINT stays ignored across exec: Python would install no handler).
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from helpers import Result, start_kpbench
from kpbench.lock import LOCK_NAME


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _train_until_signalled(out: Path, signum: int) -> Result:
    """Start `kpbench train`, send ``signum`` once the run holds its directory, wait for the exit."""
    p = start_kpbench("train", "--data", "synthetic:64", "--out", out, "--time-budget", "120", "--threads", "1",
                      "--no-progress", preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while not (out / LOCK_NAME).exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the training loop
    p.send_signal(signum)
    _, err = p.communicate(timeout=120)
    return Result(p.returncode, "", err)


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_train_with_one_line_and_its_exit_code(tmp_path, signum, code):
    out = tmp_path / "run"
    r = _train_until_signalled(out, signum)
    assert r.code == code, r.err
    lines = r.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kpbench: ") and signal.Signals(signum).name in lines[0]
    assert "interrupted" in lines[0] and "--resume" in lines[0] and "Traceback" not in r.err
    assert not list(out.glob(".*.tmp")) if out.exists() else True
