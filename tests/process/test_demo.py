"""kpbench demo: synthetic faces → train → bench → report, end to end (a tiny, quick version)."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import run_kpbench
from kpbench.errors import KpbenchError

TINY = ("--rows", "160", "--time-budget", "3", "--repeats", "1", "--no-missing-runs")


@pytest.fixture(scope="module")
def tiny_demo(tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("demo") / "demo"
    return out, run_kpbench("demo", "--out", out, *TINY, subprocess=True, timeout_s=240)


@pytest.mark.slow
def test_demo_runs_every_step_and_prints_the_report_path(tiny_demo):
    out, r = tiny_demo
    assert r.code == 0, r.out[-3000:] + r.err[-3000:]
    assert (out / "data" / "training.csv").is_file()
    assert (out / "runs" / "default" / "metrics.json").is_file()
    assert list((out / "records").glob("*.json"))
    html = out / "report" / "report.html"
    assert html.is_file() and (out / "report" / "report.md").is_file()
    assert f"Report: {html.resolve()}" in " ".join(r.out.split())
    for step in ("Step 1/4", "Step 2/4", "Step 3/4", "Step 4/4"):
        assert step in r.out
    text = html.read_text(encoding="utf-8")
    assert "this machine (demo)" in text  # the Record of this machine is in the report
    assert "listed, not measured" in text  # catalog prices are labelled, not passed off as measured


@pytest.mark.slow
def test_the_demos_report_labels_its_data_synthetic_as_the_faceset_says(tiny_demo):
    out, r = tiny_demo
    assert "synthetic faces (cartoons" in (out / "report" / "report.html").read_text(encoding="utf-8")


@pytest.mark.slow
def test_demo_on_missing_data_fails_clearly(tmp_path: Path):
    r = run_kpbench("demo", "--out", tmp_path / "demo", "--data", tmp_path / "nope.zip", subprocess=True,
                    timeout_s=120)
    assert r.code == 1
    assert "nope.zip: no such file or directory" in r.out
    assert (tmp_path / "demo" / "report" / "report.html").is_file()  # the report still says what is missing


def test_a_second_demo_replaces_the_first_ones_parts(tmp_path: Path):
    from kpbench.demo import DEMO_PARTS, prepare_out_dir, record_written

    out = tmp_path / "demo"
    assert prepare_out_dir(out) is False  # a new directory: nothing to replace
    for part in DEMO_PARTS:
        (out / part).mkdir()
        (out / part / "old").write_text("from the first demo")
    record_written(out)  # as the demo does after each step: these are its own files
    assert prepare_out_dir(out) is True
    assert not any((out / part).exists() for part in DEMO_PARTS)


def test_a_directory_of_other_files_is_refused_unless_forced(tmp_path: Path):
    from kpbench.demo import prepare_out_dir

    (tmp_path / "mine.txt").write_text("mine")
    with pytest.raises(KpbenchError, match="not a kpbench demo's.*--force"):
        prepare_out_dir(tmp_path)
    assert prepare_out_dir(tmp_path, force=True) is False
    assert (tmp_path / "mine.txt").read_text() == "mine"
