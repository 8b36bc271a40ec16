"""`kpbench estimate`: the --json contract, the study's rows, estimate Records, and bad input as one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_kpbench

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CONTRACT = {"gpu", "instance_type", "precision", "step_s", "step_s_low", "step_s_high", "images_per_s", "bound",
            "train_s", "init_s", "cost_per_run_usd", "basis"}


pytestmark = pytest.mark.usefixtures("fixed_machine")


def estimate_json(*args) -> dict:
    r = run_kpbench("estimate", *args, "--json")
    assert r.code == 0, r.err
    return json.loads(r.out)


def test_study_json_lists_the_original_five_the_replacements_and_this_machine_with_bands():
    d = estimate_json("--study", "--model", "seed", "--epochs", "10")
    assert {"operators", "kernels", "flops_per_step", "bytes_per_step"} <= set(d["trace"])
    names = [e["instance_type"] for e in d["estimates"]]
    assert names == ["g3s.xlarge", "g3.4xlarge", "g4dn.4xlarge", "p2.xlarge", "p3.2xlarge", "g4dn.xlarge", "g5.xlarge",
                     "g6.xlarge", None]
    for e in d["estimates"]:
        assert CONTRACT <= set(e)
        assert e["step_s_low"] < e["step_s"] < e["step_s_high"]
        assert e["train_s_low"] < e["train_s"] < e["train_s_high"]
    gpus = {e["instance_type"]: (e["gpu"], e["precision"]) for e in d["estimates"]}
    assert gpus["p2.xlarge"] == ("K80", "fp32") and gpus["p3.2xlarge"] == ("V100", "fp32")
    assert gpus["g5.xlarge"] == ("A10G", "bf16")


def test_a_study_row_costs_init_plus_training_billed_per_second_with_a_60_s_minimum():
    e = next(x for x in estimate_json("--study", "--model", "seed", "--epochs", "1")["estimates"]
             if x["instance_type"] == "g4dn.xlarge")
    billed = max(60, -(-(e["init_s"] + e["train_s"]) // 1))
    assert e["cost_per_run_usd"] == pytest.approx(billed / 3600 * 0.526)
    assert [p["name"] for p in e["init_parts"]] == ["process start and imports", "CUDA context and first use",
                                                     "instance provisioning"]
    assert e["init_parts"][0]["basis"] == "measured" and e["init_parts"][2]["basis"] == "published"


def test_training_time_is_steps_times_step_plus_evaluation():
    from kpbench.train.config import TrainConfig

    d = estimate_json("--gpu", "V100", "--model", "bncnn", "--epochs", "3", "--rows", "1000")
    w, e = d["workload"], d["estimates"][0]
    assert w["batch_size"] == TrainConfig().batch_size  # the batch kpbench train would use
    assert w["steps"] == 3 * (850 // w["batch_size"]) and w["val_rows"] == 150
    assert e["train_s"] > w["steps"] * e["step_s"]


def test_gpus_alone_get_no_price_and_no_provisioning():
    e = estimate_json("--gpu", "H100", "--model", "convonly", "--epochs", "1")["estimates"][0]
    assert e["cost_per_run_usd"] is None and [p["name"] for p in e["init_parts"]][-1] == "CUDA context and first use"


def test_precision_fp16_on_a_v100_uses_its_tensor_cores_and_bf16_there_falls_back_to_fp32():
    fp16, bf16 = (estimate_json("--gpu", "V100", "--model", "seed", "--precision", p)["estimates"][0]
                  for p in ("fp16", "bf16"))
    assert fp16["precision"] == "fp16" and fp16["step_s"] < bf16["step_s"]
    assert bf16["precision"] == "fp32" and any("no bf16 path" in n for n in bf16["notes"])


def test_a_run_directory_gives_its_own_step_count(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    history = [{"epoch": i, "images": 640, "val_rmse_px": 4.0 - i} for i in (1, 2, 3)]
    metrics = {"config": {"batch_size": 64, "target_rmse_px": 2.5}, "history": history, "data": {"val_rows": 100}}
    (run / "metrics.json").write_text(json.dumps(metrics), encoding="utf-8")
    d = estimate_json("--gpu", "T4", "--model", "seed", "--from", str(run))
    assert d["workload"]["steps"] == 30 and d["workload"]["steps_to_target"] == 20
    assert d["estimates"][0]["time_to_target_s"] < d["estimates"][0]["train_s"]


def test_a_bench_record_gives_its_steps_and_the_measured_row_of_the_study():
    d = estimate_json("--study", "--model", "seed", "--from", str(FIXTURES / "record_cpu.json"))
    measured = d["estimates"][-1]
    assert measured["basis"].startswith("measured") and measured["bound"] == "measured"
    record = json.loads((FIXTURES / "record_cpu.json").read_text(encoding="utf-8"))
    assert measured["train_s"] == pytest.approx(record["figures"]["train_s"]["median"])


def test_out_writes_one_valid_estimate_record_per_estimated_row(tmp_path):
    r = run_kpbench("estimate", "--gpu", "K80,A100", "--model", "convonly", "--epochs", "1", "--out", tmp_path)
    assert r.code == 0, r.err
    from kpbench.estimate.record import load_estimate

    records = [load_estimate(p) for p in sorted(tmp_path.glob("*.json"))]
    assert [rec["machine"]["gpu"] for rec in records] == ["A100", "K80"]
    assert all(rec["kind"] == "estimate" and rec["label"].endswith("(estimate)") for rec in records)


def test_the_terminal_table_marks_estimates_and_shows_bands():
    r = run_kpbench("estimate", "--gpu", "K80", "--model", "convonly", "--epochs", "1")
    assert r.code == 0, r.err
    text = " ".join(r.out.split())
    assert "K80 fp32" in text and "…" in text and "CUDA kernels" in text


@pytest.mark.parametrize("args, message", [
    (["--gpu", "GTX1080"], "unknown GPU 'GTX1080'; known: K80"),
    (["--instances", "x9.huge"], "unknown instance type 'x9.huge'; the catalog (catalog.csv) lists: g3s.xlarge"),
    (["--gpu", "K80", "--study"], "exactly one of --gpu, --instances or --study"),
    (["--gpu", "K80", "--precision", "int8"], "--precision 'int8' is not one of"),
    (["--gpu", "K80", "--input-shape", "1,x,96"], "--input-shape '1,x,96': expected positive whole numbers"),
    (["--gpu", "K80", "--model", "resnet"], "--model 'resnet': not one of kpbench's networks"),
    (["--gpu", "K80", "--epochs", "2", "--from", "run"], "do not combine it with --epochs"),
])
def test_bad_options_are_one_line_and_exit_2(args, message):
    r = run_kpbench("estimate", *args)
    assert r.code == 2 and message in r.error_line and "Traceback" not in r.err


@pytest.mark.parametrize("source, message", [
    ("import nonexistent_module_xyz\n", "net.py: does not import (ModuleNotFoundError: No module named"),
    ("def other():\n    pass\n", "net.py: has no function 'build'"),
    ("def build():\n    return 42\n", "net.py: build() returned a int, not a torch.nn.Module"),
    ("from torch import nn\ndef build():\n    return nn.Linear(5, 2)\n", "net.py: build() fails on input shape 1,96,96"),
])
def test_a_user_model_file_that_fails_is_one_line_naming_the_file(tmp_path, source, message):
    path = tmp_path / "net.py"
    path.write_text(source, encoding="utf-8")
    r = run_kpbench("estimate", "--gpu", "T4", "--model", f"{path}:build", "--input-shape", "1,96,96")
    assert r.code == 2 and message in r.error_line, r.err


def test_a_user_model_file_is_estimated(tmp_path):
    path = tmp_path / "net.py"
    path.write_text("from torch import nn\ndef build():\n    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), "
                    "nn.Linear(8 * 30 * 30, 10))\n", encoding="utf-8")
    d = estimate_json("--gpu", "T4", "--model", f"{path}:build", "--input-shape", "3,32,32", "--epochs", "1")
    assert d["trace"]["model"] == f"{path}:build" and d["estimates"][0]["step_s"] > 0


def test_a_missing_model_file_is_named():
    r = run_kpbench("estimate", "--gpu", "T4", "--model", "nowhere/net.py:build", "--input-shape", "1,96,96")
    assert r.code == 2 and "nowhere/net.py: no such file" in r.error_line


def test_an_instance_without_a_gpu_is_skipped_saying_why(tmp_path):
    from kpbench.cost.catalog import DEFAULT_CATALOG

    catalog = tmp_path / "catalog.csv"
    text = DEFAULT_CATALOG.read_text(encoding="utf-8")
    catalog.write_text(text + "c7i.xlarge,aws,us-east-1,4,8,,0,,,0.1785,,2026-11-24,test,no,,,\n", encoding="utf-8")
    d = estimate_json("--instances", "c7i.xlarge,g4dn.xlarge", "--model", "convonly", "--epochs", "1",
                      "--catalog", str(catalog))
    assert [e["instance_type"] for e in d["estimates"]] == ["g4dn.xlarge"]
    assert d["skipped"][0]["instance_type"] == "c7i.xlarge" and "no GPU" in d["skipped"][0]["reason"]


def test_a_gpu_without_a_calibration_point_says_its_band_is_wider():
    m60, t4 = (estimate_json("--gpu", g, "--model", "seed", "--epochs", "1")["estimates"][0] for g in ("M60", "T4"))
    assert not m60["calibrated"] and any("outside the calibration" in n for n in m60["notes"])
    assert m60["step_s_high"] / m60["step_s_low"] > t4["step_s_high"] / t4["step_s_low"]
