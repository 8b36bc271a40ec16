"""The step model of a shaped link from unshaped measurements: backward and the transfers share a worker's cores."""

from __future__ import annotations

import pytest

from kpbench.scaling import alphabeta as ab
from kpbench.scaling.analysis import shaped_check

LOOPBACK = (50e-6, 0.8e-9)  # α, β of an unshaped link: the CPUs alone limit it
GBIT = (60e-6, 8 / 0.957e9)  # a 1 Gbit/s tbf link as its microbenchmark sees it
SEED_BUCKETS = [31e6, 0.3e6]  # the dense layer's gradient is handed over first, the convolutions' after it


def test_one_bucket_handed_over_at_the_end_of_backward_is_all_exposed():
    p = ab.shaped_step_s(0.070, [0.0], [1.8e6], 2, 1, LOOPBACK, GBIT)
    assert p["window_s"] == 0.0 and p["exposed_s"] == pytest.approx(ab.ring_allreduce_s(1.8e6, 2, *GBIT))
    assert p["step_s"] == pytest.approx(0.070 + p["exposed_s"])


def test_predicting_the_unshaped_link_from_itself_gives_back_its_window():
    p = ab.shaped_step_s(0.203, [0.0, 0.105], SEED_BUCKETS, 2, 1, LOOPBACK, LOOPBACK)
    assert p["window_s"] == pytest.approx(0.105, rel=1e-4)


def test_on_a_slow_link_the_window_shrinks_to_the_backward_work_left_and_the_rest_is_exposed():
    p = ab.shaped_step_s(0.203, [0.0, 0.105], SEED_BUCKETS, 2, 1, LOOPBACK, GBIT)
    cpu = ab.ring_allreduce_s(31e6, 2, *LOOPBACK)
    wire = ab.ring_allreduce_s(31e6, 2, *GBIT)
    work = ab.backward_work([0.0, 0.105], [cpu, ab.ring_allreduce_s(0.3e6, 2, *LOOPBACK)], 1)[1]
    # the transfer takes cpu/wire of a core all through the window: backward runs at 1 - cpu/wire
    assert p["window_s"] == pytest.approx(work / (1 - cpu / wire), rel=1e-3)
    assert work < p["window_s"] < 0.105  # less contention than on loopback, more than none
    assert p["exposed_s"] == pytest.approx(wire + ab.ring_allreduce_s(0.3e6, 2, *GBIT) - p["window_s"], rel=1e-3)


def test_a_slower_link_never_predicts_a_faster_step():
    steps = [ab.shaped_step_s(0.2, [0.0, 0.1], SEED_BUCKETS, 2, 1, LOOPBACK, (60e-6, 8 / r))["step_s"]
             for r in (10e9, 1e9, 200e6)]
    assert steps == sorted(steps)


def test_more_threads_per_worker_lose_less_of_the_same_backward_to_a_transfer():
    cpu, wire = [0.025, 0.001], [0.26, 0.01]
    windows = [ab.replay_backward([0.0, 0.08], cpu, wire, threads)[1] for threads in (1, 2, 8)]
    assert 0.08 < windows[2] < windows[1] < windows[0]


def test_a_transfer_that_needs_a_whole_core_gets_half_of_a_one_thread_worker():
    ready, window, exposed = ab.replay_backward([0.0, 0.1], [0.04, 0.0], [0.04, 0.0], 1)
    assert window == pytest.approx(0.14) and exposed == pytest.approx(0.0, abs=1e-9)  # 0.04 of work stolen, all hidden


def test_the_check_compares_the_prediction_with_the_shaped_measurement_and_both_simpler_models():
    loop_row = {"nproc": 2, "threads": 1, "compute_s": 0.203, "ready_offsets_s": [0.0, 0.105], "bucket_bytes": SEED_BUCKETS}
    shaped_row = {"step_s": 0.362, "exposed_comm_s": 0.182, "compute_s": 0.180}
    fit = {"alpha_s": LOOPBACK[0], "beta_s_per_byte": LOOPBACK[1]}
    shaped_fit = {"alpha_s": GBIT[0], "beta_s_per_byte": GBIT[1]}
    c = shaped_check(loop_row, fit, shaped_row, shaped_fit, "none")
    assert c["error"] == pytest.approx((c["predicted_step_s"] - 0.362) / 0.362)
    assert c["serial_step_s"] > c["predicted_step_s"] and abs(c["error"]) < 0.15
    assert shaped_check(loop_row, fit, shaped_row, shaped_fit, "powersgd") is None  # bytes on the wire unknown


@pytest.mark.parametrize("text", ["0.0000001bit", "99999999999999gbit", "7bit", "2tbit", "nanbit", "fast"])
def test_rates_tc_cannot_shape_are_refused(text):
    with pytest.raises(ValueError):
        ab.parse_rate_bit_per_s(text)


@pytest.mark.parametrize("text, bit_per_s", [("8bit", 8.0), ("1tbit", 1e12), ("125mbps", 1e9), ("200Mbit/s", 2e8)])
def test_rates_tc_can_shape_are_read_in_its_spelling(text, bit_per_s):
    assert ab.parse_rate_bit_per_s(text) == bit_per_s
