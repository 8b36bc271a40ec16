"""A full disk: one line naming the target file (never the temporary one), exit 2, the previous
file intact, no temporary files and no empty directories left behind. (A file-size limit, which
needs a process of its own: tests/process/test_reliability_file_size.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import torch

from helpers import one_line_naming, run_kpbench
from kpbench.atomic import torch_save, write_bytes, write_json
from kpbench.errors import KpbenchError

MIB = 1 << 20


def _fill(directory: Path) -> None:
    """Take every free byte of ``directory``'s file system."""
    with open(directory / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def _leftovers(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.rglob(".*.tmp"))


@pytest.mark.root
def test_a_write_too_big_for_the_disk_names_the_target_and_keeps_the_old_file(full_disk):
    target = full_disk / "result.bin"
    write_bytes(target, b"old result")
    with pytest.raises(KpbenchError) as e:
        write_bytes(target, b"x" * (2 * MIB))
    message = str(e.value)
    assert message.startswith(f"{target}: cannot write: no space left on device") and ".tmp" not in message
    assert target.read_bytes() == b"old result" and _leftovers(full_disk) == []


@pytest.mark.root
def test_torch_save_on_a_full_disk_is_the_same_error(full_disk):
    target = full_disk / "checkpoint.pt"
    with pytest.raises(KpbenchError, match=r"checkpoint.pt: cannot write: no space left on device"):
        torch_save({"w": torch.zeros(MIB)}, target)
    assert not target.exists() and _leftovers(full_disk) == []


@pytest.mark.root
def test_a_failed_write_leaves_no_directories_it_made(full_disk):
    with pytest.raises(KpbenchError, match="no space left"):
        write_json(full_disk / "a" / "b" / "records.json", {"pad": "x" * (2 * MIB)})
    assert sorted(p.name for p in full_disk.iterdir()) == []


@pytest.mark.root
def test_train_on_a_full_disk_is_one_line_naming_the_checkpoint_and_leaves_no_directory(full_disk):
    out = full_disk / "run"
    code, _, err = run_kpbench("train", "--data", "synthetic:64", "--out", out, "--epochs", "1", "--batch-size", "16",
                               "--device", "cpu", "--precision", "fp32", "--no-progress")
    assert code == 2 and one_line_naming(err, out / "checkpoint.pt") and "no space left" in err
    assert not out.exists()


@pytest.mark.root
def test_resume_on_a_full_disk_keeps_the_previous_checkpoint_intact(trained_run, full_disk):
    subprocess.run(["mount", "-o", "remount,size=24m", str(full_disk)], check=True)
    run = Path(shutil.copytree(trained_run[0], full_disk / "run"))
    before = (run / "checkpoint.pt").read_bytes()
    _fill(full_disk)
    code, _, err = run_kpbench("train", "--data", trained_run[1] / "training.csv", "--out", run, "--epochs", "2",
                               "--batch-size", "16", "--device", "cpu", "--precision", "fp32", "--resume",
                               "--no-progress")
    assert code == 2 and one_line_naming(err, run / "checkpoint.pt") and "no space left" in err
    assert (run / "checkpoint.pt").read_bytes() == before and _leftovers(run) == []


@pytest.mark.root
def test_predict_on_a_full_disk_names_the_submission_and_leaves_no_directory(trained_run, full_disk):
    run, data = trained_run
    _fill(full_disk)
    sub = full_disk / "out" / "submission.csv"
    code, _, err = run_kpbench("predict", "--weights", run / "model.pt", "--data", data / "test.csv", "--lookup",
                               data / "IdLookupTable.csv", "--out", sub, "--no-progress")
    assert code == 2 and err.count("\n") == 1 and "no space left" in err
    assert not (full_disk / "out").exists()


@pytest.mark.root
def test_a_failed_write_is_still_an_oserror_for_code_that_may_skip_it(full_disk):
    """The data cache treats a write it cannot make as optional (it catches OSError)."""
    import errno

    with pytest.raises(OSError) as e:
        write_bytes(full_disk / "cache.npz", b"x" * (2 * MIB))
    assert isinstance(e.value, KpbenchError) and e.value.errno == errno.ENOSPC
