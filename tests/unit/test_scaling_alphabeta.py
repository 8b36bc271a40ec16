"""The α-β ring all-reduce model and its predictions: pure functions, no processes."""

from __future__ import annotations

import math

import pytest

from kpbench.scaling import alphabeta as ab


def test_ring_allreduce_follows_thakur_rabenseifner_gropp():
    # 2(n−1)α + 2(n−1)/n · S · β
    assert ab.ring_allreduce_s(1e6, 4, 1e-5, 1e-9) == pytest.approx(6 * 1e-5 + 1.5 * 1e6 * 1e-9)


def test_one_worker_all_reduces_nothing():
    assert ab.ring_allreduce_s(32e6, 1, 1e-3, 1e-9) == 0.0


def test_busbw_is_algbw_times_two_n_minus_one_over_n():
    assert ab.busbw_bytes_per_s(8e6, 0.01, 4) == pytest.approx(ab.algbw_bytes_per_s(8e6, 0.01) * 1.5)
    assert ab.busbw_bytes_per_s(8e6, 0.01, 2) == pytest.approx(8e8)


def test_fit_recovers_alpha_and_beta_from_exact_timings():
    alpha, beta = 30e-6, 8 / 1e9  # 1 Gbit/s
    points = [(s, n, ab.ring_allreduce_s(s, n, alpha, beta)) for s in (4, 1024, 1 << 16, 1 << 20, 1 << 24) for n in (2, 4)]
    fa, fb = ab.fit_alpha_beta(points)
    assert fa == pytest.approx(alpha, rel=1e-6) and fb == pytest.approx(beta, rel=1e-6)


def test_fit_never_returns_a_negative_latency():
    points = [(1 << 20, 2, 1e-3), (1 << 22, 2, 4.2e-3), (4, 2, 1e-9)]
    alpha, beta = ab.fit_alpha_beta(points)
    assert alpha >= 0 and beta > 0


def test_fit_needs_two_multi_worker_points():
    with pytest.raises(ValueError):
        ab.fit_alpha_beta([(1024, 2, 1e-4), (1024, 1, 1e-5)])


def test_backward_hides_communication_that_fits_in_its_window():
    # one bucket ready at 0, backward goes on for 100 ms more: a 50 ms all-reduce is hidden
    beta = 0.05 / 1e6  # 1 MB in 50 ms at n=2
    assert ab.exposed_comm_s([0.0, 0.1], [1e6, 0.0], 2, 0.0, beta) == pytest.approx(0.0)


def test_buckets_queue_behind_each_other():
    # bucket 0 takes 0.3 s from t=0; bucket 1 is ready at 0.1 but waits until 0.3, then takes 0.1: 0.3 exposed
    beta = 0.3 / 1e6
    assert ab.exposed_comm_s([0.0, 0.1], [1e6, 1e6 / 3], 2, 0.0, beta) == pytest.approx(0.3)


def _profile(compute_s=0.1, gradient_bytes=32e6):
    return ab.Profile(compute_s=compute_s, ready_offsets_s=(0.0, 0.02), batch=32, bucket_bytes=(gradient_bytes, 0.0))


def test_fast_link_scales_almost_linearly():
    s = ab.scaling(_profile(), 8, ab.Link("NVLink", 2400, 5e-6))
    assert s["speedup"] == pytest.approx(8, rel=0.05)


def test_seed_sized_gradients_on_gigabit_ethernet_gain_little():
    one_gbe = ab.Link("1 GbE", 1, 50e-6)
    assert ab.scaling(_profile(), 2, one_gbe)["speedup"] < 1.0  # 32 MB at 1 Gbit/s ≈ 0.26 s per 0.1 s step


def test_fixed_global_batch_splits_the_work():
    link = ab.Link("fast", 1e6, 0.0)
    s = ab.scaling(_profile(), 4, link, global_batch=128)
    assert s["step_s"] == pytest.approx(0.1)  # 32 per worker: the profile's own step
    assert s["speedup"] == pytest.approx(4, rel=1e-3)


def test_break_even_nproc_is_none_when_communication_always_loses():
    slow = ab.Link("slow", 0.01, 1e-3)
    assert ab.break_even_nproc(_profile(), slow, global_batch=64, max_n=16) is None


def test_break_even_link_speed_is_where_two_workers_start_to_pay():
    prof = _profile()
    rate = ab.break_even_gbit_per_s(prof, 2)
    assert rate is not None
    below = ab.scaling(prof, 2, ab.Link("", rate * 0.9, 25e-6))["speedup"]
    above = ab.scaling(prof, 2, ab.Link("", rate * 1.1, 25e-6))["speedup"]
    assert below < 1.0 < above


@pytest.mark.parametrize("text,bit_per_s", [("1gbit", 1e9), ("200mbit", 2e8), ("10Gbit/s", 1e10),
                                            ("500kbit", 5e5), ("125mbps", 1e9), ("2.5gbit", 2.5e9)])
def test_link_rates_read_like_tc(text, bit_per_s):
    assert ab.parse_rate_bit_per_s(text) == pytest.approx(bit_per_s)


@pytest.mark.parametrize("text", ["fast", "0mbit", "-1gbit", "", "12"])
def test_bad_link_rates_are_refused(text):
    with pytest.raises(ValueError):
        ab.parse_rate_bit_per_s(text)


def test_link_catalogue_beta_matches_its_rate():
    link = next(x for x in ab.LINKS if x.name == "10 GbE")
    assert link.beta_s_per_byte == pytest.approx(8e-10)
    assert all(not math.isnan(x.alpha_s) for x in ab.LINKS)


def test_one_slow_small_call_does_not_move_the_fit_much():
    alpha, beta = 100e-6, 8 / 1e9
    sizes = (4, 16, 64, 256, 1024, 1 << 18, 1 << 20, 1 << 22, 1 << 24)
    points = [(s, 2, ab.ring_allreduce_s(s, 2, alpha, beta)) for s in sizes]
    points[0] = (4, 2, 0.003)  # a busy machine's hiccup
    fa, fb = ab.fit_alpha_beta(points)
    assert fa == pytest.approx(alpha, rel=0.05) and fb == pytest.approx(beta, rel=0.05)


def test_bursts_below_the_token_bucket_do_not_bend_the_bandwidth():
    alpha, beta = 50e-6, 8 / 1e9
    points = [(s, 2, ab.ring_allreduce_s(s, 2, alpha, beta)) for s in (4, 64, 1024, 1 << 20, 1 << 22)]
    points.append((1 << 16, 2, 60e-6))  # 64 KiB at line rate: inside the bucket's burst
    assert ab.fit_alpha_beta(points)[1] == pytest.approx(beta, rel=1e-6)


@pytest.mark.parametrize("text,parsed", [("none", ("none", 0)), ("bf16", ("bf16", 0)), ("FP16", ("fp16", 0)),
                                         ("powersgd:2", ("powersgd", 2))])
def test_comm_hooks_by_name(text, parsed):
    from kpbench.scaling.hooks import parse_comm_hook

    assert parse_comm_hook(text) == parsed


@pytest.mark.parametrize("text", ["zip", "powersgd", "powersgd:0", "powersgd:x"])
def test_unknown_comm_hooks_are_refused(text):
    from kpbench.scaling.hooks import parse_comm_hook

    with pytest.raises(ValueError, match="powersgd:R"):
        parse_comm_hook(text)
