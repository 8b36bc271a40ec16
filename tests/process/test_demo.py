"""kpbench demo: synthetic faces → train → bench (fresh worker processes) → report, end to end (a tiny,
quick version, the CLI in process). (Its --out rules: tests/unit/test_demo_out_dir.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_kpbench

TINY = ("--rows", "160", "--time-budget", "1", "--repeats", "1", "--no-missing-runs")  # a run, not a result


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    return out, run_kpbench("demo", "--out", out, *TINY)


def test_demo_runs_every_step_and_prints_the_report_path(tiny_demo):
    out, r = tiny_demo
    assert r.code == 0, r.out[-3000:] + r.err[-3000:]
    assert (out / "data" / "training.csv").is_file()
    assert (out / "runs" / "default" / "metrics.json").is_file()
    assert list((out / "records").glob("*.json"))
    html = out / "report" / "report.html"
    assert html.is_file() and (out / "report" / "report.md").is_file()
    assert f"Report: {html.resolve()}" in " ".join(r.out.split())
    for step in ("Step 1/5", "Step 2/5", "Step 3/5", "Step 4/5", "Step 5/5"):
        assert step in r.out
    text = html.read_text(encoding="utf-8")
    assert "this machine (demo)" in text  # the Record of this machine is in the report
    assert "original study" in text and "p2.xlarge" in text and "retired since" in text  # the study's table, filled
    assert "listed, not measured" in text  # catalog prices are labelled, not passed off as measured


def test_the_demos_report_labels_its_data_synthetic_as_the_faceset_says(tiny_demo):
    out, r = tiny_demo
    assert "synthetic faces (cartoons" in (out / "report" / "report.html").read_text(encoding="utf-8")


def test_demo_on_missing_data_fails_clearly(tmp_path: Path):
    r = run_kpbench("demo", "--out", tmp_path / "demo", "--data", tmp_path / "nope.zip")
    assert r.code == 1
    assert "nope.zip: no such file or directory" in r.out
    assert (tmp_path / "demo" / "report" / "report.html").is_file()  # the report still says what is missing
