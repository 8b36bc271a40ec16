"""compare and estimate Records: estimates priced from the catalog, shown apart with their band and front."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import run_kpbench
from kpbench.errors import KpbenchError
from kpbench.estimate.compare import compare_files
from kpbench.estimate.record import check_estimate, load_estimate, write_estimates
from kpbench.estimate.run import EstimateRequest, run_estimate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
pytestmark = pytest.mark.usefixtures("fixed_machine")


@pytest.fixture
def estimates(tmp_path) -> list[Path]:
    result = run_estimate(EstimateRequest(model="convonly", instances=["p2.xlarge", "g4dn.xlarge"], epochs=1))
    return write_estimates(result, tmp_path / "est")


def test_estimates_get_their_own_rows_band_and_front_beside_measured_rows(estimates):
    comp = compare_files([FIXTURES / "record_cpu.json", *estimates])
    assert [r.estimated for r in comp.rows] == [False]
    assert {r.instance_type for r in comp.estimates} == {"p2.xlarge", "g4dn.xlarge"}
    for r in comp.estimates:
        assert r.estimated and r.time_low_s < r.time_s < r.time_high_s
        assert r.cost_low_usd <= r.cost_per_run_usd <= r.cost_high_usd
    assert comp.estimate_pareto and set(comp.estimate_pareto) <= {r.label for r in comp.estimates}
    assert not set(comp.pareto) & set(comp.estimate_pareto)
    assert any(v.startswith("estimated (not measured) cheapest per run") for v in comp.verdicts)


def test_estimates_alone_compare_without_a_measured_fastest(estimates):
    comp = compare_files(estimates)
    assert comp.rows == [] and comp.fastest is None and comp.cheapest_estimate is not None


def test_compare_prints_estimates_marked_as_such_and_writes_them_to_csv(estimates, tmp_path):
    r = run_kpbench("compare", FIXTURES / "record_cpu.json", *estimates, "--out", tmp_path / "cmp")
    assert r.code == 0, r.err
    assert "(estimate" in r.out and "☆" in r.out
    csv_text = (tmp_path / "cmp" / "compare.csv").read_text(encoding="utf-8")
    assert csv_text.count(",True,") >= 2  # the estimated column


def test_an_estimate_record_that_breaks_its_schema_is_refused_naming_the_file(estimates, tmp_path):
    record = json.loads(estimates[0].read_text(encoding="utf-8"))
    record["estimate"]["step_s"] = -1
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(record), encoding="utf-8")
    with pytest.raises(KpbenchError, match=r"bad.json: not a valid estimate Record: estimate.step_s: -1 is below"):
        load_estimate(bad)


def test_an_estimate_record_of_another_version_is_refused(estimates):
    record = json.loads(estimates[0].read_text(encoding="utf-8"))
    record["schema"] = "kpbench.estimate/9"
    with pytest.raises(KpbenchError, match="is not supported"):
        check_estimate(record, "x.json")


def test_the_schema_file_agrees_with_jsonschema(estimates):
    jsonschema = pytest.importorskip("jsonschema")
    from kpbench.estimate.record import estimate_schema

    for path in estimates:
        jsonschema.validate(json.loads(path.read_text(encoding="utf-8")), estimate_schema())
