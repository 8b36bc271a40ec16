"""A demo replaces only an earlier demo's own files, and never a run another process holds.

`kpbench demo --out D` once deleted D/runs/default while `kpbench train --out D/runs/default` held its
lock, lock file and checkpoint included, after which a second writer took the lock. Now the demo's
marker lists the files it wrote; a later demo removes those (unchanged) and nothing else, stops with
nothing removed when another process holds a run inside, and holds D's own lock while it runs.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

import pytest

from kpbench.demo import DemoConfig, prepare_out_dir, record_written, run_demo
from kpbench.errors import KpbenchError
from kpbench.lock import LOCK_NAME


def earlier_demo(out: Path) -> list[Path]:
    """What a finished demo leaves: its parts, and its marker listing them."""
    prepare_out_dir(out)
    files = [out / "runs" / "default" / "checkpoint.pt", out / "runs" / "default" / "metrics.json",
             out / "records" / "record-x.json", out / "report" / "report.html", out / "data" / "training.csv"]
    for f in files:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(f"written by the demo: {f.name}\n")
    record_written(out)
    return files


def hold_lock(run_dir: Path, pid: int = 4242) -> int:
    """The run lock as another process holds it: a separate open file with an exclusive flock."""
    fd = os.open(run_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.pwrite(fd, f"pid={pid}\nhost=h\nstarted_utc=now\ncommand=kpbench train --out {run_dir}\n".encode(), 0)
    return fd


def test_a_second_demo_removes_the_first_ones_files(tmp_path):
    out = tmp_path / "demo"
    earlier_demo(out)
    assert prepare_out_dir(out) is True
    assert sorted(p.name for p in out.iterdir()) == [".kpbench-demo"]


def test_a_run_another_process_holds_is_not_removed(tmp_path):
    out = tmp_path / "demo"
    files = earlier_demo(out)
    fd = hold_lock(out / "runs" / "default")
    try:
        with pytest.raises(KpbenchError, match=r"in use by kpbench pid 4242.*left as it was"):
            prepare_out_dir(out)
        assert all(f.exists() for f in files) and (out / "runs" / "default" / LOCK_NAME).exists()
    finally:
        os.close(fd)


def test_a_file_the_demo_did_not_write_is_not_removed_and_nothing_else_is(tmp_path):
    out = tmp_path / "demo"
    files = earlier_demo(out)
    mine = out / "records" / "my-own-record.json"
    mine.write_text("{}")
    with pytest.raises(KpbenchError, match="my-own-record.json: not written by the earlier demo"):
        prepare_out_dir(out)
    assert mine.exists() and all(f.exists() for f in files)


def test_a_file_changed_since_the_demo_wrote_it_is_not_its_own(tmp_path):
    out = tmp_path / "demo"
    files = earlier_demo(out)
    files[1].write_text("edited by hand, and longer than before\n")
    with pytest.raises(KpbenchError, match="metrics.json: not written by the earlier demo"):
        prepare_out_dir(out)
    assert all(f.exists() for f in files)


def test_with_force_only_the_demos_own_files_go(tmp_path):
    out = tmp_path / "demo"
    files = earlier_demo(out)
    mine = out / "records" / "my-own-record.json"
    mine.write_text("{}")
    prepare_out_dir(out, force=True)
    assert mine.exists() and not any(f.exists() for f in files)


def test_a_marker_without_a_list_owns_nothing(tmp_path):
    out = tmp_path / "demo"
    files = earlier_demo(out)
    (out / ".kpbench-demo").write_text("written by `kpbench demo`: a later demo replaces data, runs\n")
    with pytest.raises(KpbenchError, match="not written by the earlier demo"):
        prepare_out_dir(out)
    assert all(f.exists() for f in files)


def test_a_linked_directory_is_not_followed(tmp_path):
    out = tmp_path / "demo"
    earlier_demo(out)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "precious.txt").write_text("keep")
    (out / "runs" / "link").symlink_to(elsewhere)
    with pytest.raises(KpbenchError, match="link: not written by the earlier demo"):
        prepare_out_dir(out)
    assert (elsewhere / "precious.txt").read_text() == "keep"


def test_two_demos_into_one_directory_the_second_stops_first(tmp_path):
    out = tmp_path / "demo"
    files = earlier_demo(out)
    fd = hold_lock(out)
    try:
        with pytest.raises(KpbenchError, match="in use by kpbench pid 4242"):
            run_demo(DemoConfig(out_dir=out))
        assert all(f.exists() for f in files)
    finally:
        os.close(fd)
