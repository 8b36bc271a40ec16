"""The report's original-study table (from estimate Records), folded empty sections, and the estimated headline."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpbench.estimate.record import write_estimates
from kpbench.estimate.run import EstimateRequest, run_estimate
from kpbench.report import write_report
from kpbench.report.blocks import Note, Paragraph, Section, Table
from kpbench.report.write import fold_empty

RECORD_CPU = Path(__file__).resolve().parents[1] / "fixtures" / "record_cpu.json"
pytestmark = pytest.mark.usefixtures("fixed_machine")


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    from kpbench.estimate import machine

    mp.setattr(machine, "startup_s", lambda: 2.0)
    mp.setattr(machine, "host", lambda: machine.Host(dispatch_s=3e-6, module_s=2e-6))
    out = tmp_path_factory.mktemp("estimates")
    write_estimates(run_estimate(EstimateRequest(model="convonly", study=True, epochs=2, rows=500)), out)
    mp.undo()
    return out


def test_the_study_table_leads_the_report_with_its_five_rows_the_replacements_and_this_machine(study_dir, tmp_path):
    md = write_report([study_dir, RECORD_CPU], [], tmp_path / "out").markdown.read_text(encoding="utf-8")
    study = md[md.index("## The original study's table"):]
    study = study[: study.index("\n## ")]
    assert md.index("## The original study's table") < md.index("## 1.")
    for instance in ("g3s.xlarge", "g3.4xlarge", "g4dn.4xlarge", "p2.xlarge", "p3.2xlarge", "g4dn.xlarge",
                     "g5.xlarge", "g6.xlarge"):
        assert f"| {instance} |" in study
    assert "retired since 2025-10" in study and "K80: one GK210 of the two on a K80 board" in study
    assert "measured here" in study and "estimated" in study and " … " in study


def test_estimates_join_the_cost_table_marked_and_never_on_the_measured_front(study_dir, tmp_path):
    md = write_report([study_dir, RECORD_CPU], [], tmp_path / "out").markdown.read_text(encoding="utf-8")
    cost = md[md.index("## 8. Cost"):]
    assert "(estimate" in cost and "☆" in cost and "estimated (not measured) cheapest" in cost


def test_with_nothing_measured_priced_the_headline_names_the_cheapest_estimate_as_an_estimate(study_dir, tmp_path):
    html = write_report([study_dir], [], tmp_path / "out").html.read_text(encoding="utf-8")
    head = html[html.index('class="cards"'):html.index("</header>")]
    assert "(estimate)" in head and "estimated, not measured" in head


def test_sections_with_nothing_to_show_fold_into_one_closing_line():
    full = Section("a", "1. Full").add(Table(["x"], [["1"]]))
    empty = [Section("b", "2. Empty").add(Note("give --data")), Section("c", "3. Bare").add(Paragraph("text"))]
    folded = fold_empty([empty[0], full, empty[1]])
    assert [s.id for s in folded] == ["a", "not-shown"]
    line = folded[-1].blocks[0].text
    assert "2. Empty (give --data)" in line and "3. Bare (no input)" in line
