"""Statistics over repeats: the Figure, the olympic mean, the spread warning, ratios."""

from __future__ import annotations

import math

import pytest

from kpbench.bench.stats import figure, olympic_mean, ratio, spread_warning


def test_figure_summarises_values_in_repeat_order():
    fig = figure([3.0, 1.0, 2.0], "s")
    assert fig["values"] == [3.0, 1.0, 2.0]
    assert (fig["median"], fig["min"], fig["max"], fig["mean"]) == (2.0, 1.0, 3.0, 2.0)
    assert fig["stdev"] == pytest.approx(1.0)
    assert fig["cv"] == pytest.approx(0.5)
    assert fig["unit"] == "s"


def test_median_of_an_even_count_is_the_middle_pair_mean():
    assert figure([1.0, 2.0, 3.0, 10.0], "s")["median"] == 2.5


def test_single_value_has_zero_spread():
    fig = figure([4.2], "images/s")
    assert fig["stdev"] == 0.0 and fig["cv"] == 0.0 and fig["olympic_mean"] is None


def test_olympic_mean_is_null_below_five_repeats():
    assert olympic_mean([1.0, 2.0, 3.0, 4.0]) is None
    assert figure([1.0, 2.0, 3.0, 4.0], "s")["olympic_mean"] is None


def test_olympic_mean_drops_the_fastest_and_the_slowest_repeat():
    assert olympic_mean([100.0, 2.0, 3.0, 4.0, 0.0]) == pytest.approx(3.0)


def test_spread_warning_when_cv_exceeds_five_percent():
    noisy = figure([1.0, 1.2, 0.8], "s")
    assert "> 5 %" in spread_warning("train_s", noisy)
    assert spread_warning("train_s", noisy).startswith("train_s:")


def test_no_spread_warning_for_steady_or_single_values():
    assert spread_warning("train_s", figure([1.0, 1.01, 0.99], "s")) is None
    assert spread_warning("train_s", figure([1.0], "s")) is None


def test_ratio_propagates_relative_spread():
    a = {"mean": 3.0, "stdev": 0.3}
    b = {"mean": 2.0, "stdev": 0.0}
    r, sigma = ratio(a, b)
    assert r == pytest.approx(1.5) and sigma == pytest.approx(0.15)
    r, sigma = ratio({"mean": 2.0, "stdev": 0.2}, {"mean": 1.0, "stdev": 0.1})
    assert sigma == pytest.approx(2.0 * math.sqrt(0.02))


def test_empty_figure_is_refused():
    with pytest.raises(ValueError):
        figure([], "s")
