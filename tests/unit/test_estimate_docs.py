"""docs/estimate.md's tables are generated from gpus.csv and the calibration benchmark's JSON, never hand copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from kpbench.estimate.docs import BLOCKS, RESULTS, block_in, generated

DOC = Path(__file__).resolve().parents[2] / "docs" / "estimate.md"


@pytest.mark.parametrize("name", sorted(BLOCKS))
def test_docs_tables_are_the_generated_ones(name):
    if name == "calibration" and not RESULTS.is_file():
        pytest.skip("no benchmarks/results/estimate_calibration.json")
    block = block_in(DOC.read_text(encoding="utf-8"), name)
    assert block == generated(name), f"docs/estimate.md's {name} table is stale: run `make docs`"


def test_the_shipped_constants_come_from_the_results_the_docs_show():
    import json

    from kpbench.estimate.model import load_constants

    summary = json.loads(RESULTS.read_text(encoding="utf-8"))["summary"]
    meta = load_constants().meta
    assert meta["points"] == summary["points"]
    assert meta["loo_median_abs_error"] == pytest.approx(summary["median_abs_error"])
