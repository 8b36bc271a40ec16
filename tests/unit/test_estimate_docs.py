"""The shipped constants come from the calibration whose results docs/estimate.md shows (benchmarks/docs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results" / "estimate_calibration.json"


def test_the_shipped_constants_come_from_the_results_the_docs_show():
    from kpbench.estimate.model import load_constants

    summary = json.loads(RESULTS.read_text(encoding="utf-8"))["summary"]
    meta = load_constants().meta
    assert meta["points"] == summary["points"]
    assert meta["loo_median_abs_error"] == pytest.approx(summary["median_abs_error"])
    assert meta["loo_worst_abs_error"] == pytest.approx(summary["worst_abs_error"])
