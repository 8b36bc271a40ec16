"""`kpbench bench` with its fresh worker processes: the Record and the MLLOG they make, a repeat that
crashes or all that fail, and signals to bench or its worker. Tiny config (synthetic faces, few rows).
(Bad input and writing the Record, in process: tests/unit/test_bench_cli.py.)"""

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

from helpers import run_kpbench, start_kpbench
from kpbench.bench import mllog, runner
from kpbench.bench.record import SCHEMA_FILE, load_record
from kpbench.bench.runner import BenchConfig, run_bench
from kpbench.errors import Interrupted, RunFailed

TINY = ["--data", "synthetic:64", "--model", "seed", "--rows", "48", "--batch-size", "16", "--precision", "fp32",
        "--no-progress"]


def tiny_config(**kw) -> BenchConfig:
    # synthetic:64, not the default 2000 faces: each worker generates its data (seconds for 2000)
    base = dict(data="synthetic:64", model="seed", rows=48, batch_size=16, epochs=1, repeats=2, precision="fp32")
    return BenchConfig(**{**base, **kw})


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


def test_bench_writes_a_valid_record_whose_times_fit_in_the_wall_clock(tmp_path):
    from kpbench.data import load_faces

    out = tmp_path / "records"
    start = time.perf_counter()
    code, stdout, err = run_kpbench("bench", *TINY, "--epochs", "2", "--repeats", "2",
                                    "--out", out, "--export-csv", tmp_path / "f.csv", "--export-markdown", tmp_path / "f.md")
    wall_s = time.perf_counter() - start
    assert code == 0, err
    [path] = out.glob("record-*.json")
    record = load_record(path)
    jsonschema.validate(record, json.loads(SCHEMA_FILE.read_text()))
    assert record["repeats"] == {"requested": 2, "completed": 2, "warmup": 0, "failed": []}
    assert record["config"]["rows"] == 48 and record["config"]["epochs"] == 2
    assert record["config"]["data"] == "synthetic:64"
    assert record["config"]["data_sha256"] == load_faces("synthetic:64").sha256
    assert record["data_load"] == "synthetic"
    assert sum(run["wall_s"] for run in record["runs"]) <= wall_s
    for run in record["runs"]:
        before_training_s = sum(v for k, v in run["phases"].items() if k != "warmup_s")
        assert 0 < before_training_s + run["figures"]["train_s"] <= run["wall_s"]
        assert run["phases"]["warmup_s"] <= run["figures"]["train_s"]
        assert run["figures"]["eval_s"] <= run["figures"]["train_s"]
    for fig in record["figures"].values():
        assert len(fig["values"]) == 2 and fig["min"] <= fig["median"] <= fig["max"]
    events = mllog.read_mllog(path.with_suffix(".mllog"))
    keys = [e["key"] for e in events if e["metadata"]["repeat"] == 0]
    for key in ("init_start", "init_stop", "run_start", "epoch_start", "epoch_stop", "eval_accuracy", "run_stop"):
        assert key in keys
    assert keys.index("init_start") < keys.index("init_stop") < keys.index("run_start") < keys.index("run_stop")
    assert (tmp_path / "f.csv").read_text().startswith("group,name,unit")
    assert "Time (mean ± σ)" in stdout and "Range (min … max)" in stdout


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


def test_every_repeat_failing_is_a_run_failure_exit_3_and_no_record(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "worker_command", lambda *a: [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(RunFailed, match="all 2 repeats failed"):
        run_bench(tiny_config(), tmp_path, progress=False)
    code, _, err = run_kpbench("bench", *TINY, "--repeats", "2", "--out", str(tmp_path))
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
    proc = start_kpbench("bench", *TINY, "--time-budget", "120", "--repeats", "1", "--out", tmp_path / "out",
                         stdout=subprocess.PIPE, env={"TMPDIR": str(temp)})
    deadline = time.time() + 60
    while time.time() < deadline:
        workers = [c for c in psutil.Process(proc.pid).children() if "kpbench.bench.worker" in " ".join(c.cmdline())]
        if workers and list(temp.glob("kpbench-bench-*/job-0.json")):
            time.sleep(1.0)  # let it get into its imports
            return proc, workers[0].pid, temp
        time.sleep(0.1)
    proc.kill()
    pytest.fail("the bench worker never started")


def test_sigterm_to_bench_stops_its_worker_and_exits_143_with_one_line(tmp_path):
    proc, worker, temp = start_bench(tmp_path)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143
    assert err.strip().splitlines() == [err.strip()] and "stopped by SIGTERM" in err
    assert gone(worker) and not list(temp.iterdir())
    assert not list((tmp_path / "out").glob("record-*"))


def test_sigkill_to_bench_takes_its_worker_and_temporary_files_with_it(tmp_path):
    proc, worker, temp = start_bench(tmp_path)
    proc.kill()
    proc.wait()
    assert gone(worker, within_s=15)
    deadline = time.time() + 5
    while list(temp.iterdir()) and time.time() < deadline:
        time.sleep(0.05)
    assert not list(temp.iterdir())


