"""A real two-host job on one machine: two network namespaces, a veth pair shaped with tc tbf, torchrun c10d.

Root and iproute2 only (CI runs as root); skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from kpbench.errors import KpbenchError
from kpbench.scaling import analysis, netns
from kpbench.scaling.scale import ScaleConfig, run_job

RATE_BIT_PER_S = 1e9

pytestmark = [
    pytest.mark.root, pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="network namespaces need root"),
    pytest.mark.skipif(shutil.which("ip") is None or shutil.which("tc") is None, reason="needs iproute2 (ip, tc)"),
]


def _processes_mentioning(text: str) -> list[int]:
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if text in (d / "cmdline").read_bytes().decode(errors="replace"):
                    pids.append(int(d.name))
            except OSError:
                pass
    return pids


@pytest.fixture
def nothing_left_behind(tmp_path):
    before = set(netns.our_namespaces())
    yield tmp_path
    assert set(netns.our_namespaces()) <= before, "namespaces left behind"
    assert not _processes_mentioning(str(tmp_path)), "worker processes left behind"


def test_two_shaped_hosts_measure_the_link_predict_the_step_and_train_like_one_process(nothing_left_behind):
    work = nothing_left_behind
    shaped = ScaleConfig(data="synthetic", model="seed", batch_size=16, steps=4, link_limit_bit_per_s=RATE_BIT_PER_S,
                         allreduce_max_bytes=16 << 20, cores=2).resolved()
    two = run_job(shaped, 2, work, complete_only=True, param_digest=True)

    big = max(two["allreduce"], key=lambda p: p["size_bytes"])
    busbw_bit_per_s = analysis.allreduce([two])["busbw_largest_bytes_per_s"] * 8
    assert big["size_bytes"] == 16 << 20
    assert busbw_bit_per_s == pytest.approx(RATE_BIT_PER_S, rel=0.20)

    row = analysis.row(two, shaped.batch_size)
    (check,) = analysis.checks([row], analysis.allreduce([two]), "none")
    # the model's two bounds: full overlap with backward, and none (gloo shares the cores with backward)
    assert check["predicted_step_s"] * 0.8 <= check["measured_step_s"] <= check["serial_step_s"] * 1.2, check

    one_proc = ScaleConfig(data="synthetic", model="seed", batch_size=32, steps=4, allreduce_max_bytes=0, cores=2).resolved()
    one = run_job(one_proc, 1, work, complete_only=True, param_digest=True, evaluate=False)
    # the same weights after the same steps: gradients averaged over 2 × 16 = one process's over 32
    assert one["params"] == pytest.approx(two["params"], rel=1e-3, abs=1e-3)


def test_namespaces_go_even_when_the_body_fails(nothing_left_behind):
    with pytest.raises(RuntimeError):
        with netns.hosts(2, 1e8) as hosts:
            assert len(netns.our_namespaces()) >= 2 and hosts[0].addr.startswith("198.18.")
            raise RuntimeError("boom")


def test_a_workers_bad_input_is_its_one_line_error_and_leaves_nothing(nothing_left_behind):
    cfg = ScaleConfig(data=str(nothing_left_behind / "absent.csv"), model="convonly", steps=2,
                      link_limit_bit_per_s=1e9, cores=2, timeout_s=120).resolved()
    with pytest.raises(KpbenchError, match="absent.csv") as e:
        run_job(cfg, 2, nothing_left_behind)
    assert e.value.exit_code == 2


def test_stale_namespaces_of_dead_runs_are_removed():
    import subprocess

    stale = f"{netns.PREFIX}999999999-dead-0"  # no such pid
    subprocess.run(["ip", "netns", "add", stale], check=True)
    assert stale in netns.clean_stale()
    assert stale not in netns.our_namespaces()
