"""`kpbench dist scale` from the command line: bad input, warnings, the --json contract, a real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from test_scaling_record import fake_raw

from kpbench.cli import main
from kpbench.errors import KpbenchError
from kpbench.scaling import netns, scale


def _run(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    out, err = capsys.readouterr()
    return e.value.code, out, err


@pytest.mark.parametrize("nproc", ["0", "1,0", "two", ""])
def test_nproc_below_one_is_a_one_line_error(nproc, capsys, tmp_path):
    code, _, err = _run(["dist", "scale", "--nproc", nproc, "--out", str(tmp_path)], capsys)
    assert code == 2 and err.startswith("kpbench: error: --nproc") and err.count("\n") == 1
    assert not list(tmp_path.iterdir())  # nothing written


@pytest.mark.parametrize("rate", ["fast", "0mbit", "12"])
def test_bad_link_limit_is_a_one_line_error(rate, capsys, tmp_path):
    code, _, err = _run(["dist", "scale", "--link-limit", rate, "--out", str(tmp_path)], capsys)
    assert code == 2 and "--link-limit" in err and err.count("\n") == 1


def test_bad_comm_hook_names_the_choices(capsys, tmp_path):
    code, _, err = _run(["dist", "scale", "--comm-hook", "zip", "--out", str(tmp_path)], capsys)
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


def test_more_workers_than_cores_warns_what_will_happen(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(scale, "usable_cores", lambda: 1)
    monkeypatch.setattr(scale, "run_job", lambda cfg, n, workdir, **over: fake_raw(n))
    code, out, err = _run(["dist", "scale", "--nproc", "1,2", "--out", str(tmp_path), "--json"], capsys)
    assert code == 0
    assert "exceeds the 1 usable cores" in err and "1 thread each" in err
    summary = json.loads(out)  # stdout carries the JSON alone
    assert [r["nproc"] for r in summary["rows"]] == [1, 2]
    assert (tmp_path / "dist-scale.json").is_file() and (tmp_path / "scaling.png").is_file()


@pytest.mark.slow
def test_done_when_two_workers_measure_and_predict(tmp_path):
    out = tmp_path / "ds"
    r = subprocess.run([sys.executable, "-m", "kpbench", "dist", "scale", "--data", "synthetic:300", "--model", "convonly",
                        "--nproc", "1,2", "--steps", "4", "--allreduce-max-mb", "1", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = json.loads(r.stdout)
    one, two = summary["rows"]
    assert one["speedup"] == 1.0 and two["nproc"] == 2 and two["speedup"] > 0
    assert summary["allreduce"]["alpha_s"] is not None and summary["prediction"]["checks"]
    rec = json.loads((out / "dist-scale.json").read_text())
    assert all(abs(row["parts_error"]) < 0.25 for row in rec["rows"])  # loose here: the suite may share cores
