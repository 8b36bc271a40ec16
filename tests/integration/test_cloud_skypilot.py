"""Every task `kpbench cloud plan` writes is accepted by SkyPilot 0.14 itself, offline.

SkyPilot's schema check, ``Task.from_yaml_config`` and ``Task.validate()`` (which checks the
instance type against SkyPilot's catalog) run in a subprocess with a temporary HOME, a small
local AWS catalog, no API server and no usage collection. Skipped where SkyPilot is not
installed (`pip install 'kpbench[cloud]'`; CI installs it).
"""

from __future__ import annotations

import csv
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from fakes import CLOUD, fake_wheel
from helpers import run_kpbench
from kpbench.cost import load_catalog

pytestmark = [
    pytest.mark.skipif(importlib.util.find_spec("sky") is None or importlib.util.find_spec("yaml") is None,
                       reason="SkyPilot is not installed here (pip install 'kpbench[cloud]'); CI installs it"),
]
VMS_COLUMNS = ["InstanceType", "AcceleratorName", "AcceleratorCount", "vCPUs", "MemoryGiB", "GpuInfo", "Price",
               "SpotPrice", "Region", "AvailabilityZone", "Arch", "LocalDiskType", "NVMeSupported",
               "LocalDiskSize", "LocalDiskCount", "MaximumEfaInterfaces"]
NOT_IN_SKY_CATALOG = "g6.xlarge"  # left out of the local catalog: validate() must reject it


def sky_home(tmp_path: Path) -> dict:
    """Environment for SkyPilot: private HOME with an AWS vms.csv built from kpbench's catalog."""
    home = tmp_path / "skyhome"
    aws = home / ".sky" / "catalogs" / "v8" / "aws"
    aws.mkdir(parents=True)
    with open(aws / "vms.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(VMS_COLUMNS)
        for i in load_catalog():
            if i.retired or i.instance_type == NOT_IN_SKY_CATALOG:
                continue
            mib = int((i.gpu_memory_gb or 0) * 1024)
            info = str({"Gpus": [{"Name": i.gpu, "Manufacturer": "NVIDIA", "Count": i.gpu_count,
                                  "MemoryInfo": {"SizeInMiB": mib}}], "TotalGpuMemoryInMiB": mib * i.gpu_count})
            w.writerow([i.instance_type, i.gpu, float(i.gpu_count), float(i.vcpus), i.memory_gb, info,
                        i.price_per_hour, round(i.price_per_hour * 0.4, 4), "us-east-1", "us-east-1a", "x86_64",
                        "ssd", True, 125, 1, 0])
    env = dict(os.environ, HOME=str(home), SKY_RUNTIME_DIR=str(home), SKYPILOT_DISABLE_LOCAL_API_SERVER="1",
               SKYPILOT_DISABLE_USAGE_COLLECTION="1")
    return env


def validate(tmp_path: Path, files: list[Path]) -> dict[str, dict]:
    r = subprocess.run([sys.executable, str(CLOUD / "validate_tasks.py"), *map(str, files)],
                       env=sky_home(tmp_path), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    results = [json.loads(line) for line in r.stdout.splitlines() if line.startswith("{")]
    return {Path(x["file"]).name: x for x in results}


def plan(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    code, _, err = run_kpbench("cloud", "plan", "--out", str(out), "--wheel", str(fake_wheel(tmp_path)), *args)
    assert code == 0, err
    return out


def test_the_done_when_plan_is_accepted_by_skypilot_with_p3_warned(tmp_path):
    out = tmp_path / "plan"
    code, _, err = run_kpbench("cloud", "plan", "--instances", "g4dn.xlarge,g5.xlarge,p3.2xlarge", "--out", str(out),
                               "--wheel", str(fake_wheel(tmp_path)))
    assert code == 0 and "p3.2xlarge was retired" in err
    results = validate(tmp_path, sorted(out.glob("*.yaml")))
    assert sorted(results) == ["g4dn.xlarge.yaml", "g5.xlarge.yaml"]
    assert all(r["ok"] for r in results.values()), results


def test_spot_multi_node_and_mounted_data_tasks_are_accepted(tmp_path, synthetic_dir):
    spot = plan(tmp_path, "spot", "--instances", "g4dn.xlarge,p4d.24xlarge", "--spot",
                "--data", str(synthetic_dir))
    nodes = plan(tmp_path, "nodes", "--instances", "g5.12xlarge", "--nodes", "2")
    results = validate(tmp_path, sorted(spot.glob("*.yaml")) + sorted(nodes.glob("*.yaml")))
    assert all(r["ok"] for r in results.values()), results
    assert results["g4dn.xlarge.yaml"]["use_spot"] == [True]
    assert results["g5.12xlarge.yaml"]["num_nodes"] == 2


def test_validate_really_checks_the_instance_type(tmp_path):
    out = plan(tmp_path, "plan", "--instances", NOT_IN_SKY_CATALOG)
    [result] = validate(tmp_path, list(out.glob("*.yaml"))).values()
    assert not result["ok"] and f"Invalid instance type '{NOT_IN_SKY_CATALOG}'" in result["error"]
