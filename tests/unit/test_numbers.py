"""Numbers that are not numbers: every number from an option, a variable or a file is finite and in range.

`--max-cost nan` once accepted any plan and `--max-minutes inf` was a traceback. Every float option of
every command refuses nan and inf where it is parsed (one line, exit 2); the areas check their own
ranges; numbers in files (catalog, plan, launch state, Records) are checked by their readers.
"""

from __future__ import annotations

import math

import pytest

from fakes import fake_wheel  # noqa: E402
from helpers import run_kpbench  # noqa: E402
from kpbench.cloud import PlanConfig, Workload, make_plan  # noqa: E402
from kpbench.errors import KpbenchError  # noqa: E402


def float_options() -> list[tuple[list[str], str]]:
    """(command path, option) of every float option of every kpbench command, read from the functions."""
    import typing

    import typer

    from kpbench.cli import _register, app

    _register()
    found = []

    def walk(cmd, path):
        hints = typing.get_type_hints(cmd.callback) if cmd.callback else {}
        for p in cmd.params:
            if float in (hints.get(p.name), *typing.get_args(hints.get(p.name))) and p.opts[0].startswith("--"):
                found.append((path, p.opts[0]))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, path + [name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_float_option_of_every_command_refuses_nan_and_inf():
    options = float_options()
    assert len(options) >= 10  # train, bench, compare, cloud plan, dist scale, demo …
    for path, option in options:
        for bad in ("nan", "inf", "-inf", "1e999"):
            code, _, err = run_kpbench(*[*path, option, bad])
            assert code == 2 and err.count("\n") == 1 and option in err, (path, option, bad, err)


@pytest.mark.parametrize("args", [
    ["--max-cost", "nan"], ["--max-cost", "inf"], ["--max-cost", "-1"],
    ["--max-minutes", "inf"], ["--max-minutes", "nan"], ["--max-minutes", "0"], ["--max-minutes", "1e9"],
    ["--repeats", "0"], ["--repeats", "100000000"], ["--nodes", "100000"], ["--epochs", "0"],
])
def test_cloud_plan_refuses_a_budget_or_count_that_is_not_a_sane_number(tmp_path, args):
    code, _, err = run_kpbench(*["cloud", "plan", "--instances", "g4dn.xlarge", "--wheel", str(fake_wheel(tmp_path)),
                            "--out", str(tmp_path / "plan"), *args])
    assert code == 2 and err.startswith("kpbench: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and not (tmp_path / "plan").exists()


@pytest.mark.parametrize("field,value", [("max_cost_usd", math.nan), ("max_cost_usd", math.inf),
                                         ("max_cost_usd", -1.0)])
def test_make_plan_refuses_a_budget_that_is_not_a_number(field, value):
    with pytest.raises(KpbenchError, match="--max-cost"):
        make_plan(PlanConfig(["g4dn.xlarge"], **{field: value}))


@pytest.mark.parametrize("minutes", [math.inf, math.nan, -1.0, 0.0])
def test_make_plan_refuses_a_cluster_life_that_is_not_a_number(minutes):
    with pytest.raises(KpbenchError, match="--max-minutes"):
        make_plan(PlanConfig(["g4dn.xlarge"], Workload(max_minutes=minutes)))


@pytest.mark.parametrize("argv", [
    ["bench", "--time-budget", "nan"], ["bench", "--price-per-hour", "nan"], ["bench", "--target-rmse", "inf"],
    ["compare", "--price-per-hour", "nan"], ["train", "--lr", "nan"], ["train", "--val-frac", "nan"],
    ["train", "--time-budget", "inf"],
])
def test_nan_and_inf_options_are_one_line(tmp_path, argv):
    code, _, err = run_kpbench(*[*argv, *(["--out", str(tmp_path / "o")] if argv[0] != "compare" else []),
                            *(["x.json"] if argv[0] == "compare" else [])])
    assert code == 2 and err.count("\n") == 1 and argv[1] in err, err


@pytest.mark.parametrize("spec", ["synthetic:99999999999", "synthetic:0", "synthetic:5:-1", "synthetic:5:99999999999"])
def test_synthetic_rows_and_seed_out_of_range_are_refused(spec):
    from kpbench.data import load_faces

    with pytest.raises(KpbenchError, match="synthetic"):
        load_faces(spec)


@pytest.mark.parametrize("value", ["abc", "-5", "0", "inf", "1e3", ""])
def test_the_csv_size_limit_variable_is_a_whole_number_of_bytes(monkeypatch, value):
    from kpbench.data.kaggle import DEFAULT_MAX_CSV_BYTES, max_csv_bytes

    monkeypatch.setenv("KPBENCH_MAX_CSV_BYTES", value)
    if value == "":
        assert max_csv_bytes() == DEFAULT_MAX_CSV_BYTES
    else:
        with pytest.raises(KpbenchError, match="KPBENCH_MAX_CSV_BYTES"):
            max_csv_bytes()


@pytest.mark.parametrize("field,value", [("lr", math.inf), ("lr", math.nan), ("seed", 2**70), ("batch_size", 10**12),
                                         ("time_budget_s", math.inf), ("epochs", 10**12)])
def test_a_training_config_refuses_a_number_no_run_could_use(field, value):
    from dataclasses import replace

    from kpbench.train import TrainConfig

    with pytest.raises(KpbenchError, match=field):
        replace(TrainConfig(), **{field: value}).validate()


def test_train_refuses_a_seed_torch_cannot_take(tmp_path):
    code, _, err = run_kpbench(*["train", "--data", "synthetic:64", "--seed", str(2**70), "--out", str(tmp_path / "r")])
    assert code == 2 and err.count("\n") == 1 and "seed" in err and "Traceback" not in err
