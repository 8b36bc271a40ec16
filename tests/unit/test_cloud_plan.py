"""`kpbench cloud plan`: one SkyPilot task per instance type, priced and budgeted, written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes import fake_wheel
from helpers import run_kpbench
from kpbench.cloud import PlanConfig, Workload, make_plan, write_plan
from kpbench.cloud.tasks import build_task, to_yaml
from kpbench.cost import load_catalog
from kpbench.errors import KpbenchError

RECORDS = Path(__file__).parents[1] / "fixtures" / "records"


def plan_cli(tmp_path, *args):
    out = tmp_path / "plan"
    code, stdout, err = run_kpbench("cloud", "plan", "--out", str(out), "--wheel", str(fake_wheel(tmp_path)), *args)
    return code, stdout, err, out


def test_plan_writes_one_task_per_instance_with_aws_resources_and_the_bench_command(tmp_path):
    code, out, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge,g5.xlarge",
                                    "--repeats", "2", "--model", "seed", "--epochs", "3")
    assert code == 0, err
    assert sorted(p.name for p in plan.glob("*.yaml")) == ["g4dn.xlarge.yaml", "g5.xlarge.yaml"]
    meta = json.loads((plan / "plan.json").read_text())
    assert [e["instance_type"] for e in meta["entries"]] == ["g4dn.xlarge", "g5.xlarge"]
    text = (plan / "g5.xlarge.yaml").read_text()
    assert 'cloud: "aws"' in text and 'instance_type: "g5.xlarge"' in text and "use_spot" not in text
    assert "kpbench bench --data synthetic --repeats 2 --instance-type g5.xlarge" in text
    assert "--model seed --epochs 3" in text
    assert "KPBENCH-JOB-START" in text and "python -m kpbench.cloud.transfer emit" in text
    assert "download.pytorch.org/whl/cu128" in text and (plan / "dist" / "kpbench-0.1.0-py3-none-any.whl").is_file()
    assert "g5.xlarge" in out and "1.006" in out


def test_written_yaml_reads_back_as_the_task_dict():
    yaml = pytest.importorskip("yaml")
    cat = load_catalog()
    for itype, nodes in (("g4dn.xlarge", 1), ("g5.12xlarge", 3)):
        task = build_task(cat.get(itype), Workload(nodes=nodes, data="~/kpbench-data/my-faces.zip"),
                          wheel_name="kpbench-0.1.0-py3-none-any.whl",
                          mounts={"~/kpbench-dist/kpbench-0.1.0-py3-none-any.whl": "/tmp/x.whl"},
                          use_spot=True, price_per_hour=0.5)
        assert yaml.safe_load(to_yaml(task)) == task
    odd = {"a": {"indented": " x\n y\n", "no newline at end": "p: q\n\nr", "empty": {}}, "k": True, "n": 3}
    assert yaml.safe_load(to_yaml(odd)) == odd


def test_a_retired_instance_is_warned_with_its_replacement_and_skipped(tmp_path):
    code, out, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge,g5.xlarge,p3.2xlarge")
    assert code == 0, err
    warning = [line for line in err.splitlines() if "p3.2xlarge" in line]
    assert len(warning) == 1 and warning[0].startswith("kpbench: warning: p3.2xlarge was retired by AWS in 2025-12")
    assert "g5.2xlarge" in warning[0] and "--replace-retired" in warning[0]
    assert not (plan / "p3.2xlarge.yaml").exists()


def test_replace_retired_plans_the_nearest_replacement_instead(tmp_path):
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g3s.xlarge,p2.xlarge,p3.2xlarge",
                                  "--replace-retired")
    assert code == 0, err
    # g3s and p2 share g4dn.xlarge as replacement: planned once.
    assert sorted(p.name for p in plan.glob("*.yaml")) == ["g4dn.xlarge.yaml", "g5.2xlarge.yaml"]


def test_every_retired_catalog_type_names_a_launchable_replacement():
    cat = load_catalog()
    for inst in cat:
        if inst.retired:
            assert inst.retired_date and inst.replacement, inst.instance_type
            assert not cat.get(inst.replacement).retired


def test_an_unknown_instance_type_is_one_line_exit_2_and_nothing_written(tmp_path):
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge,g5.xlarg")
    assert code == 2
    assert err.count("\n") == 1 and "unknown instance type 'g5.xlarg'" in err and "g5.xlarge" in err
    assert not plan.exists() and [p.name for p in tmp_path.iterdir()] == ["wheels"]


def test_a_plan_above_max_cost_is_refused_and_nothing_written(tmp_path):
    # Upper bound: 30 min of g5.xlarge at $1.006/h = $0.503, of g4dn.xlarge $0.263.
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge,g5.xlarge", "--max-cost", "0.5")
    assert code == 2 and "above --max-cost $0.50" in err and "$0.77" in err
    assert not plan.exists() and [p.name for p in tmp_path.iterdir()] == ["wheels"]
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge,g5.xlarge", "--max-cost", "0.8")
    assert code == 0, err


def test_a_record_of_the_same_workload_gives_a_closer_estimate(tmp_path):
    rec = json.loads((RECORDS / "g4dn_xlarge.json").read_text())
    per_run = rec["figures"]["init_s"]["median"] + rec["figures"]["train_s"]["median"]
    cfg = PlanConfig(["g4dn.xlarge", "g5.xlarge"], Workload(repeats=2, model=rec["config"]["model"]),
                     records=[RECORDS / "g4dn_xlarge.json"])
    plan = make_plan(cfg)
    g4dn, g5 = plan.entries
    assert g4dn.estimate.seconds == pytest.approx(2 * per_run)
    assert g4dn.estimate.basis.startswith("Record") and "provisioning not included" in g4dn.estimate.basis
    assert g5.estimate.basis.startswith("bound: --max-minutes")


def test_a_record_of_another_workload_is_not_used_and_says_why(tmp_path):
    cfg = PlanConfig(["g4dn.xlarge"], Workload(model="bncnn"), records=[RECORDS / "g4dn_xlarge.json"])
    plan = make_plan(cfg)
    assert plan.entries[0].estimate.basis.startswith("bound")
    assert any("another workload" in w and "model 'seed', plan 'bncnn'" in w for w in plan.warnings)


def test_nodes_wire_torchrun_from_skypilot_variables(tmp_path):
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g5.12xlarge", "--nodes", "2")
    assert code == 0, err
    text = (plan / "g5.12xlarge.yaml").read_text()
    assert "num_nodes: 2" in text
    for piece in ('HEAD_IP=$(echo "$SKYPILOT_NODE_IPS" | head -n1)', "SKYPILOT_NUM_GPUS_PER_NODE",
                  'kpbench dist scale', '--nnodes "$SKYPILOT_NUM_NODES"', '--node-rank "$SKYPILOT_NODE_RANK"',
                  '--rdzv-endpoint "$HEAD_IP:29500"', 'if [ "$SKYPILOT_NODE_RANK" = 0 ]'):
        assert piece in text, piece


def test_spot_sets_use_spot_and_prices_from_the_catalog(tmp_path):
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge", "--spot")
    assert code == 0, err
    text = (plan / "g4dn.xlarge.yaml").read_text()
    assert "use_spot: true" in text and "--price-per-hour 0.526" in text
    assert "no spot price" in json.loads((plan / "plan.json").read_text())["entries"][0]["price_note"]


def test_local_data_is_mounted_on_each_cluster(tmp_path, synthetic_dir):
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge", "--data", str(synthetic_dir))
    assert code == 0, err
    text = (plan / "g4dn.xlarge.yaml").read_text()
    # Each Kaggle file on its own (only they are uploaded), into ~/kpbench-data, which bench reads as a directory.
    assert f'"~/kpbench-data/training.csv": "{synthetic_dir}/training.csv"' in text and "--data ~/kpbench-data " in text


def test_missing_data_or_wheel_and_a_used_out_dir_are_one_line_errors(tmp_path):
    code, _, err, plan = plan_cli(tmp_path, "--instances", "g4dn.xlarge", "--data", str(tmp_path / "nope"))
    assert code == 2 and "no such file or directory" in err and not plan.exists()
    code, _, err = run_kpbench("cloud", "plan", "--instances", "g4dn.xlarge", "--out", str(tmp_path / "p"),
                               "--wheel", str(tmp_path / "x.whl"))
    assert code == 2 and "no such wheel" in err and not (tmp_path / "p").exists()
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    code, _, err = run_kpbench("cloud", "plan", "--instances", "g4dn.xlarge", "--out", str(used),
                               "--wheel", str(fake_wheel(tmp_path)))
    assert code == 2 and "not empty" in err and [p.name for p in used.iterdir()] == ["keep.txt"]


def test_a_failure_while_writing_leaves_no_plan_directory(tmp_path, monkeypatch):
    import kpbench.cloud.plan as plan_mod

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    plan = make_plan(PlanConfig(["g4dn.xlarge", "g5.xlarge"]))
    monkeypatch.setattr(plan_mod, "_plan_json", boom)
    with pytest.raises(OSError):
        write_plan(plan, tmp_path / "plan", wheel=fake_wheel(tmp_path), data="synthetic")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["wheels"]


def test_empty_instances_bad_numbers_and_unknown_models_are_refused_before_any_cluster():
    with pytest.raises(KpbenchError, match="--instances is empty"):
        make_plan(PlanConfig([" ", ""]))
    with pytest.raises(KpbenchError, match="at least 1"):
        make_plan(PlanConfig(["g4dn.xlarge"], Workload(repeats=0)))
    with pytest.raises(KpbenchError, match="unknown model 'sed'"):
        make_plan(PlanConfig(["g4dn.xlarge"], Workload(model="sed")))


def test_an_own_catalog_cpu_instance_gets_the_cpu_torch_and_its_price_passed_along(tmp_path):
    shipped = (Path(__file__).parents[2] / "src/kpbench/cost/catalog.csv").read_text().splitlines()
    header = next(line for line in shipped if line.startswith("instance_type,"))
    own = tmp_path / "mine.csv"
    own.write_text(header + "\nc7i.2xlarge,aws,us-east-1,8,16,,0,,,0.357,,2026-12-01,my quote,no,,,\n")
    code, _, err, plan = plan_cli(tmp_path, "--instances", "c7i.2xlarge", "--catalog", str(own))
    assert code == 0, err
    text = (plan / "c7i.2xlarge.yaml").read_text()
    assert "download.pytorch.org/whl/cpu" in text and "--price-per-hour 0.357" in text
