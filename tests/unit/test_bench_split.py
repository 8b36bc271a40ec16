"""The split of a repeat's wall clock: every phase from spawn to exit, what no timer caught, schema versions."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from rich.console import Console

from kpbench.bench import phases
from kpbench.bench.output import print_record
from kpbench.bench.record import SCHEMA, SCHEMA_V1, build_record, init_phases, load_record
from kpbench.cost import compare, load_catalog

FIXTURES = Path(__file__).parents[1] / "fixtures"
V2, V1 = FIXTURES / "record_cpu.json", FIXTURES / "record_cpu_v1.json"
BEFORE = {"interpreter_s": 0.05, "imports_s": 1.7, "device_init_s": 0.01, "data_load_s": 0.3, "train_setup_s": 0.02,
          "autotune_s": 0.0, "model_build_s": 0.4}
TRAINED = {"warmup_s": 0.5, "train_s": 20.0, "eval_s": 1.0, "checkpoint_s": 0.0}


def test_the_split_adds_up_to_the_wall_clock_and_the_rest_is_unattributed():
    split = phases.split_of_repeat(BEFORE, TRAINED, wall_s=23.5, teardown_s=0.3)
    assert list(split) == list(phases.PHASES)
    assert sum(split.values()) == pytest.approx(23.5)
    assert split["unattributed_s"] == pytest.approx(23.5 - 2.48 - 20.0 - 0.3)
    assert split["steady_train_s"] == pytest.approx(20.0 - 0.5 - 1.0)


def test_timers_that_add_up_to_more_than_the_wall_clock_leave_nothing_unattributed():
    split = phases.split_of_repeat(BEFORE, TRAINED, wall_s=10.0, teardown_s=0.3)
    assert split["unattributed_s"] == 0.0


def test_init_is_everything_before_the_first_step_and_train_is_warmup_steady_and_evaluation():
    assert phases.INIT_PHASES == ("interpreter_s", "imports_s", "device_init_s", "data_load_s", "train_setup_s",
                                  "autotune_s", "model_build_s")
    assert phases.TRAIN_PHASES == ("warmup_s", "steady_train_s", "eval_s")


def _runs(unattributed_s: float) -> list[dict]:
    rec = load_record(V2)
    runs = [{**copy.deepcopy(r), "data_load": rec["data_load"]} for r in rec["runs"]]
    runs[1]["phases"]["unattributed_s"] = unattributed_s
    return runs


def _build(runs: list[dict], cold: bool = False) -> dict:
    rec = load_record(V2)
    return build_record(runs, requested=len(runs), warmup=0, label=None, config=rec["config"], machine=rec["machine"],
                        software=rec["software"], flops=rec["flops"], cold=cold)


def test_a_repeat_whose_timers_miss_more_than_2_percent_of_its_wall_clock_is_warned():
    wall = _runs(0.0)[1]["wall_s"]
    quiet, loud = _build(_runs(0.01 * wall)), _build(_runs(0.03 * wall))
    assert not any("in no phase" in w for w in quiet["warnings"])
    assert [w for w in loud["warnings"] if "in no phase" in w] == [
        f"repeat 1: 3.0 % of its {wall:.2f} s wall clock is in no phase (unattributed_s {0.03 * wall:.3f} s)"]


def test_a_record_stores_each_repeats_wall_clock_its_split_and_whether_it_started_cold():
    rec = _build(_runs(0.02), cold=True)
    assert rec["schema"] == SCHEMA and rec["cold"] is True
    assert rec["figures"]["wall_s"]["values"] == [r["wall_s"] for r in rec["runs"]]
    for run in rec["runs"]:
        assert set(run["phases"]) == set(phases.PHASES)
    assert set(rec["phases"]) == set(phases.PHASES)


def test_version_1_records_still_load_with_their_own_phases():
    old = load_record(V1)
    assert old["schema"] == SCHEMA_V1 and "cold" not in old
    assert init_phases(old) == ("imports_s", "device_init_s", "data_load_s", "model_build_s")
    assert init_phases(load_record(V2)) == phases.INIT_PHASES


def test_compare_flags_a_version_1_init_s_against_a_version_2_one():
    comp = compare([load_record(V1), load_record(V2)], load_catalog())
    [flag] = [m for m in comp.config_mismatches if m.field == "init_s"]
    assert "v1 (partial)" in flag.message and "v2 (complete)" in flag.message and "bench that machine again" in flag.message


def test_compare_flags_a_cold_record_against_a_warm_one():
    warm, cold = load_record(V2), copy.deepcopy(load_record(V2))
    cold["cold"], cold["label"] = True, "cold start"
    [flag] = [m for m in compare([warm, cold], load_catalog()).config_mismatches if m.field == "start"]
    assert "cold (cold start)" in flag.message and "warm" in flag.message


def test_records_of_one_version_and_start_are_compared_without_a_flag():
    a, b = load_record(V2), copy.deepcopy(load_record(V2))
    b["label"] = "other"
    assert not [m for m in compare([a, b], load_catalog()).config_mismatches if m.field in ("init_s", "start")]


def test_the_terminal_shows_the_split_its_shares_and_the_wall_clock():
    console = Console(record=True, width=200)
    print_record(load_record(V2), console=console)
    text = console.export_text()
    assert "Split of each repeat's wall clock" in text and "= wall_s" in text
    for name in phases.PHASES:
        assert name in text
    assert "Speed path: fp32, channels-last, 2 threads (measured" in text and "; warm" in text


def test_the_terminal_says_a_version_1_record_has_no_split():
    console = Console(record=True, width=200)
    print_record(load_record(V1), console=console)
    assert "a version-1 Record" in console.export_text()


def test_the_fixture_split_adds_up_to_each_repeats_wall_clock():
    for run in json.loads(V2.read_text())["runs"]:
        assert sum(run["phases"].values()) == pytest.approx(run["wall_s"], abs=1e-3)
