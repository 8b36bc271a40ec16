"""`kpbench dist tta`: the configurations, each run's command line, the summary over repeats, the --json contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_kpbench
from kpbench.scaling import tta
from kpbench.scaling.output import verdicts
from kpbench.scaling.scale import JobFailed
from kpbench.scaling.tta import TtaConfig, Variant
from kpbench.train.supervise import Outcome


def test_one_worker_runs_once_and_each_larger_count_under_each_lr_rule():
    cfg = TtaConfig(data="synthetic", target_rmse_px=2.0, nproc=[1, 2, 4], lr_scalings=["none", "sqrt"])
    assert [(v.name, v.nproc, v.lr_scaling) for v in tta.grid(cfg)] == [
        ("1 worker", 1, None), ("2 workers, lr none", 2, "none"), ("2 workers, lr sqrt", 2, "sqrt"),
        ("4 workers, lr none", 4, "none"), ("4 workers, lr sqrt", 4, "sqrt")]


def test_a_run_is_kpbench_train_to_the_target_within_the_budget_with_the_variants_settings():
    cfg = TtaConfig(data="faces", target_rmse_px=2.0, budget_s=60.0)
    v = Variant("x", 2, {"lr_scaling": "sqrt", "comm_hook": "powersgd:1", "sync_batchnorm": True, "stop_at_target": False})
    argv = tta.train_argv(cfg, v, Path("OUT/runs/x-r1"), seed=3, threads=1)
    assert argv[:2] == ["train", "--data"] and "--target-rmse" in argv and argv[argv.index("--time-budget") + 1] == "60.0"
    assert argv[argv.index("--seed") + 1] == "3" and argv[argv.index("--comm-hook") + 1] == "powersgd:1"
    assert "--sync-batchnorm" in argv and "--train-past-target" in argv and "--force" in argv


def _run(variant: str, n: int, ttt: float | None, rmse: float, repeat: int = 1) -> dict:
    return {"variant": variant, "nproc": n, "repeat": repeat, "seed": repeat, "time_to_target_s": ttt,
            "epochs_to_target": None if ttt is None else 3, "final_val_rmse_px": rmse, "images_per_s": 100.0 * n,
            "train_s": 60.0, "epochs": 10, "sent_bytes_per_step": 0 if n == 1 else 900, "global_batch": 64 * n}


VARIANTS = [Variant("1 worker", 1, {"lr_scaling": "sqrt"}), Variant("2 workers, lr sqrt", 2, {"lr_scaling": "sqrt"})]


def test_time_to_target_is_null_unless_every_repeat_reached_it():
    runs = [_run("1 worker", 1, 30.0, 1.9), _run("1 worker", 1, 34.0, 1.8, 2),
            _run("2 workers, lr sqrt", 2, 20.0, 1.9), _run("2 workers, lr sqrt", 2, None, 2.2, 2)]
    one, two = tta.summarize(VARIANTS, runs)
    assert one["time_to_target_s"] == pytest.approx(32.0) and one["spread"]["time_to_target_s"]["stdev"] > 0
    assert two["time_to_target_s"] is None and two["target_reached"] == 1 and two["repeats"] == 2
    assert two["final_val_rmse_px"] == pytest.approx(2.05) and two["sent_bytes_per_step"] == 900


def test_the_verdict_says_how_many_times_sooner_with_its_spread():
    runs = [_run("1 worker", 1, 30.0, 1.9), _run("1 worker", 1, 30.0, 1.9, 2),
            _run("2 workers, lr sqrt", 2, 20.0, 1.9), _run("2 workers, lr sqrt", 2, 20.0, 1.9, 2)]
    record = {"rows": tta.summarize(VARIANTS, runs), "config": {"target_rmse_px": 2.0}}
    assert verdicts(record) == ["2 workers, lr sqrt reached 2 px 1.50 ± 0.00× sooner than 1 worker"]


@pytest.fixture
def runs_faked(monkeypatch):
    """tta.run_one replaced: 1 worker reaches the target in 30 s, 2 workers in 20 s; a variant named in ``fail`` fails."""
    fail: set[str] = set()

    def run_one(cfg, v, repeat, out, log):
        if v.name in fail:
            raise JobFailed(v.name, Outcome(returncode=1, failed_rank=1, failed_exitcode=-9, log=log))
        return {**_run(v.name, v.nproc, 30.0 if v.nproc == 1 else 20.0, 1.9, repeat + 1), "lr_scaling": v.lr_scaling}

    monkeypatch.setattr(tta, "run_one", run_one)
    monkeypatch.setattr("kpbench.scaling.scale.usable_cores", lambda: 2)
    return fail


def test_json_prints_exactly_the_rows_contract_and_the_record_validates(runs_faked, tmp_path):
    r = run_kpbench("dist", "tta", "--nproc", "1,2", "--target-rmse", "2", "--lr-scaling", "none,sqrt", "--repeats", "2",
                    "--out", tmp_path, "--json")
    assert r.code == 0, r.err
    rows = json.loads(r.out)["rows"]
    assert [list(row) for row in rows] == [list(tta.JSON_KEYS)] * 3
    assert [(row["nproc"], row["lr_scaling"], row["time_to_target_s"]) for row in rows] == [
        (1, None, 30.0), (2, "none", 20.0), (2, "sqrt", 20.0)]
    record = json.loads((tmp_path / "dist-tta.json").read_text())
    assert record["kind"] == "dist-tta" and record["complete"] and len(record["runs"]) == 6
    assert "1.50 ± 0.00× sooner than 1 worker" in r.err  # the table and the verdicts go to stderr with --json


def test_a_failed_run_is_a_row_and_one_line_and_the_others_go_on(runs_faked, tmp_path):
    runs_faked.add("2 workers, lr sqrt")
    r = run_kpbench("dist", "tta", "--nproc", "1,2", "--target-rmse", "2", "--out", tmp_path)
    assert r.code == 0
    failed = [ln for ln in r.out.splitlines() if ln.startswith("kpbench: ")]
    assert failed == [f"kpbench: 2 workers, lr sqrt, run 1 failed: rank 1: killed by SIGKILL; log: {tmp_path / 'dist-tta.log'}"]
    record = json.loads((tmp_path / "dist-tta.json").read_text())
    assert [row["failed"] for row in record["rows"]] == [0, 1]


def test_no_run_measured_is_exit_3(runs_faked, tmp_path):
    runs_faked.update({"1 worker", "2 workers, lr sqrt"})
    r = run_kpbench("dist", "tta", "--nproc", "1,2", "--target-rmse", "2", "--out", tmp_path)
    assert r.code == 3 and "no run could be measured" in r.error_line


@pytest.mark.parametrize("args, says", [
    (["--target-rmse", "nan"], "--target-rmse nan: give a positive, finite number"),
    (["--target-rmse", "2", "--budget", "inf"], "--budget inf: give a positive, finite number"),
    (["--target-rmse", "2", "--lr-scaling", "cubic"], "--lr-scaling 'cubic'"),
    (["--target-rmse", "2", "--link-limit", "99999999999999gbit"], "tc shapes rates from 8bit"),
    (["--target-rmse", "2", "--nproc", "1,64"], "exceeds the"),
])
def test_bad_options_are_one_line_and_nothing_runs(runs_faked, tmp_path, args, says):
    r = run_kpbench("dist", "tta", "--out", tmp_path / "o", *args)
    assert r.code == 2 and says in r.error_line and r.err.count("\n") == 1
    assert not (tmp_path / "o").exists()


def test_an_earlier_study_in_out_is_not_replaced_without_force(runs_faked, tmp_path):
    (tmp_path / "dist-tta.json").write_text("{}")
    r = run_kpbench("dist", "tta", "--nproc", "1", "--target-rmse", "2", "--out", tmp_path)
    assert r.code == 2 and "pass --force" in r.error_line
