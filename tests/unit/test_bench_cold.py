"""--cold: a repeat's files evicted from the page cache; where that cannot work, one warning and a warm Record."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from kpbench.bench import cold, runner
from kpbench.bench.config import BenchConfig


def _cached_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    with open(path, "wb") as f:
        f.write(b"\x01" * (4 << 20))
        f.flush()
        os.fsync(f.fileno())  # dirty pages stay cached whatever the advice
    path.read_bytes()
    return path


@pytest.mark.skipif(cold.unavailable_reason() is not None, reason="no page-cache eviction on this platform")
def test_eviction_drops_a_file_just_read_from_the_page_cache(tmp_path):
    path = _cached_file(tmp_path)
    if cold.resident_bytes(path) == 0:
        pytest.skip("this filesystem keeps no page cache of its own")
    entry = cold.evict([path])
    if entry["resident_after_mb"] > 0:
        pytest.skip("this filesystem keeps its pages (tmpfs)")
    assert entry["files"] == 1 and entry["failed_files"] == 0 and entry["mb"] == pytest.approx(4.194304)
    assert entry["resident_before_mb"] > 0 and cold.resident_bytes(path) == 0


def test_the_files_of_a_repeat_are_the_interpreter_torch_kpbench_and_the_data(tmp_path):
    data = _cached_file(tmp_path)
    files = set(cold.files_to_evict(data))
    assert Path(sys.executable).resolve() in files and data.resolve() in files
    assert any(p.name.startswith("libtorch") for p in files)
    assert any(p.name == "phases.py" and p.parent.name == "bench" for p in files)
    assert any(p.name == "os.py" for p in files)  # the standard library


def test_files_an_earlier_repeat_mapped_are_evicted_too(tmp_path):
    lib = _cached_file(tmp_path)
    assert lib in cold.files_to_evict(None, extra=[str(lib)])


def test_mapped_files_are_read_from_proc_maps_without_anonymous_or_deleted_mappings():
    maps = ("7f00-7f01 r-xp 00000000 fd:01 12 /usr/lib/libc.so.6\n"
            "7f02-7f03 rw-p 00000000 00:00 0 \n"
            "7f04-7f05 r--p 00000000 00:00 0 [vdso]\n"
            "7f06-7f07 r--p 00000000 fd:01 13 /tmp/gone (deleted)\n"
            "7f08-7f09 r--p 00001000 fd:01 12 /usr/lib/libc.so.6\n")
    assert cold.mapped_files(maps) == ["/usr/lib/libc.so.6"]


def test_cold_where_eviction_is_impossible_warns_once_and_benches_warm(monkeypatch, capsys):
    monkeypatch.setattr(cold, "unavailable_reason", lambda: "page-cache eviction needs Linux; this is darwin")
    cfg = BenchConfig(data="synthetic", cold=True)
    notes = runner.cold_or_warm(cfg)
    err = capsys.readouterr().err
    assert cfg.cold is False
    assert notes == ["--cold: page-cache eviction needs Linux; this is darwin; the repeats ran warm (cold: false)"]
    assert err == "kpbench: warning: " + notes[0] + "\n"


def test_cold_where_the_kernel_refuses_advice_names_the_file(monkeypatch, tmp_path):
    data = _cached_file(tmp_path)

    def refuse(fd, offset, length, advice):
        raise OSError(22, "Invalid argument")

    monkeypatch.setattr(cold.os, "posix_fadvise", refuse, raising=False)
    monkeypatch.setattr(cold, "unavailable_reason", lambda: None)
    assert cold.probe(data).startswith(f"posix_fadvise refused {sys.executable} (Invalid argument)")


def test_a_warm_bench_evicts_nothing():
    assert runner.cold_or_warm(BenchConfig(data="synthetic")) == []
