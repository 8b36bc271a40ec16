"""One run per directory: the lock, what a directory may already hold, and leftovers of killed writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_checkpoint_files import one_line_naming, run_cli, tiny_cfg

from kpbench.errors import KpbenchError
from kpbench.lock import LOCK_NAME, run_dir_lock
from kpbench.train import train
from kpbench.train.checkpoint import RUN_FILES

HOLD = "import sys; from kpbench.lock import run_dir_lock\nwith run_dir_lock(sys.argv[1]):\n print('held', flush=True); sys.stdin.read()"


def _holder(out_dir: Path) -> subprocess.Popen:
    """Another process holding ``out_dir``'s lock until its stdin closes."""
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(out_dir)],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def _train_argv(out: Path, *extra: str) -> list[str]:
    return ["train", "--data", "synthetic:64", "--out", str(out), "--epochs", "1", "--batch-size", "16",
            "--device", "cpu", "--precision", "fp32", "--no-progress", *extra]


def test_second_writer_gets_a_one_line_error_naming_the_holder(tmp_path, capsys):
    out = tmp_path / "run"
    holder = _holder(out)
    try:
        code, _, err = run_cli(_train_argv(out), capsys)
        assert code == 2 and err.count("\n") == 1 and f"{out} is in use by kpbench pid {holder.pid}" in err
        assert not any((out / name).exists() for name in RUN_FILES)
    finally:
        holder.communicate("")
    code, _, err = run_cli(_train_argv(out), capsys)  # released: the next run goes ahead
    assert code == 0, err


def test_a_lock_left_by_a_killed_process_is_no_obstacle(tmp_path):
    holder = _holder(tmp_path)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    assert "pid=" in (tmp_path / LOCK_NAME).read_text()  # the stale file stays; its flock died with the holder
    with run_dir_lock(tmp_path):
        assert f"pid={os.getpid()}" in (tmp_path / LOCK_NAME).read_text()
    assert not (tmp_path / LOCK_NAME).exists()


def test_the_lock_is_reentrant_in_one_thread_and_leaves_no_directory_it_made_empty(tmp_path):
    out = tmp_path / "a" / "b"
    with pytest.raises(RuntimeError):
        with run_dir_lock(out):
            with run_dir_lock(out):
                assert (out / LOCK_NAME).exists()
            assert (out / LOCK_NAME).exists()  # still held by the outer block
            raise RuntimeError("the run failed before writing anything")
    assert not (tmp_path / "a").exists()


def test_a_file_where_the_run_directory_should_be_is_an_error(tmp_path):
    (tmp_path / "run").write_text("mine")
    with pytest.raises(KpbenchError, match="exists and is not a directory"):
        with run_dir_lock(tmp_path / "run"):
            pass


def test_a_users_own_file_in_out_is_not_replaced_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "faces.png").write_bytes(b"my holiday picture")
    code, _, err = run_cli(_train_argv(out), capsys)
    assert code == 2 and one_line_naming(err, out) and "faces.png" in err and "--force" in err
    assert (out / "faces.png").read_bytes() == b"my holiday picture"
    assert sorted(p.name for p in out.iterdir()) == ["faces.png"]
    code, _, err = run_cli(_train_argv(out, "--force"), capsys)
    assert code == 0, err
    assert (out / "faces.png").read_bytes().startswith(b"\x89PNG")


def test_force_and_resume_together_is_an_error(tmp_path, capsys):
    code, _, err = run_cli(_train_argv(tmp_path / "run", "--force", "--resume"), capsys)
    assert code == 2 and err.count("\n") == 1 and "--force" in err and "--resume" in err


def test_force_starts_a_new_run_over_another_run(synthetic_faces, tmp_path):
    train(synthetic_faces, tiny_cfg(lr=0.01), out_dir=tmp_path, progress=False)
    with pytest.raises(KpbenchError, match="holds another run"):
        train(synthetic_faces, tiny_cfg(lr=0.02), out_dir=tmp_path, progress=False)
    result = train(synthetic_faces, tiny_cfg(lr=0.02), out_dir=tmp_path, progress=False, force=True)
    assert result.config.lr == 0.02 and len(result.history) == 1


def test_temporary_files_of_a_killed_write_are_removed_by_the_next_run(synthetic_faces, tmp_path):
    train(synthetic_faces, tiny_cfg(), out_dir=tmp_path, progress=False)
    stale = [tmp_path / ".checkpoint.pt.k1ll3d.tmp", tmp_path / ".model.pt.x.tmp", tmp_path / ".metrics.json.y.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    train(synthetic_faces, tiny_cfg(), out_dir=tmp_path, progress=False, resume=True)
    assert not any(p.exists() for p in stale)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_directory_holding_only_leftovers_of_a_killed_first_epoch_is_a_new_run(synthetic_faces, tmp_path):
    (tmp_path / ".checkpoint.pt.abc.tmp").write_bytes(b"")
    (tmp_path / LOCK_NAME).write_text("pid=1\n")
    result = train(synthetic_faces, tiny_cfg(), out_dir=tmp_path, progress=False)
    assert len(result.history) == 1 and not (tmp_path / ".checkpoint.pt.abc.tmp").exists()


def test_run_files_are_every_file_a_run_writes(synthetic_faces, tmp_path):
    train(synthetic_faces, tiny_cfg(), out_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FILES)


@pytest.mark.slow
def test_two_trains_with_the_same_out_one_runs_the_other_is_refused(tmp_path):
    out = tmp_path / "run"
    argv = [sys.executable, "-m", "kpbench", "train", "--data", "synthetic:64", "--out", str(out), "--time-budget", "60",
            "--threads", "1", "--no-progress"]
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / LOCK_NAME).exists() and time.monotonic() < deadline and first.poll() is None:
            time.sleep(0.05)
        second = subprocess.run(argv, capture_output=True, text=True, timeout=120)
        assert second.returncode == 2, second.stderr
        assert second.stderr.count("\n") == 1 and f"in use by kpbench pid {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGTERM)
        _, err = first.communicate(timeout=120)
    assert first.returncode == 143 and "interrupted (SIGTERM)" in err
