"""`kpbench dist scale` from the command line: bad input, warnings, the --json contract (with a fake job;
the real torchrun job: tests/integration/test_scaling_torchrun.py, across nodes: test_scaling_multinode.py)."""

from __future__ import annotations

import json
import os

import pytest

from fakes import fake_raw
from helpers import run_kpbench
from kpbench.errors import KpbenchError
from kpbench.scaling import netns, scale


@pytest.mark.parametrize("nproc", ["0", "1,0", "two", ""])
def test_nproc_below_one_is_a_one_line_error(nproc, tmp_path):
    code, _, err = run_kpbench("dist", "scale", "--nproc", nproc, "--out", str(tmp_path))
    assert code == 2 and err.startswith("kpbench: error: --nproc") and err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("rate", ["fast", "0mbit", "12"])
def test_bad_link_limit_is_a_one_line_error(rate, tmp_path):
    code, _, err = run_kpbench("dist", "scale", "--link-limit", rate, "--out", str(tmp_path))
    assert code == 2 and "--link-limit" in err and err.count("\n") == 1


def test_bad_comm_hook_names_the_choices(tmp_path):
    code, _, err = run_kpbench("dist", "scale", "--comm-hook", "zip", "--out", str(tmp_path))
    assert code == 2 and "powersgd:R" in err


def test_link_limit_without_root_says_so(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(KpbenchError, match="needs root"):
        netns.check_can_shape()


def test_link_limit_without_iproute2_says_so(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(netns.shutil, "which", lambda tool: None)
    with pytest.raises(KpbenchError, match="iproute2"):
        netns.check_can_shape()


def test_more_workers_than_cores_warns_what_will_happen(monkeypatch, tmp_path):
    monkeypatch.setattr(scale, "usable_cores", lambda: 1)
    monkeypatch.setattr(scale, "run_job", lambda cfg, n, workdir, **over: fake_raw(n))
    code, out, err = run_kpbench("dist", "scale", "--nproc", "1,2", "--out", str(tmp_path), "--json", "--oversubscribe")
    assert code == 0
    assert "exceeds the 1 usable cores" in err and "1 thread each" in err
    summary = json.loads(out)  # stdout carries the JSON alone
    assert [r["nproc"] for r in summary["rows"]] == [1, 2]
    assert (tmp_path / "dist-scale.json").is_file() and (tmp_path / "scaling.png").is_file()


def test_multi_node_needs_the_rendezvous_endpoint(tmp_path):
    code, _, err = run_kpbench("dist", "scale", "--nnodes", "2", "--out", tmp_path)
    assert code == 2 and "--rdzv-endpoint" in err


def test_node_rank_must_lie_inside_the_cluster(tmp_path):
    code, _, err = run_kpbench("dist", "scale", "--nnodes", "2", "--node-rank", "2", "--rdzv-endpoint", "127.0.0.1:1",
                               "--out", tmp_path)
    assert code == 2 and "--node-rank 2" in err
