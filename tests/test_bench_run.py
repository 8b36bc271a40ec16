"""`kpbench bench` end to end: fresh worker processes, the Record, the MLLOG, failures,
bad input and Ctrl-C. Tiny config (synthetic faces, few rows) so it stays quick."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import jsonschema
import pytest

from kpbench.bench import mllog, runner
from kpbench.bench.record import SCHEMA_FILE, load_record
from kpbench.bench.runner import BenchConfig, run_bench  # noqa: F401
from kpbench.cli import main as cli_main

TINY = ["--data", "synthetic", "--model", "seed", "--rows", "48", "--batch-size", "16", "--precision", "fp32", "--quiet"]


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


def test_bench_writes_a_valid_record_whose_times_fit_in_the_wall_clock(tmp_path):
    out = tmp_path / "records"
    cmd = [sys.executable, "-m", "kpbench", "bench", *TINY, "--epochs", "2", "--repeats", "3", "--out", str(out),
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
    assert record["data_load"] == "synthetic"
    assert sum(run["wall_s"] for run in record["runs"]) <= wall_s
    for run in record["runs"]:
        before_training_s = sum(v for k, v in run["phases"].items() if k != "warmup_s")
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


def test_every_repeat_failing_is_a_one_line_error_and_no_record(tmp_path, monkeypatch):
    monkeypatch.setattr(runner, "worker_command", lambda *a: [sys.executable, "-c", "raise SystemExit(3)"])
    with pytest.raises(runner.KpbenchError, match="all 2 repeats failed"):
        run_bench(tiny_config(), tmp_path, progress=False)
    assert not list(tmp_path.glob("record-*"))


def test_ctrl_c_stops_the_worker_and_leaves_no_record(tmp_path, monkeypatch):
    pid_file = tmp_path / "worker.pid"
    sleeper = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(30)"
    monkeypatch.setattr(runner, "worker_command", lambda *a: [sys.executable, "-c", sleeper])

    def interrupt_when_worker_runs():
        deadline = time.time() + 20
        while not pid_file.exists() and time.time() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # what Ctrl-C sends; it interrupts the wait

    threading.Thread(target=interrupt_when_worker_runs, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        run_bench(tiny_config(), tmp_path / "out", progress=False)
    pid = int(pid_file.read_text())
    time.sleep(0.1)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert not list((tmp_path / "out").glob("record-*"))


@pytest.mark.parametrize(
    "args, says",
    [
        (["--repeats", "0"], "--repeats must be at least 1"),
        (["--epochs", "0"], "--epochs must be at least 1"),
        (["--warmup", "-1"], "--warmup must be 0 or more"),
        (["--instance-type", "zz9.plural"], "not in the price catalog; pass --price-per-hour"),
    ],
)
def test_bad_bench_input_is_one_line_and_exit_2(tmp_path, capsys, args, says):
    code, _, err = run_cli(["bench", *TINY, "--out", str(tmp_path), *args], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("kpbench: error: ") and says in err


def test_unwritable_out_is_one_line_and_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run_cli(["bench", *TINY, "--out", str(blocker / "records")], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot write the Record there" in err
