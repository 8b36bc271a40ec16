"""`kpbench bench` around its workers: data specs, bad input refused before any repeat, and writing
the Record (two in the same second, a full disk). (The workers themselves: tests/process/test_bench_run.py.)"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from helpers import run_kpbench
from kpbench.bench import record, runner
from kpbench.bench.record import load_record
from kpbench.errors import KpbenchError

TINY = ["--data", "synthetic", "--model", "seed", "--rows", "48", "--batch-size", "16", "--precision", "fp32",
        "--no-progress"]
FIXTURE = Path(__file__).parents[1] / "fixtures" / "record_cpu.json"


def test_synthetic_rows_are_the_first_rows_of_the_same_faces_with_their_hash():
    from kpbench.bench.worker import bench_faces
    from kpbench.data import load_faces

    whole = load_faces("synthetic:96")
    part = bench_faces("synthetic:96", 48)
    assert len(part) == 48 and (part.images == whole.images[:48]).all()
    assert part.sha256 == whole.sha256 and part.meta["load"] == "synthetic"


@pytest.mark.parametrize("spec", ["synthetic", "synthetic:128", "synthetic:128:3"])
def test_synthetic_specs_are_accepted_as_data(spec):
    runner.check_data(spec)


@pytest.mark.parametrize("spec, says", [("synthetic:lots", "expected 'synthetic'"), ("no/such/dir", "no such file")])
def test_bad_data_is_refused_before_any_repeat(spec, says):
    with pytest.raises(KpbenchError, match=says):
        runner.check_data(spec)


def fixture_record() -> dict:
    return json.loads(FIXTURE.read_text())


def test_two_records_written_under_the_same_name_in_the_same_second_are_both_kept(tmp_path):
    barrier = threading.Barrier(4)
    paths: list[Path] = []

    def write():
        barrier.wait()
        paths.append(record.write_new_record(tmp_path, "record-host-seed-20261201T000000Z", fixture_record()))

    threads = [threading.Thread(target=write) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(paths)) == 4 and sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in paths)
    for p in paths:
        load_record(p)


def test_a_full_disk_is_one_error_naming_the_record_and_leaves_nothing(full_disk):
    (full_disk / "filler").write_bytes(b"x" * (1024 * 1024))  # as full as it gets
    with pytest.raises(KpbenchError) as err:
        runner.write_record_and_log(full_disk, "record-x", fixture_record(), [])
    assert str(err.value).startswith(f"{full_disk}/record-x.json: cannot write the Record")
    assert "No space left" in str(err.value) and ".tmp" not in str(err.value)
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


def test_a_full_disk_after_the_record_keeps_no_record_without_its_event_log(full_disk):
    (full_disk / "filler").write_bytes(b"x" * (1024 * 1024 - 64 * 1024))
    events = [{"key": "x" * 1000, "metadata": {}} for _ in range(200)]  # 200 kB of MLLOG: too much
    with pytest.raises(KpbenchError, match=r"record-x\.mllog: cannot write the event log .* no Record kept"):
        runner.write_record_and_log(full_disk, "record-x", fixture_record(), [{"repeat": 0, "events": events}])
    assert sorted(p.name for p in full_disk.iterdir()) == ["filler"]


@pytest.mark.parametrize(
    "args, says",
    [
        (["--repeats", "0"], "Invalid value for '--repeats'"),
        (["--epochs", "0"], "Invalid value for '--epochs'"),
        (["--warmup", "-1"], "Invalid value for '--warmup'"),
        (["--rows", "0"], "Invalid value for '--rows'"),
        (["--precision", "fp64"], "Invalid value for '--precision'"),
        (["--device", "tpu"], "Invalid value for '--device'"),
        (["--price-per-hour", "-1"], "Invalid value for '--price-per-hour'"),
        (["--price-per-hour", "nan"], "--price-per-hour"),
        (["--price-per-hour", "inf"], "--price-per-hour inf: give a non-negative, finite number"),
        (["--data", "synthetic:lots"], "expected 'synthetic', 'synthetic:ROWS'"),
        (["--instance-type", "zz9.plural"], "not in the price catalog; pass --price-per-hour"),
    ],
)
def test_bad_bench_input_is_one_line_and_exit_2(tmp_path, args, says):
    code, _, err = run_kpbench("bench", *TINY, "--out", str(tmp_path), *args)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("kpbench: error: ") and says in err
    assert not list(tmp_path.glob("record-*"))


def test_unwritable_out_is_one_line_and_exit_2(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run_kpbench("bench", *TINY, "--out", str(blocker / "records"))
    assert code == 2 and err.count("\n") == 1 and "cannot write the Record there" in err


def test_quiet_is_a_deprecated_alias_of_no_progress(tmp_path, monkeypatch):
    seen = {}

    def stop_here(cfg, out, progress):
        seen.update(progress=progress)
        raise KpbenchError("the test stops bench here")

    monkeypatch.setattr(runner, "run_bench", stop_here)
    r = run_kpbench("bench", "--out", tmp_path, "--quiet")
    assert seen == {"progress": False} and "--quiet is deprecated" in r.err and r.code == 2
