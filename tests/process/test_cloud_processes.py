"""`kpbench cloud` where real processes take part: `plan` without --wheel builds kpbench's wheel with
pip, and a signal to `kpbench cloud launch` (against the fake SkyPilot, imported as `sky` in that
process) cancels the launches and tears every cluster down. (The rest, in process:
tests/unit/test_cloud_plan.py, tests/unit/test_cloud_launch.py.)"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from fakes import fake_plan, fake_sky_env
from helpers import run_kpbench, start_kpbench


def test_without_wheel_plan_builds_this_kpbench_and_ships_it(tmp_path):
    code, _, err = run_kpbench("cloud", "plan", "--instances", "g4dn.xlarge", "--out", tmp_path / "plan")
    assert code == 0, err
    wheels = list((tmp_path / "plan" / "dist").glob("kpbench-*.whl"))
    assert len(wheels) == 1
    names = zipfile.ZipFile(wheels[0]).namelist()
    assert "kpbench/cloud/transfer.py" in names and "kpbench/cost/catalog.csv" in names


def waiting_launches(calls_file: Path) -> int:
    if not calls_file.exists():
        return 0
    lines = [json.loads(line) for line in calls_file.read_text().splitlines() if line.endswith("}")]
    return sum(1 for c in lines if c["call"] == "get" and c.get("kind") == "launch")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_cancels_launches_and_tears_every_cluster_down(tmp_path, signum):
    plan_dir = fake_plan(tmp_path, ["g4dn.xlarge", "g5.xlarge"])
    calls_file = tmp_path / "calls.jsonl"
    env = fake_sky_env(os.environ, json.dumps({"g4dn.xlarge": "hang", "g5.xlarge": "hang"}), calls_file)
    proc = start_kpbench("cloud", "launch", plan_dir, env=env, stdout=subprocess.PIPE)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and waiting_launches(calls_file) < 2:
            time.sleep(0.1)
        proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + signum, err
    assert err.count("\n") == 1 and err.startswith("kpbench: interrupted") and "every cluster was torn down" in err
    recorded = [json.loads(line) for line in calls_file.read_text().splitlines()]
    launched = {c["cluster"] for c in recorded if c["call"] == "launch"}
    downed = {c["cluster"] for c in recorded if c["call"] == "down"}
    assert len(launched) == 2 and launched <= downed
    assert any(c["call"] == "api_cancel" for c in recorded)
    for itype in ("g4dn.xlarge", "g5.xlarge"):
        state = json.loads((plan_dir / "launch" / f"{itype}.json").read_text())
        assert state["status"] == "interrupted" and state["down"] == "torn down"
