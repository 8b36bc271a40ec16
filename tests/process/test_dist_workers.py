"""Workers die with their launcher, a rendezvous deadline holds, a worker's bad input is one line without restarts."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from helpers import run_kpbench

SCRATCH = Path(tempfile.gettempdir())


def _pids_with(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if f"KPBENCH_TEST_MARKER={marker}".encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except (OSError, ValueError):
            continue
    return found


def _gone_within(marker: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while _pids_with(marker) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _pids_with(marker)


def _start(argv: list[str], marker: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kpbench", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env={**os.environ, "KPBENCH_TEST_MARKER": marker})


def _wait_for_workers(marker: str, launcher: subprocess.Popen, count: int = 2) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        workers = [p for p in _pids_with(marker) if b"LOCAL_RANK=" in Path(f"/proc/{p}/environ").read_bytes()]
        if len(workers) >= count:
            return
        assert launcher.poll() is None, launcher.communicate()
        time.sleep(0.1)
    raise AssertionError("the workers never started")


def test_workers_die_with_a_launcher_killed_by_sigkill_and_its_scratch_folder_goes_at_the_next_run(tmp_path):
    marker = uuid.uuid4().hex
    launcher = _start(["train", "--data", "synthetic:2000", "--model", "seed", "--epochs", "5", "--nproc", "2",
                       "--no-progress", "--out", str(tmp_path / "run")], marker)
    _wait_for_workers(marker, launcher)
    launcher.kill()
    launcher.wait()
    assert _gone_within(marker, 15), "workers outlived their launcher"
    left = list(SCRATCH.glob(f"kpbench-{launcher.pid}-*"))
    from kpbench.train.supervise import clean_stale_scratch

    clean_stale_scratch()
    assert all(not p.exists() for p in left)


def test_sigterm_to_dist_scale_stops_its_workers_and_removes_its_folders(tmp_path):
    marker = uuid.uuid4().hex
    launcher = _start(["dist", "scale", "--data", "synthetic:2000", "--model", "seed", "--nproc", "2", "--steps", "400",
                       "--out", str(tmp_path / "ds")], marker)
    _wait_for_workers(marker, launcher)
    launcher.send_signal(signal.SIGTERM)
    _, err = launcher.communicate(timeout=120)
    assert launcher.returncode == 143 and err.strip().count("\n") == 0, err
    assert "stopped by SIGTERM" in err
    assert _gone_within(marker, 15) and not list(SCRATCH.glob(f"kpbench-{launcher.pid}-*"))


def test_a_rendezvous_store_that_accepts_and_never_answers_fails_within_the_deadline(tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)  # the kernel completes every connection; nothing ever answers
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        r = run_kpbench("train", "--data", "synthetic:64", "--out", tmp_path / "run", "--nnodes", "2", "--node-rank", "1",
                        "--rdzv-endpoint", f"127.0.0.1:{port}", subprocess=True, timeout_s=300,
                        env={"KPBENCH_RDZV_TIMEOUT_S": "2"})
        took = time.monotonic() - t0
    assert r.code == 2 and r.err.count("\n") == 1, r.err
    assert r.error_line.startswith(f"kpbench: error: the workers' rendezvous at 127.0.0.1:{port} did not form within 2 s")
    assert took < 2 + 15 + 30  # the timeout, the agents' start allowance, and Python's own start under load


def test_a_workers_bad_input_is_one_line_with_exit_2_and_uses_no_restart(tmp_path):
    r = run_kpbench("train", "--data", tmp_path / "nope.csv", "--out", tmp_path / "run", "--nproc", "2",
                    "--max-restarts", "3", subprocess=True, timeout_s=300)
    assert r.code == 2 and r.err.count("\n") == 1 and "nope.csv" in r.error_line, r.err
    assert "-- attempt 1" not in (tmp_path / "run" / "workers.log").read_text()


def test_ctrl_c_to_a_two_worker_run_is_one_line_from_the_launcher(tmp_path):
    marker = uuid.uuid4().hex
    launcher = subprocess.Popen([sys.executable, "-m", "kpbench", "train", "--data", "synthetic:2000", "--model", "seed",
                                 "--epochs", "5", "--nproc", "2", "--no-progress", "--out", str(tmp_path / "run")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                                env={**os.environ, "KPBENCH_TEST_MARKER": marker})
    _wait_for_workers(marker, launcher)
    time.sleep(3)  # into the steps
    os.killpg(launcher.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the launcher's whole process group
    _, err = launcher.communicate(timeout=180)
    assert launcher.returncode == 130 and err.strip().count("\n") == 0, err
    assert "stopped by SIGINT" in err and _gone_within(marker, 15)
