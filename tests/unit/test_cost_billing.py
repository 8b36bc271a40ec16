"""EC2 Linux billing: per second, rounded up, 60-second minimum; rates have no minimum."""

import pytest

from kpbench.cost import billed_s, cost_per_million_images_usd, cost_usd


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, 60), (1, 60), (59, 60), (59.9, 60), (60, 60), (60.2, 61), (61, 61), (3600.001, 3601)],
)
def test_billed_seconds_round_up_to_whole_seconds_with_a_60_second_minimum(seconds, expected):
    assert billed_s(seconds) == expected


def test_float_noise_in_a_sum_of_timings_does_not_add_a_second():
    assert 64.12 + -3.12 > 61  # 61.00000000000001
    assert billed_s(64.12 + -3.12) == 61
    assert billed_s(60.000000000001) == 60


def test_cost_of_a_run_is_billed_seconds_times_the_hourly_price():
    assert cost_usd(59, 3.06) == pytest.approx(60 / 3600 * 3.06)
    assert cost_usd(61, 3.06) == pytest.approx(61 / 3600 * 3.06)
    assert cost_usd(3600, 0.526) == pytest.approx(0.526)


def test_cost_per_million_images_is_the_price_per_second_over_the_rate():
    # 1e6 images at 1000 images/s take 1000 s
    assert cost_per_million_images_usd(1000.0, 3.6) == pytest.approx(1.0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_negative_or_non_finite_times_and_prices_are_refused(bad):
    with pytest.raises(ValueError):
        billed_s(bad)
    with pytest.raises(ValueError):
        cost_usd(10, bad)
