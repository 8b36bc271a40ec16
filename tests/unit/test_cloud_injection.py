"""No value a user gives `kpbench cloud plan` can add a command to a task, upload more than a data set,
or write outside the plan directory through an instance type.

Every value that reaches a task's `setup`, `run` or `file_mounts` is quoted for the remote shell or
refused by a strict pattern; the scripts are read as sh reads them (cloud_helpers.shell_structure) and
must do what the scripts of plain values do. `--data` uploads the Kaggle files and nothing else.
"""

from __future__ import annotations

import csv
import json
import shlex
from pathlib import Path

import pytest

from fakes import fake_wheel  # noqa: E402
from helpers import run_kpbench, shell_structure  # noqa: E402
from kpbench.cloud import PlanConfig, Workload, launch_plan, make_plan, write_plan  # noqa: E402
from kpbench.cloud.tasks import build_task  # noqa: E402
from kpbench.cost import load_catalog  # noqa: E402
from kpbench.cost.catalog import DEFAULT_CATALOG  # noqa: E402
from kpbench.errors import KpbenchError  # noqa: E402

WHEEL = "kpbench-0.1.0-py3-none-any.whl"


def plan(tmp_path: Path, *args: str, wheel: Path | None = None) -> tuple[int, str, Path]:
    out = tmp_path / "plan"
    code, _, err = run_kpbench(*["cloud", "plan", "--out", str(out), "--wheel", str(wheel or fake_wheel(tmp_path)),
                            *args])
    return code, err, out


def task_of(plan_dir: Path, instance_type: str = "g4dn.xlarge") -> dict:
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((plan_dir / f"{instance_type}.yaml").read_text())


def refused(code: int, err: str, out: Path) -> bool:
    return code == 2 and err.startswith("kpbench: error: ") and err.count("\n") == 1 and not out.exists()


def plain_task(**workload) -> dict:
    inst = load_catalog().get("g4dn.xlarge")
    return build_task(inst, Workload(**workload), wheel_name=WHEEL,
                      mounts={f"~/kpbench-dist/{WHEEL}": f"/tmp/plan/dist/{WHEEL}"}, use_spot=False, price_per_hour=None)


def test_a_wheel_name_with_shell_syntax_is_refused_before_anything_is_written(tmp_path):
    wheel = tmp_path / "w" / "kpbench-0.1.0;touch PWNED;.whl"
    wheel.parent.mkdir()
    wheel.write_bytes(b"x")
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", wheel=wheel)
    assert refused(code, err, out) and "wheel" in err


@pytest.mark.parametrize("data", ["synthetic:$VAR", "synthetic:`id`", "synthetic:1;id", "synthetic:x", "synthetic:"])
def test_a_synthetic_spec_that_is_not_rows_and_seed_is_refused(tmp_path, data):
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--data", data)
    assert refused(code, err, out) and "synthetic" in err


def test_synthetic_rows_and_seed_reach_the_bench_as_one_word(tmp_path):
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--data", "synthetic:500:7")
    assert code == 0, err
    assert "kpbench bench --data synthetic:500:7 --repeats" in task_of(out)["run"]


@pytest.mark.parametrize("where", ["/", "/etc", "/etc/passwd", "~", "home-with-a-training-csv-elsewhere"])
def test_data_that_is_not_a_data_set_is_refused(tmp_path, monkeypatch, where):
    home = tmp_path / "home"
    (home / ".aws").mkdir(parents=True)
    (home / ".aws" / "credentials").write_text("[default]\naws_secret_access_key = x\n")
    (home / "deep" / "er").mkdir(parents=True)
    (home / "deep" / "er" / "training.csv").write_text("not here\n")
    monkeypatch.setenv("HOME", str(home))
    data = str(home) if where == "home-with-a-training-csv-elsewhere" else where
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--data", data)
    assert refused(code, err, out) and "--data" in err


def test_a_data_directory_uploads_its_kaggle_files_and_nothing_else(tmp_path, synthetic_dir):
    (synthetic_dir / "notes.txt").write_text("private\n")
    (synthetic_dir / ".ssh").mkdir()
    (synthetic_dir / ".ssh" / "id_rsa").write_text("KEY\n")
    (synthetic_dir / "sub").mkdir()
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--data", str(synthetic_dir))
    assert code == 0, err
    task = task_of(out)
    local = {Path(v).name for k, v in task["file_mounts"].items() if k.startswith("~/kpbench-data")}
    assert local == {"training.csv", "test.csv", "IdLookupTable.csv", "SampleSubmission.csv"}
    assert all(Path(v).parent == synthetic_dir for k, v in task["file_mounts"].items() if k.startswith("~/kpbench-data"))
    assert "--data ~/kpbench-data " in task["run"]


def test_a_single_kaggle_csv_is_uploaded_alone(tmp_path, synthetic_dir):
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--data", str(synthetic_dir / "training.csv"))
    assert code == 0, err
    mounts = task_of(out)["file_mounts"]
    assert mounts["~/kpbench-data/training.csv"] == str(synthetic_dir / "training.csv")
    assert "--data ~/kpbench-data/training.csv " in task_of(out)["run"]


def test_a_csv_that_is_not_a_faces_table_is_refused(tmp_path):
    other = tmp_path / "training.csv"
    other.write_text("user,password\nroot,hunter2\n")
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--data", str(other))
    assert refused(code, err, out) and "Kaggle" in err


@pytest.mark.parametrize("name", ["it's $(touch PWNED)", 'a"b`id`', "new\nline"])
def test_a_data_path_the_shell_would_read_is_refused(tmp_path, synthetic_dir, name):
    odd = synthetic_dir.rename(tmp_path / name)
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--data", str(odd))
    assert refused(code, err, out)


@pytest.mark.parametrize("field,value", [("model", "seed; touch PWNED"), ("data", "~/kpbench-data/x;id"),
                                         ("data", "$(id)"), ("epochs", "3; id")])
def test_build_task_refuses_a_value_that_is_not_its_kind(field, value):
    with pytest.raises(KpbenchError):
        plain_task(**{field: value})


def test_scripts_of_plain_values_have_only_kpbenchs_own_expansions():
    for nodes in (1, 2):
        task = plain_task(nodes=nodes, model="seed", epochs=2)
        for script in (task["setup"], task["run"]):
            expansions = {text for kind, text in shell_structure(script) if kind == "expansion"}
            assert expansions <= {"$(date +%s.%N)", "$HOME", "$PATH", "$SKYPILOT_NODE_IPS", "$(echo \"$SKYPILOT_NODE_IPS\" | head -n1)",
                                  "$(( ${SKYPILOT_NUM_GPUS_PER_NODE:-0} > 0 ? SKYPILOT_NUM_GPUS_PER_NODE : 1 ))",
                                  "$NPROC", "$SKYPILOT_NUM_NODES", "$SKYPILOT_NODE_RANK", "$HEAD_IP"}, expansions


# -- instance types become file names ----------------------------------------------------------------


def own_catalog(tmp_path: Path, value: str, column: str = "instance_type") -> Path:
    """A catalog of one row, g4dn.xlarge's, with ``column`` set to ``value``."""
    rows = [r for r in csv.reader(DEFAULT_CATALOG.read_text().splitlines()) if r and not r[0].startswith("#")]
    header, row = rows[0], next(r for r in rows if r[0] == "g4dn.xlarge")
    row[header.index(column)] = value
    path = tmp_path / "catalog.csv"
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows([header, row])
    return path


@pytest.mark.parametrize("itype", ["../../PWNED", "a/b", ".hidden", "-rf", "x" * 65, "g4dn xlarge", "g4dn.xlarge;id"])
def test_a_catalog_row_whose_instance_type_is_not_a_name_is_refused(tmp_path, itype):
    catalog = own_catalog(tmp_path, itype)
    code, err, out = plan(tmp_path, "--instances", itype.strip() or "x", "--catalog", str(catalog))
    assert refused(code, err, out) and "catalog.csv: row 2, column instance_type" in err
    assert not (tmp_path.parent / "PWNED.yaml").exists() and not (tmp_path / "PWNED.yaml").exists()


def test_a_catalog_replacement_that_is_not_a_name_is_refused(tmp_path):
    catalog = own_catalog(tmp_path, "../x", column="replacement")
    code, err, out = plan(tmp_path, "--instances", "g4dn.xlarge", "--catalog", str(catalog))
    assert refused(code, err, out) and "column replacement" in err


def test_a_hand_edited_plan_whose_instance_type_is_a_path_launches_nothing(tmp_path, fake_sky):
    plan_dir = write_plan(make_plan(PlanConfig(["g4dn.xlarge"])), tmp_path / "p" / "plan", wheel=fake_wheel(tmp_path),
                          data="synthetic")
    meta = json.loads((plan_dir / "plan.json").read_text())
    meta["entries"][0]["instance_type"] = "../../PWNED"
    (plan_dir / "plan.json").write_text(json.dumps(meta))
    with pytest.raises(KpbenchError, match="not an instance type"):
        launch_plan(plan_dir, say=lambda line: None, poll_s=0.01)
    assert fake_sky.calls == [] and not (plan_dir / "launch").exists()
    assert sorted(p.name for p in tmp_path.rglob("*PWNED*")) == []


def test_bench_refuses_an_instance_type_that_is_not_a_name(tmp_path):
    code, _, err = run_kpbench(*["bench", "--instance-type", "../../x", "--price-per-hour", "1", "--data", "synthetic:64",
                            "--out", str(tmp_path / "records")])
    assert code == 2 and "not an instance type" in err


def test_quoting_keeps_a_hostile_word_one_word():
    # The property the scripts rely on, for the record: shlex.quote survives sh word splitting.
    for word in ["a;b", "$(id)", "`id`", "x' y", "\\", "~/x", "-rf"]:
        assert shlex.split(shlex.quote(word)) == [word]
