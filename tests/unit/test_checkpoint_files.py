"""model.pt and checkpoint.pt read back damaged: one line naming the file, exit 2, nothing written.

The property-based versions of these (random bytes, random keys) are in test_checkpoint_fuzz.py;
this file holds the named cases. The trained run they damage copies of is conftest.py's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch

from helpers import one_line_naming, run_kpbench, tiny_cfg
from kpbench.errors import KpbenchError
from kpbench.train import load_predictor
from kpbench.train.checkpoint import load_checkpoint


def resave(path: Path, change) -> None:  # noqa: ANN001 - change(state) edits the dict in place
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)


def evaluate(model_pt: Path, data: Path):
    return run_kpbench("evaluate", "--weights", model_pt, "--data", data / "training.csv", "--json", "--no-progress")


def test_zero_byte_model_file_is_one_line_naming_it(trained_run, tmp_path):
    (tmp_path / "model.pt").write_bytes(b"")
    code, _, err = evaluate(tmp_path / "model.pt", trained_run[1])
    assert code == 2 and one_line_naming(err, tmp_path / "model.pt") and "empty" in err


def test_truncated_model_file_is_one_line_naming_it(trained_run, run_copy):
    data = (run_copy / "model.pt").read_bytes()
    (run_copy / "model.pt").write_bytes(data[: len(data) // 2])
    code, _, err = evaluate(run_copy / "model.pt", trained_run[1])
    assert code == 2 and one_line_naming(err, run_copy / "model.pt") and "not a readable model file" in err


@pytest.mark.parametrize("key", ["normalisation", "state_dict", "model_name", "format"])
def test_model_file_missing_a_key_names_the_file_and_the_key(trained_run, run_copy, key):
    resave(run_copy / "model.pt", lambda s: s.pop(key))
    code, _, err = evaluate(run_copy / "model.pt", trained_run[1])
    assert code == 2 and one_line_naming(err, run_copy / "model.pt")
    assert key in err or "not a kpbench model file" in err


def test_model_file_with_a_key_of_the_wrong_type_names_it(trained_run, run_copy):
    resave(run_copy / "model.pt", lambda s: s.__setitem__("normalisation", [1.0, 2.0]))
    code, _, err = evaluate(run_copy / "model.pt", trained_run[1])
    assert code == 2 and one_line_naming(err, run_copy / "model.pt") and "'normalisation' is a list" in err


def _poison(state: dict) -> None:
    first = next(k for k, v in state["state_dict"].items() if v.is_floating_point())
    state["state_dict"][first] = torch.full_like(state["state_dict"][first], float("nan"))


def test_nan_weights_make_evaluate_json_an_error_never_nan(trained_run, run_copy):
    resave(run_copy / "model.pt", _poison)
    code, out, err = evaluate(run_copy / "model.pt", trained_run[1])
    assert code == 2 and out == "" and one_line_naming(err, run_copy / "model.pt") and "NaN" in err


def test_predict_with_nan_weights_names_the_model_file_and_writes_nothing(trained_run, run_copy, tmp_path):
    resave(run_copy / "model.pt", _poison)
    data = trained_run[1]
    sub = tmp_path / "out" / "submission.csv"
    code, _, err = run_kpbench("predict", "--weights", run_copy / "model.pt", "--data", data / "test.csv",
                               "--lookup", data / "IdLookupTable.csv", "--out", sub, "--no-progress")
    assert code == 2 and one_line_naming(err, run_copy / "model.pt")
    assert not sub.parent.exists()


def test_evaluate_json_is_strict_json(trained_run):
    run, data = trained_run
    code, out, err = evaluate(run / "model.pt", data)
    assert code == 0, err
    json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} is not JSON"))


def test_old_model_spelling_still_works_with_a_deprecation_note(trained_run):
    run, data = trained_run
    code, out, err = run_kpbench("evaluate", "--model", run / "model.pt", "--data", data / "training.csv", "--json")
    assert code == 0 and json.loads(out)["rows"] == 64
    assert "deprecated" in err and "--weights" in err


def test_weights_given_twice_or_not_at_all_is_a_one_line_error(trained_run):
    run, data = trained_run
    code, _, err = run_kpbench("evaluate", "--weights", run, "--model", run, "--data", data / "training.csv")
    assert code == 2 and err.count("\n") == 1 and "once" in err
    code, _, err = run_kpbench("evaluate", "--data", data / "training.csv")
    assert code == 2 and err.count("\n") == 1 and "--weights" in err


def test_weights_may_name_the_run_directory(trained_run):
    predictor = load_predictor(trained_run[0], device="cpu")
    assert predictor.predict(torch.zeros(2, 96, 96, dtype=torch.uint8).numpy()).shape == (2, 15, 2)


def test_zero_byte_checkpoint_on_resume_is_one_line_and_leaves_the_directory_as_it_was(run_copy, trained_run):
    (run_copy / "checkpoint.pt").write_bytes(b"")
    before = sorted(p.name for p in run_copy.iterdir())
    code, _, err = run_kpbench("train", "--data", trained_run[1] / "training.csv", "--out", run_copy, "--epochs", "1",
                               "--batch-size", "16", "--device", "cpu", "--precision", "fp32", "--resume", "--no-progress")
    assert code == 2 and one_line_naming(err, run_copy / "checkpoint.pt") and "--force" in err
    assert sorted(p.name for p in run_copy.iterdir()) == before


@pytest.mark.parametrize("key", ["rng", "normalisation", "history", "scheduler", "model", "optimizer"])
def test_checkpoint_missing_a_key_names_the_file_and_the_key(run_copy, key):
    resave(run_copy / "checkpoint.pt", lambda s: s.pop(key))
    with pytest.raises(KpbenchError, match=rf"checkpoint.pt: damaged checkpoint: no '{key}'"):
        load_checkpoint(run_copy / "checkpoint.pt")


@pytest.mark.parametrize("path, value, expected", [
    (("rng", "torch"), "abc", "'rng.torch' is a str, expected a tensor"),
    (("rng", "torch"), torch.zeros(3, dtype=torch.uint8), "'rng.torch' is not a random-number state"),
    (("scheduler", "step"), 1.5, "'scheduler.step' is a float, expected an integer"),
    (("history",), {"epoch": 1}, "'history' is a dict, expected a list"),
    (("normalisation", "pixel_std"), 0.0, "normalisation pixel_mean="),
    (("epoch",), 7, "epoch 7 but 1 epochs of history"),
])
def test_checkpoint_with_a_wrong_value_names_the_file_and_the_key(run_copy, path, value, expected):
    def change(state: dict) -> None:
        node = state
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    resave(run_copy / "checkpoint.pt", change)
    with pytest.raises(KpbenchError, match="checkpoint.pt: ") as e:
        load_checkpoint(run_copy / "checkpoint.pt")
    assert expected in str(e.value)


def test_checkpoint_with_nan_weights_is_not_resumed(run_copy):
    resave(run_copy / "checkpoint.pt", lambda s: _poison({"state_dict": s["model"]}))
    with pytest.raises(KpbenchError, match="NaN or infinity"):
        load_checkpoint(run_copy / "checkpoint.pt")


def test_a_model_file_is_not_a_checkpoint(run_copy):
    shutil.copy(run_copy / "model.pt", run_copy / "checkpoint.pt")
    with pytest.raises(KpbenchError, match="format 'kpbench.model/1', expected kpbench.checkpoint/1"):
        load_checkpoint(run_copy / "checkpoint.pt")


def test_a_checkpoint_config_holding_a_tensor_is_another_run_not_a_crash(run_copy, trained_run):
    from kpbench.data import load_faces
    from kpbench.lock import run_dir_lock
    from kpbench.train.checkpoint import prepare_run_dir

    resave(run_copy / "checkpoint.pt", lambda s: s["config"].__setitem__("lr", torch.zeros(3)))
    faces = load_faces(trained_run[1] / "training.csv", progress=False)
    info = {"sha256": faces.sha256}
    with run_dir_lock(run_copy), pytest.raises(KpbenchError, match=r"holds another run \(differs in lr tensor"):
        prepare_run_dir(run_copy, tiny_cfg(), info, resume=True)
