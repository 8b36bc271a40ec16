"""A real bench, warm and cold: the phases of each repeat add up to its wall clock, torch's import is inside init."""

from __future__ import annotations

import pytest

from kpbench.bench import cold, phases
from kpbench.bench.record import load_record
from kpbench.bench.runner import BenchConfig, run_bench


@pytest.mark.skipif(cold.unavailable_reason() is not None, reason="no page-cache eviction on this platform")
def test_a_cold_bench_evicts_before_each_repeat_and_its_split_adds_up_to_the_wall_clock(tmp_path):
    cfg = BenchConfig(data="synthetic", model="convonly", rows=48, batch_size=16, epochs=1, repeats=2,
                      precision="fp32", cold=True)
    record, path = run_bench(cfg, tmp_path, progress=False)
    assert load_record(path) == record and record["cold"] is True
    for run in record["runs"]:
        assert list(run["phases"]) == list(phases.PHASES)
        assert sum(run["phases"].values()) == pytest.approx(run["wall_s"])
        assert run["phases"]["unattributed_s"] < 0.05 * run["wall_s"]
        init = sum(run["phases"][name] for name in phases.INIT_PHASES)
        assert run["figures"]["init_s"] == pytest.approx(init)
        assert run["phases"]["imports_s"] > 0.2  # torch's import is on the clock (it takes far more than this)
        assert run["eviction"]["files"] > 1000 and run["eviction"]["failed_files"] < run["eviction"]["files"]
    assert record["config"]["speed_path"]["source"] in ("fixed", "given", "cached", "measured")
