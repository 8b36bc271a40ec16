"""`kpbench bench` end to end: fresh worker processes, the Record, the MLLOG, failures,
bad input, signals, concurrent and full-disk writes. Tiny config (synthetic faces, few rows)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jsonschema
import pytest

from kpbench.bench import mllog, phases, record, runner
from kpbench.bench.record import SCHEMA_FILE, load_record
from kpbench.bench.runner import BenchConfig, run_bench
from kpbench.cli import main as cli_main
from kpbench.errors import Interrupted, KpbenchError, RunFailed

TINY = ["--data", "synthetic", "--model", "seed", "--rows", "48", "--batch-size", "16", "--precision", "fp32",
        "--no-progress"]
FIXTURE = Path(__file__).parents[1] / "fixtures" / "record_cpu.json"


@pytest.fixture(autouse=True)
def no_metadata_traffic(monkeypatch):
    # Never ask 169.254.169.254 from a test; the worker inherits this too.
    monkeypatch.setenv("KPBENCH_IMDS_URL", "off")


def tiny_config(**kw) -> BenchConfig:
    base = dict(data="synthetic", model="seed", rows=48, batch_size=16, epochs=1, repeats=2, precision="fp32")
    return BenchConfig(**{**base, **kw})


def run_cli(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_:
        cli_main(argv)
    out, err = capsys.readouterr()
    return exit_.value.code, out, err


def gone(pid: int, within_s: float = 10.0) -> bool:
    deadline = time.time() + within_s
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        try:  # a zombie child of ours counts as gone
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return True
        except ChildProcessError:
            pass
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_bench_writes_a_valid_record_whose_times_fit_in_the_wall_clock(tmp_path):
    from kpbench.data import load_faces

    out = tmp_path / "records"
    cmd = [sys.executable, "-m", "kpbench", "bench", *TINY, "--data", "synthetic:64", "--epochs", "2",
           "--repeats", "3", "--out", str(out),
           "--export-csv", str(tmp_path / "f.csv"), "--export-markdown", str(tmp_path / "f.md")]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "KPBENCH_IMDS_URL": "off"})
    wall_s = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr
    [path] = out.glob("record-*.json")
    record = load_record(path)
    jsonschema.validate(record, json.loads(SCHEMA_FILE.read_text()))
    assert record["repeats"] == {"requested": 3, "completed": 3, "warmup": 0, "failed": []}
    assert record["config"]["rows"] == 48 and record["config"]["epochs"] == 2
    assert record["config"]["data"] == "synthetic:64"
    assert record["config"]["data_sha256"] == load_faces("synthetic:64").sha256
    assert record["data_load"] == "synthetic"
    assert sum(run["wall_s"] for run in record["runs"]) <= wall_s
    for run in record["runs"]:
        before_training_s = sum(run["phases"][k] for k in phases.INIT_PHASES)
        assert 0 < before_training_s + run["figures"]["train_s"] <= run["wall_s"]
        assert run["phases"]["warmup_s"] <= run["figures"]["train_s"]
        assert run["figures"]["eval_s"] <= run["figures"]["train_s"]
    for fig in record["figures"].values():
        assert len(fig["values"]) == 3 and fig["min"] <= fig["median"] <= fig["max"]
    events = mllog.read_mllog(path.with_suffix(".mllog"))
    keys = [e["key"] for e in events if e["metadata"]["repeat"] == 0]
    for key in ("init_start", "init_stop", "run_start", "epoch_start", "epoch_stop", "eval_accuracy", "run_stop"):
        assert key in keys
    assert keys.index("init_start") < keys.index("init_stop") < keys.index("run_start") < keys.index("run_stop")
    assert (tmp_path / "f.csv").read_text().startswith("group,name,unit")
    assert "Time (mean ± σ)" in proc.stdout and "Range (min … max)" in proc.stdout


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


@pytest.mark.slow
def test_a_crashing_repeat_is_recorded_as_failed_not_dropped(tmp_path, monkeypatch):
    real = runner.worker_command

    def crash_second_repeat(job_path, result_path, spawn_s):
        if job_path.name == "job-1.json":
            return [sys.executable, "-c", "import sys; sys.exit('boom: simulated crash')"]
        return real(job_path, result_path, spawn_s)

    monkeypatch.setattr(runner, "worker_command", crash_second_repeat)
    record, path = run_bench(tiny_config(), tmp_path, progress=False)
    assert record["repeats"]["completed"] == 1
    [failed] = record["repeats"]["failed"]
    assert failed["repeat"] == 1 and "boom: simulated crash" in failed["error"]
    assert [run["ok"] for run in record["runs"]] == [True, False]
    assert record["figures"]["train_s"]["values"] == [record["runs"][0]["figures"]["train_s"]]
    jsonschema.validate(load_record(path), json.loads(SCHEMA_FILE.read_text()))


def test_every_repeat_failing_is_a_run_failure_exit_3_and_no_record(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(runner, "worker_command", lambda *a: [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RunFailed, match="all 2 repeats failed"):
        run_bench(tiny_config(), tmp_path, progress=False)
    code, _, err = run_cli(["bench", *TINY, "--repeats", "2", "--out", str(tmp_path)], capsys)
    assert code == 3 and err.startswith("kpbench: error: all 2 repeats failed") and err.count("\n") == 1
    assert not list(tmp_path.glob("record-*"))


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_worker_removes_the_temporary_files_and_leaves_no_record(tmp_path, monkeypatch, signum):
    # stop_on_signals installs its own handlers, so this holds in a background shell too,
    # where SIGINT is ignored and Python would install no KeyboardInterrupt handler.
    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    pid_file = tmp_path / "worker.pid"
    sleeper = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    monkeypatch.setattr(runner, "worker_command", lambda *a: [sys.executable, "-c", sleeper])

    def signal_when_worker_runs():
        deadline = time.time() + 20
        while not pid_file.exists() and time.time() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signum)

    threading.Thread(target=signal_when_worker_runs, daemon=True).start()
    with pytest.raises(Interrupted) as stopped:
        run_bench(tiny_config(), tmp_path / "out", progress=False)
    assert stopped.value.exit_code == 128 + signum and signal.Signals(signum).name in str(stopped.value)
    assert gone(int(pid_file.read_text()))
    assert not list((tmp_path / "out").glob("record-*")) and not list(temp.iterdir())


def start_bench(tmp_path: Path) -> tuple[subprocess.Popen, int, Path]:
    """A real `kpbench bench` (a long time budget) in a subprocess; returns it, its worker's pid and TMPDIR."""
    psutil = pytest.importorskip("psutil")
    temp = tmp_path / "tmp"
    temp.mkdir()
    cmd = [sys.executable, "-m", "kpbench", "bench", *TINY, "--time-budget", "120", "--repeats", "1",
           "--out", str(tmp_path / "out")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "KPBENCH_IMDS_URL": "off", "TMPDIR": str(temp)})
    deadline = time.time() + 60
    while time.time() < deadline:
        workers = [c for c in psutil.Process(proc.pid).children() if "kpbench.bench.worker" in " ".join(c.cmdline())]
        if workers and list(temp.glob("kpbench-bench-*/job-0.json")):
            time.sleep(1.0)  # let it get into its imports
            return proc, workers[0].pid, temp
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the bench worker never started")


@pytest.mark.slow
def test_sigterm_to_bench_stops_its_worker_and_exits_143_with_one_line(tmp_path):
    proc, worker, temp = start_bench(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert err.strip().splitlines() == [err.strip()] and "stopped by SIGTERM" in err
    assert gone(worker) and not list(temp.iterdir())
    assert not list((tmp_path / "out").glob("record-*"))


@pytest.mark.slow
def test_sigkill_to_bench_takes_its_worker_and_temporary_files_with_it(tmp_path):
    proc, worker, temp = start_bench(tmp_path)
    proc.kill()
    proc.wait()
    assert gone(worker, within_s=15)
    deadline = time.time() + 5
    while list(temp.iterdir()) and time.time() < deadline:
        time.sleep(0.05)
    assert not list(temp.iterdir())


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
        (["--price-per-hour", "inf"], "--price-per-hour must be a non-negative number, got inf"),
        (["--data", "synthetic:lots"], "expected 'synthetic', 'synthetic:ROWS'"),
        (["--instance-type", "zz9.plural"], "not in the price catalog; pass --price-per-hour"),
    ],
)
def test_bad_bench_input_is_one_line_and_exit_2(tmp_path, capsys, args, says):
    code, _, err = run_cli(["bench", *TINY, "--out", str(tmp_path), *args], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("kpbench: error: ") and says in err
    assert not list(tmp_path.glob("record-*"))


def test_unwritable_out_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run_cli(["bench", *TINY, "--out", str(blocker / "records")], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot write the Record there" in err


def test_quiet_is_a_deprecated_alias_of_no_progress(tmp_path, capsys, monkeypatch):
    seen = {}
    monkeypatch.setattr(runner, "run_bench", lambda cfg, out, progress: seen.update(progress=progress) or 1 / 0)
    with pytest.raises(ZeroDivisionError):
        cli_main(["bench", "--out", str(tmp_path), "--quiet"])
    assert seen == {"progress": False} and "--quiet is deprecated" in capsys.readouterr().err
