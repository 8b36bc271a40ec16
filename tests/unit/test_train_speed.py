"""The speed path: precision, layout and threads chosen by a short measurement, cached; compile falls back."""

from __future__ import annotations

import pytest
import torch

from kpbench.bench.flops import CpuInfo, cpu_peak_flops
from kpbench.train import TrainConfig, speed
from kpbench.train.speed import Candidate

FP32_CL = Candidate("fp32", True, 2)


@pytest.fixture
def fake_rates(monkeypatch):
    """time_candidates answers from a table (images/s by candidate name) and counts its calls."""
    table: dict[str, float] = {}
    calls: list[list[str]] = []

    def timed(model, batch_size, candidates):
        calls.append([c.name for c in candidates])
        return {c: table.get(c.name, 100.0) for c in candidates}

    monkeypatch.setattr(speed, "time_candidates", timed)
    monkeypatch.setattr(speed, "cpu_bf16_candidate", lambda model: True)
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    return table, calls


def test_bf16_channels_last_is_taken_when_it_is_clearly_faster(fake_rates):
    table, calls = fake_rates
    table.update({"fp32-cl-t2": 100.0, "bf16-cl-t2": 190.0, "fp32-nchw-t2": 70.0, "bf16-nchw-t2": 120.0, "bf16-cl-t1": 110.0})
    path = speed.resolve_speed_path(TrainConfig(time_budget_s=60), "cpu")
    assert (path.precision, path.channels_last, path.threads, path.source) == ("bf16", True, 2, "measured")
    assert "bf16-cl-t2 fastest (190 images/s)" in path.why and "fp32-cl-t2 0.53x" in path.why
    assert calls == [["fp32-cl-t2", "bf16-cl-t2", "fp32-nchw-t2", "bf16-nchw-t2"], ["bf16-cl-t2", "bf16-cl-t1"]]


def test_an_alternative_within_the_margin_leaves_the_default(fake_rates):
    table, _ = fake_rates
    table.update({"fp32-cl-t2": 100.0, "bf16-cl-t2": 104.0})
    path = speed.resolve_speed_path(TrainConfig(time_budget_s=60), "cpu")
    assert (path.precision, path.channels_last, path.threads) == ("fp32", True, 2)


def test_one_measurement_per_machine_network_and_batch_then_the_cache(fake_rates):
    _, calls = fake_rates
    first = speed.resolve_speed_path(TrainConfig(time_budget_s=60), "cpu")
    again = speed.resolve_speed_path(TrainConfig(time_budget_s=30), "cpu")
    other_batch = speed.resolve_speed_path(TrainConfig(time_budget_s=60, batch_size=TrainConfig().batch_size * 2), "cpu")
    assert first.source == "measured" and again.source == "cached" and other_batch.source == "measured"
    assert again.why == first.why and len(calls) == 4


def test_a_measurement_that_fails_trains_the_default_with_one_warning(fake_rates, monkeypatch, capsys):
    def broken(model, batch_size, candidates):
        raise RuntimeError("oneDNN: could not create a primitive")

    monkeypatch.setattr(speed, "time_candidates", broken)
    path = speed.resolve_speed_path(TrainConfig(time_budget_s=60), "cpu")
    err = capsys.readouterr().err
    assert (path.precision, path.channels_last, path.source) == ("fp32", True, "fixed") and "could not create" in path.why
    assert err.count("\n") == 1 and err.startswith("kpbench: warning: the speed path could not be measured")


def test_settings_given_are_not_measured(fake_rates):
    _, calls = fake_rates
    path = speed.resolve_speed_path(TrainConfig(precision="fp32", channels_last=False, threads=1), "cpu")
    assert (path.precision, path.channels_last, path.threads, path.source) == ("fp32", False, 1, "given")
    assert calls == []


def test_a_short_run_or_autotune_off_takes_the_fixed_path_without_measuring(fake_rates, monkeypatch):
    _, calls = fake_rates
    short = speed.resolve_speed_path(TrainConfig(epochs=1), "cpu", planned_steps=3)
    monkeypatch.setenv(speed.AUTOTUNE_ENV, "off")
    off = speed.resolve_speed_path(TrainConfig(time_budget_s=60), "cpu")
    assert (short.source, short.precision, off.source) == ("fixed", "fp32", "fixed")
    assert "short run" in short.why and "KPBENCH_AUTOTUNE=off" in off.why and calls == []


def test_one_of_several_workers_does_not_measure(fake_rates):
    path = speed.resolve_speed_path(TrainConfig(time_budget_s=60), "cpu", threads=1, measure=False)
    assert (path.source, path.threads) == ("fixed", 1) and fake_rates[1] == []


def test_bf16_is_no_candidate_without_native_bf16(monkeypatch):
    import kpbench.train.config as config

    monkeypatch.setattr(config, "cpu_has_native_bf16", lambda: False)
    assert not speed.cpu_bf16_candidate("bncnn")


def test_a_network_not_shown_accurate_in_bf16_is_no_candidate(monkeypatch):
    import kpbench.train.config as config

    monkeypatch.setattr(config, "cpu_has_native_bf16", lambda: True)
    assert speed.cpu_bf16_candidate("bncnn") and not speed.cpu_bf16_candidate("convonly")


def test_a_gpu_run_is_bf16_channels_last_without_measuring(monkeypatch):
    import kpbench.train.config as config

    monkeypatch.setattr(config, "resolve_precision", lambda precision, device, model=None: "bf16")
    path = speed.resolve_speed_path(TrainConfig(), "cuda")
    assert (path.precision, path.channels_last, path.source) == ("bf16", True, "fixed")


def test_the_measurement_times_real_steps_of_the_network(monkeypatch):
    monkeypatch.setattr(speed, "MEASURE_ROUNDS", 1)
    monkeypatch.setattr(speed, "ROUND_S", 0.0)
    monkeypatch.setattr(speed, "WARM_STEPS", 1)
    rates = speed.time_candidates("convonly", 2, [Candidate("fp32", True, 1), Candidate("fp32", False, 1)])
    assert len(rates) == 2 and all(v > 0 for v in rates.values())


def test_a_compile_that_fails_at_its_first_call_trains_eager_with_one_warning(monkeypatch, capsys):
    net = torch.nn.Linear(3, 2)

    def broken(*a, **k):
        raise RuntimeError("InductorError: no C++ compiler found")

    monkeypatch.setattr(torch, "compile", lambda module: broken)
    model = speed.compiled_or_eager(net, True)
    x = torch.ones(1, 3)
    assert torch.equal(model(x), net(x)) and torch.equal(model(x), net(x))
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kpbench: warning: torch.compile is not usable here")
    assert "no C++ compiler" in err and "training eager" in err


def test_compile_is_left_alone_when_not_asked_for():
    net = torch.nn.Linear(3, 2)
    assert speed.compiled_or_eager(net, False) is net


ZEN4 = CpuInfo(vendor="AuthenticAMD", family=25, flags=frozenset({"avx2", "fma", "avx512f", "avx512_bf16"}), cores=2,
               ghz=2.6)
XEON_AMX = CpuInfo(vendor="GenuineIntel", family=6, flags=frozenset({"avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16"}),
                   cores=2, ghz=2.0)


def test_zen4_runs_avx512_on_two_256_bit_fma_pipes():
    peak, note = cpu_peak_flops(ZEN4, "fp32")
    assert peak == pytest.approx(2 * 2.6e9 * 32) and "2 x 256-bit FMA pipes" in note and "assumed" in note


def test_avx512_bf16_doubles_the_fp32_rate_and_amx_tiles_go_further():
    assert cpu_peak_flops(ZEN4, "bf16")[0] == pytest.approx(2 * cpu_peak_flops(ZEN4, "fp32")[0])
    assert cpu_peak_flops(XEON_AMX, "bf16")[0] == pytest.approx(2 * 2.0e9 * 2048)


def test_a_cpu_without_native_bf16_has_fp32_peak_for_bf16():
    avx2 = CpuInfo(vendor="GenuineIntel", family=6, flags=frozenset({"avx2", "fma"}), cores=4, ghz=3.0)
    peak, note = cpu_peak_flops(avx2, "bf16")
    assert peak == pytest.approx(4 * 3e9 * 32) and "no native bf16" in note
