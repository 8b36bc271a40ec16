"""Property-based: whatever the bytes or keys of model.pt / checkpoint.pt, a reader either accepts
the file or says, in one line naming it, what is wrong; exit 2, no traceback, nothing written.

`make fuzz` runs these with many more examples (HYPOTHESIS_PROFILE=fuzz, tests/hypothesis_profiles.py).
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import hypothesis_profiles  # noqa: F401 - registers and loads the profile
from helpers import one_line_naming, run_kpbench, tiny_cfg
from kpbench.errors import KpbenchError
from kpbench.lock import run_dir_lock
from kpbench.train.checkpoint import prepare_run_dir

values = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6), st.lists(st.integers(0, 3), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.builds(lambda n: torch.zeros(n, dtype=torch.uint8), st.integers(0, 8)),
    st.builds(lambda n: torch.full((n,), float("nan")), st.integers(0, 4)),
)


def _key_paths(state: dict, prefix: tuple = ()) -> list[tuple]:
    """Every key path of the nested dicts (tensors and lists are leaves), a list entry's dict included."""
    paths = []
    for key, value in state.items():
        paths.append(prefix + (key,))
        if isinstance(value, dict):
            paths.extend(_key_paths(value, prefix + (key,)))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            paths.extend(_key_paths(value[0], prefix + (key, 0)))
    return paths


def _mutate(state: dict, path: tuple, value, drop: bool) -> None:  # noqa: ANN001
    node = state
    for key in path[:-1]:
        node = node[key]
    if drop:
        del node[path[-1]]
    else:
        node[path[-1]] = value


@st.composite
def damaged_bytes(draw, original: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "garbage"]))
    if kind == "truncate":
        return original[: draw(st.integers(0, len(original) - 1))]
    if kind == "garbage":
        return draw(st.binary(max_size=2048))
    data = bytearray(original)
    for _ in range(draw(st.integers(1, 8))):
        data[draw(st.integers(0, len(data) - 1))] ^= draw(st.integers(1, 255))
    return bytes(data)


@pytest.fixture(scope="module")
def model_bytes(trained_run) -> bytes:
    return (trained_run[0] / "model.pt").read_bytes()


@pytest.fixture(scope="module")
def checkpoint_state(trained_run) -> dict:
    return torch.load(trained_run[0] / "checkpoint.pt", weights_only=True)


def _predict(model_pt: Path, data: Path, out: Path) -> tuple[int, str]:
    code, _, err = run_kpbench("predict", "--weights", model_pt, "--data", data / "test.csv", "--lookup",
                               data / "IdLookupTable.csv", "--out", out, "--no-progress")
    return code, err


@given(data=st.data())
def test_predict_with_damaged_model_bytes_fails_in_one_line_or_works(trained_run, model_bytes, tmp_path, data):
    model_pt, out = tmp_path / "model.pt", tmp_path / "sub" / "submission.csv"
    shutil.rmtree(out.parent, ignore_errors=True)
    damaged = data.draw(damaged_bytes(model_bytes))
    model_pt.write_bytes(damaged)
    code, err = _predict(model_pt, trained_run[1], out)
    assert code in (0, 2), err
    if code == 2:
        assert one_line_naming(err, model_pt) and not out.parent.exists()
    if len(damaged) < len(model_bytes) and damaged == model_bytes[: len(damaged)]:
        assert code == 2  # a truncated file never loads


@given(data=st.data())
def test_a_model_file_missing_or_mistyping_a_key_is_refused_naming_it_or_predicts(trained_run, tmp_path, data):
    import numpy as np

    from kpbench.train import load_predictor

    state = torch.load(trained_run[0] / "model.pt", weights_only=True)
    path = data.draw(st.sampled_from(_key_paths(state)))
    _mutate(state, path, data.draw(values), drop=data.draw(st.booleans()))
    model_pt = tmp_path / "model.pt"
    torch.save(state, model_pt)
    try:
        predictor = load_predictor(model_pt, device="cpu")
    except KpbenchError as e:
        assert str(e).startswith(f"{model_pt}: ") and "\n" not in str(e)
        return
    assert predictor.predict(np.zeros((2, 96, 96), dtype=np.uint8)).shape == (2, 15, 2)


def _resume_check(run: Path, trained_run) -> None:
    """What resume reads first: prepare_run_dir on the (damaged) checkpoint of the trained run."""
    from kpbench.data import load_faces

    faces = load_faces(trained_run[1] / "training.csv", progress=False)
    data_info = {"source": faces.source, "sha256": faces.sha256, "rows": len(faces), "missing": "mask"}
    with run_dir_lock(run):
        prepare_run_dir(run, tiny_cfg(), data_info, resume=True)


@given(data=st.data())
def test_resume_from_a_checkpoint_missing_or_mistyping_a_key_is_refused_naming_it(trained_run, checkpoint_state, tmp_path, data):
    state = torch.load(io.BytesIO(_saved(checkpoint_state)), weights_only=True)  # a private copy
    path = data.draw(st.sampled_from(_key_paths(state)))
    _mutate(state, path, data.draw(values), drop=data.draw(st.booleans()))
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    torch.save(state, run / "checkpoint.pt")
    try:
        _resume_check(run, trained_run)
    except KpbenchError as e:
        assert str(run / "checkpoint.pt") in str(e) or str(run) in str(e)


@given(data=st.data())
def test_resume_from_damaged_checkpoint_bytes_is_refused_naming_it(trained_run, checkpoint_state, tmp_path, data):
    original = _saved(checkpoint_state)
    run = tmp_path / "run"
    run.mkdir(exist_ok=True)
    (run / "checkpoint.pt").write_bytes(data.draw(damaged_bytes(original)))
    try:
        _resume_check(run, trained_run)
    except KpbenchError as e:
        assert str(run) in str(e) and "\n" not in str(e)


_SAVED: dict[int, bytes] = {}


def _saved(state: dict) -> bytes:
    if id(state) not in _SAVED:
        buf = io.BytesIO()
        torch.save(state, buf)
        _SAVED[id(state)] = buf.getvalue()
    return _SAVED[id(state)]
