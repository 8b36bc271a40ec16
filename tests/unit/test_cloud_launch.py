"""`kpbench cloud launch` → `collect` → report against a fake SkyPilot SDK: clusters always torn down."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from fakes import THREE_INSTANCES as THREE
from fakes import fake_plan
from helpers import run_kpbench
from kpbench.bench.record import SCHEMA_FILES
from kpbench.cloud import collect, launch_plan, sky_api
from kpbench.errors import KpbenchError, RunFailed


def launch(plan_dir: Path) -> list[str]:
    said: list[str] = []
    launch_plan(plan_dir, say=said.append, poll_s=0.01)
    return said


def calls(sky, name: str) -> list[dict]:
    return [c for c in sky.calls if c["call"] == name]


def test_launch_runs_every_task_with_down_and_autostop_and_tears_every_cluster_down(tmp_path, fake_sky):
    plan_dir = fake_plan(tmp_path)
    said = launch(plan_dir)
    launches = calls(fake_sky, "launch")
    assert sorted(c["instance_type"] for c in launches) == THREE
    assert all(c["down"] is True and c["idle_minutes_to_autostop"] == 10 for c in launches)
    assert sorted(c["cluster"] for c in calls(fake_sky, "down")) == sorted(c["cluster"] for c in launches)
    assert len(calls(fake_sky, "check")) == 1
    for itype in THREE:
        state = json.loads((plan_dir / "launch" / f"{itype}.json").read_text())
        assert state["status"] == "succeeded" and state["down"] == "torn down" and state["job_exit_code"] == 0
        assert (plan_dir / "logs" / f"{itype}.log").is_file()
        assert "Launching" in (plan_dir / "logs" / f"{itype}.launch.log").read_text()
        assert any(line.startswith(f"{itype}: job succeeded; cluster torn down") for line in said)


def test_collect_brings_records_home_with_provisioning_time_then_compares_and_reports(tmp_path, fake_sky):
    jsonschema = pytest.importorskip("jsonschema")
    plan_dir = fake_plan(tmp_path)
    launch(plan_dir)
    result = collect(plan_dir)
    assert len(result.records) == 3 and result.warnings == []
    for path in result.records:
        rec = json.loads(path.read_text())
        jsonschema.validate(rec, json.loads(SCHEMA_FILES[rec["schema"]].read_text()))  # the version it says it is
        cloud = rec["cloud"]
        # fake: the job starts 42.5 s after the launch call; setup stamps 30 s before that (+0.2 s).
        assert 42.5 <= cloud["provision_s"] < 45 and cloud["setup_s"] == pytest.approx(30.2, abs=0.01)
        assert cloud["job_start_source"] == "sky.queue start_at" and cloud["use_spot"] is False
        assert cloud["instance_type"] == rec["machine"]["instance_type"]
    assert {r.instance_type for r in result.comparison.rows} == set(THREE)
    assert (plan_dir / "compare" / "compare.csv").is_file()
    from kpbench.report import write_report  # the CLI writes the report from what collect gathered

    report = write_report(result.records, [], plan_dir / "report")
    assert report.html.is_file() and "g6.xlarge" in report.html.read_text()


def test_without_the_queue_the_tasks_own_timestamp_times_provisioning(tmp_path, fake_sky):
    fake_sky.configure({"g4dn.xlarge": "no-queue"})
    plan_dir = fake_plan(tmp_path, ["g4dn.xlarge"])
    launch(plan_dir)
    [path] = collect(plan_dir, compare_records=False).records
    cloud = json.loads(path.read_text())["cloud"]
    assert cloud["job_start_source"].startswith("task timestamp") and 42.7 <= cloud["provision_s"] < 45


def test_a_failed_launch_still_tears_its_cluster_down_and_the_others_are_collected(tmp_path, fake_sky):
    fake_sky.configure({"g5.xlarge": "launch-fails"})
    plan_dir = fake_plan(tmp_path)
    with pytest.raises(RunFailed, match=r"1 of 3 jobs did not succeed \(g5.xlarge: launch-failed\)"):
        launch(plan_dir)
    state = json.loads((plan_dir / "launch" / "g5.xlarge.json").read_text())
    assert state["status"] == "launch-failed" and "Failed to provision" in state["error"]
    assert state["down"] == "torn down"
    result = collect(plan_dir, compare_records=False)
    assert len(result.records) == 2 and any(w.startswith("g5.xlarge: no job log") for w in result.warnings)


def test_a_failed_job_still_tears_its_cluster_down(tmp_path, fake_sky):
    fake_sky.configure({"g4dn.xlarge": "job-fails"})
    plan_dir = fake_plan(tmp_path, ["g4dn.xlarge"])
    with pytest.raises(RunFailed, match="job-failed"):
        launch(plan_dir)
    state = json.loads((plan_dir / "launch" / "g4dn.xlarge.json").read_text())
    assert state["job_exit_code"] == 100 and state["down"] == "torn down"
    with pytest.raises(RunFailed, match="no Record in the job logs"):
        collect(plan_dir)


def test_a_cluster_past_max_minutes_is_torn_down(tmp_path, fake_sky):
    fake_sky.configure({"g4dn.xlarge": "hang"})
    plan_dir = fake_plan(tmp_path, ["g4dn.xlarge"], max_minutes=0.002)
    with pytest.raises(RunFailed, match="timed-out"):
        launch(plan_dir)
    state = json.loads((plan_dir / "launch" / "g4dn.xlarge.json").read_text())
    assert state["status"] == "timed-out" and state["down"] == "torn down"


def test_no_aws_credentials_is_one_line_and_nothing_is_launched(tmp_path, fake_sky):
    fake_sky.configure({"aws": False})
    plan_dir = fake_plan(tmp_path)
    code, _, err = run_kpbench("cloud", "launch", str(plan_dir))
    assert code == 2 and err.count("\n") == 1 and "no usable AWS credentials" in err
    assert calls(fake_sky, "launch") == [] and not (plan_dir / "launch").exists()


def test_skypilot_absent_names_the_extra(tmp_path, monkeypatch):
    sky_api.use(None)
    monkeypatch.setitem(sys.modules, "sky", None)  # import sky → ImportError
    plan_dir = fake_plan(tmp_path)
    code, _, err = run_kpbench("cloud", "launch", str(plan_dir))
    assert code == 2 and "pip install 'kpbench[cloud]'" in err and err.count("\n") == 1


def test_a_plan_is_launched_once_and_collect_needs_a_launch(tmp_path, fake_sky):
    plan_dir = fake_plan(tmp_path, ["g4dn.xlarge"])
    with pytest.raises(KpbenchError, match="nothing launched yet"):
        collect(plan_dir)
    launch(plan_dir)
    with pytest.raises(KpbenchError, match="launched already"):
        launch(plan_dir)
    with pytest.raises(KpbenchError, match="not a plan directory"):
        launch_plan(tmp_path)


def test_launch_then_collect_on_the_command_line(tmp_path, fake_sky):
    plan_dir = fake_plan(tmp_path, ["g4dn.xlarge", "g5.xlarge"])
    code, out, err = run_kpbench("cloud", "launch", str(plan_dir))
    assert code == 0, err
    assert "All 2 jobs succeeded" in out and "g5.xlarge: job succeeded; cluster torn down" in out
    code, out, err = run_kpbench("cloud", "collect", str(plan_dir))
    assert code == 0, err
    assert "Records: 2 bench, 0 other" in out and "report.html" in out and "cloud: g5.xlarge" in out


def test_a_moved_plan_is_refused_before_anything_launches(tmp_path, fake_sky):
    plan_dir = fake_plan(tmp_path, ["g4dn.xlarge"])
    moved = plan_dir.rename(tmp_path / "moved")
    with pytest.raises(KpbenchError, match="plan again with --out"):
        launch(moved)
    assert fake_sky.calls == []


def test_a_multi_node_result_is_saved_but_not_priced(tmp_path, fake_sky):
    plan_dir = fake_plan(tmp_path, ["g5.12xlarge"], nodes=2)
    launch(plan_dir)
    result = collect(plan_dir)
    assert result.records == [] and [p.name for p in result.others] == ["dist-scale.json"]
    assert json.loads(result.others[0].read_text())["kind"] == "dist-scale" and result.comparison is None


def test_parallel_one_launches_the_clusters_one_after_another(tmp_path, fake_sky):
    plan_dir = fake_plan(tmp_path)
    launch_plan(plan_dir, parallel=1, say=lambda line: None, poll_s=0.01)
    order = [(c["call"], c.get("cluster")) for c in fake_sky.calls if c["call"] in ("launch", "down")]
    assert [call for call, _ in order] == ["launch", "down"] * 3
    assert all(order[i][1] == order[i + 1][1] for i in range(0, 6, 2))
    with pytest.raises(KpbenchError, match="--parallel must be at least 1"):
        launch_plan(fake_plan(tmp_path / "again"), parallel=0)
