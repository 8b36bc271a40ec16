"""A launcher killed by SIGKILL during --link-limit leaves no network namespace, agent or worker behind."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from kpbench.scaling import netns

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(shutil.which("ip") is None or shutil.which("tc") is None, reason="needs iproute2 (ip, tc)"),
]


def _pids_with(marker: str, also: bytes = b"") -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if f"KPBENCH_TEST_MARKER={marker}".encode() in environ and also in environ:
            found.append(int(entry.name))
    return found


def test_sigkill_during_a_shaped_job_removes_its_namespaces_agents_and_workers(tmp_path):
    marker, before = uuid.uuid4().hex, set(netns.our_namespaces())
    launcher = subprocess.Popen([sys.executable, "-m", "kpbench", "dist", "scale", "--data", "synthetic:2000", "--model",
                                 "seed", "--nproc", "2", "--steps", "400", "--link-limit", "1gbit", "--out",
                                 str(tmp_path / "ds")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                env={**os.environ, "KPBENCH_TEST_MARKER": marker})
    deadline = time.monotonic() + 120
    while len(set(netns.our_namespaces()) - before) < 2 or len(_pids_with(marker, b"\0LOCAL_RANK=")) < 2:  # workers up
        assert time.monotonic() < deadline and launcher.poll() is None, "the shaped job never started"
        time.sleep(0.2)
    launcher.kill()
    launcher.wait()
    deadline = time.monotonic() + 30
    while (set(netns.our_namespaces()) - before or _pids_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not set(netns.our_namespaces()) - before, "namespaces left behind"
    assert not _pids_with(marker), "processes left behind"
