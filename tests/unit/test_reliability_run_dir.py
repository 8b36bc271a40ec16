"""One run per directory: the lock, what a directory may already hold, and leftovers of killed writes.

(The lock held by another process: tests/process/test_reliability_run_dir_lock.py.)"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from helpers import one_line_naming, run_kpbench, tiny_cfg
from kpbench.errors import KpbenchError
from kpbench.lock import LOCK_NAME, run_dir_lock
from kpbench.train import train
from kpbench.train.checkpoint import RUN_FILES

PICTURES = ("curves.png", "faces.png", "keypoint_error.png")


def _train_argv(out: Path, *extra: str) -> list[str]:
    return ["train", "--data", "synthetic:64", "--out", str(out), "--epochs", "1", "--batch-size", "16",
            "--device", "cpu", "--precision", "fp32", "--no-progress", *extra]


def test_a_run_holds_its_directory_lock_while_it_trains_and_drops_it_after(synthetic_faces, tmp_path):
    held = []
    train(synthetic_faces, tiny_cfg(), out_dir=tmp_path, progress=False, pictures=False,
          on_event=lambda name, fields: held.append((tmp_path / LOCK_NAME).read_text()))
    assert held and all(f"pid={os.getpid()}" in text for text in held)
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


def test_a_users_own_file_in_out_is_not_replaced_without_force(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "faces.png").write_bytes(b"my holiday picture")
    code, _, err = run_kpbench(*_train_argv(out))
    assert code == 2 and one_line_naming(err, out) and "faces.png" in err and "--force" in err
    assert (out / "faces.png").read_bytes() == b"my holiday picture"
    assert sorted(p.name for p in out.iterdir()) == ["faces.png"]
    code, _, err = run_kpbench(*_train_argv(out, "--force"))
    assert code == 0, err
    assert (out / "faces.png").read_bytes().startswith(b"\x89PNG")


def test_force_and_resume_together_is_an_error(tmp_path):
    code, _, err = run_kpbench(*_train_argv(tmp_path / "run", "--force", "--resume"))
    assert code == 2 and err.count("\n") == 1 and "--force" in err and "--resume" in err


def test_force_starts_a_new_run_over_another_run(synthetic_faces, tmp_path):
    train(synthetic_faces, tiny_cfg(lr=0.01), out_dir=tmp_path, progress=False, pictures=False)
    with pytest.raises(KpbenchError, match="holds another run"):
        train(synthetic_faces, tiny_cfg(lr=0.02), out_dir=tmp_path, progress=False, pictures=False)
    result = train(synthetic_faces, tiny_cfg(lr=0.02), out_dir=tmp_path, progress=False, force=True, pictures=False)
    assert result.config.lr == 0.02 and len(result.history) == 1


def test_temporary_files_of_a_killed_write_are_removed_by_the_next_run(trained_run, run_copy):
    from kpbench.data import load_faces

    stale = [run_copy / ".checkpoint.pt.k1ll3d.tmp", run_copy / ".model.pt.x.tmp", run_copy / ".metrics.json.y.tmp"]
    for path in stale:
        path.write_bytes(b"half a file")
    faces = load_faces(trained_run[1] / "training.csv", progress=False)
    train(faces, tiny_cfg(), out_dir=run_copy, progress=False, resume=True, pictures=False)
    assert not any(p.exists() for p in stale)
    assert sorted(p.name for p in run_copy.iterdir() if p.name.startswith(".")) == []


def test_a_directory_holding_only_leftovers_of_a_killed_first_epoch_is_a_new_run(synthetic_faces, tmp_path):
    (tmp_path / ".checkpoint.pt.abc.tmp").write_bytes(b"")
    (tmp_path / LOCK_NAME).write_text("pid=1\n")
    result = train(synthetic_faces, tiny_cfg(), out_dir=tmp_path, progress=False, pictures=False)
    assert len(result.history) == 1 and not (tmp_path / ".checkpoint.pt.abc.tmp").exists()


def test_run_files_are_every_file_a_run_writes(synthetic_faces, tmp_path):
    train(synthetic_faces, tiny_cfg(), out_dir=tmp_path, progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(RUN_FILES)


def test_a_run_without_pictures_writes_every_run_file_but_the_three_charts(trained_run):
    assert set(PICTURES) <= set(RUN_FILES)  # conftest's shared run is trained with pictures=False
    assert sorted(p.name for p in trained_run[0].iterdir()) == sorted(set(RUN_FILES) - set(PICTURES))


