"""`kpbench cloud launch` with the real SkyPilot 0.14 and no cloud credentials: one line, exit 2, nothing launched.

Runs the real SDK in a subprocess with a private HOME holding no credentials (and no AWS_* variables).
Once with SkyPilot's local API server allowed, as a user meets it (SkyPilot starts the server on the
first call; the test stops it again), once with the server disabled. Skipped where
SkyPilot is not installed (`pip install 'kpbench[cloud]'`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from fakes import fake_wheel  # noqa: E402
from helpers import run_kpbench  # noqa: E402

pytestmark = pytest.mark.skipif(importlib.util.find_spec("sky") is None,
                                reason="SkyPilot is not installed here (pip install 'kpbench[cloud]'); CI installs it")


def no_credentials_env(home: Path, **extra: str) -> dict:
    home.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SKYPILOT_"))}
    return {**env, "HOME": str(home), "SKY_RUNTIME_DIR": str(home), "SKYPILOT_DISABLE_USAGE_COLLECTION": "1", **extra}


def plan(tmp_path: Path) -> Path:
    out = tmp_path / "plan"
    code, _, err = run_kpbench(*["cloud", "plan", "--instances", "g4dn.xlarge", "--out", str(out),
                            "--wheel", str(fake_wheel(tmp_path))])
    assert code == 0, err
    return out


def launch(plan_dir: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kpbench", "cloud", "launch", str(plan_dir)], env=env,
                          capture_output=True, text=True, timeout=300)


def assert_one_line_and_nothing_launched(r: subprocess.CompletedProcess, plan_dir: Path, *words: str) -> None:
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 2, r.stderr[-2000:]
    assert last.startswith("kpbench: error: ") and "Traceback" not in r.stderr
    assert all(w in last for w in ("AWS", "`sky check aws`", "nothing launched", *words)), last
    assert not (plan_dir / "launch").exists()  # no launch state: nothing was launched


def stop_api_servers_of(home: Path) -> None:
    """Kill the API servers SkyPilot started under ``home``, with their workers: what `sky api stop` does
    (`-m sky.server.server` by its command line), without a second interpreter importing SkyPilot (seconds)."""
    servers = []
    for p in psutil.process_iter(["cmdline"]):
        try:
            if "-m sky.server.server" in " ".join(p.info["cmdline"] or ()) and p.environ().get("HOME") == str(home):
                servers.append(p)
        except psutil.Error:
            continue
    family = [c for p in servers for c in p.children(recursive=True)] + servers
    for p in family:
        try:
            p.kill()
        except psutil.Error:
            continue
    psutil.wait_procs(family, timeout=30)


def test_without_credentials_launch_says_aws_has_none_and_launches_nothing(tmp_path):
    plan_dir = plan(tmp_path)
    env = no_credentials_env(tmp_path / "home")
    try:
        r = launch(plan_dir, env)
    finally:  # the API server SkyPilot started for the check outlives the command: stop it
        stop_api_servers_of(tmp_path / "home")
    assert_one_line_and_nothing_launched(r, plan_dir, "no usable AWS credentials")


def test_without_an_api_server_launch_says_it_cannot_check_and_launches_nothing(tmp_path):
    plan_dir = plan(tmp_path)
    r = launch(plan_dir, no_credentials_env(tmp_path / "home", SKYPILOT_DISABLE_LOCAL_API_SERVER="1"))
    assert_one_line_and_nothing_launched(r, plan_dir, "cannot check")
