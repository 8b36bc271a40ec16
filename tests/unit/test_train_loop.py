"""The training loop: outputs, resume, run-directory rules, stopping rules."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import torch

from kpbench.errors import Interrupted, KpbenchError
from kpbench.train import TrainConfig, train


def _cfg(**kw) -> TrainConfig:
    base = dict(model="bncnn", epochs=2, batch_size=16, val_frac=0.25, device="cpu", precision="fp32", eval_batch_size=64)
    return TrainConfig(**(base | kw))


def _weights(model_pt: Path) -> dict:
    return torch.load(model_pt, weights_only=True)["state_dict"]


def test_train_writes_every_output_of_a_run(synthetic_faces, tmp_path):
    events = []
    result = train(synthetic_faces, _cfg(), out_dir=tmp_path / "run", progress=False,
                   on_event=lambda name, fields: events.append(name))
    for name in ("model.pt", "checkpoint.pt", "metrics.json", "model_summary.md", "curves.png", "faces.png", "keypoint_error.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0, name
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["config"]["model"] == "bncnn" and metrics["data"]["rows"] == 64
    assert [h["epoch"] for h in metrics["history"]] == [1, 2]
    assert set(metrics["history"][0]) >= {"train_loss", "val_rmse_px", "val_rmse_per_keypoint_px", "epoch_s", "wall_time"}
    assert metrics["final_val_rmse_px"] == result.final_val_rmse_px > 0
    assert len(metrics["val_rmse_per_keypoint_px"]) == 15 and metrics["model_summary"]["params"] > 0
    assert events == ["epoch_start", "epoch_stop", "eval_accuracy"] * 2
    assert result.images_seen == 2 * (48 // 16) * 16 and result.train_s >= result.eval_s > 0


def test_resume_ends_where_an_uninterrupted_run_ends(synthetic_faces, tmp_path):
    # a constant schedule: a 1-epoch run extended to 2 is the same run as 2 epochs straight
    whole = train(synthetic_faces, _cfg(schedule="constant"), out_dir=tmp_path / "whole", progress=False, pictures=False)
    train(synthetic_faces, _cfg(schedule="constant", epochs=1), out_dir=tmp_path / "split", progress=False, pictures=False)
    resumed = train(synthetic_faces, _cfg(schedule="constant"), out_dir=tmp_path / "split", resume=True, progress=False, pictures=False)
    a, b = _weights(tmp_path / "whole/model.pt"), _weights(tmp_path / "split/model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert [h["val_rmse_px"] for h in resumed.history] == [h["val_rmse_px"] for h in whole.history]


def test_interrupted_run_resumes_to_the_same_weights(synthetic_faces, tmp_path):
    train(synthetic_faces, _cfg(), out_dir=tmp_path / "whole", progress=False, pictures=False)

    def interrupt(name, fields):
        if name == "eval_accuracy" and fields["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(synthetic_faces, _cfg(), out_dir=tmp_path / "cut", progress=False, pictures=False, on_event=interrupt)
    assert not (tmp_path / "cut/model.pt").exists()
    train(synthetic_faces, _cfg(), out_dir=tmp_path / "cut", resume=True, progress=False, pictures=False)
    a, b = _weights(tmp_path / "whole/model.pt"), _weights(tmp_path / "cut/model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_out_dir_holding_another_run_is_refused_and_left_untouched(synthetic_faces, tmp_path):
    out = tmp_path / "run"
    train(synthetic_faces, _cfg(epochs=1), out_dir=out, progress=False, pictures=False)
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    for resume in (False, True):
        with pytest.raises(KpbenchError, match=r"holds another run \(differs in lr"):
            train(synthetic_faces, _cfg(epochs=1, lr=0.1), out_dir=out, resume=resume, progress=False, pictures=False)
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before


def test_same_run_again_without_resume_asks_for_resume(synthetic_faces, tmp_path):
    train(synthetic_faces, _cfg(epochs=1), out_dir=tmp_path, progress=False, pictures=False)
    with pytest.raises(KpbenchError, match="already holds this run .finished.; pass --resume"):
        train(synthetic_faces, _cfg(epochs=1), out_dir=tmp_path, progress=False, pictures=False)


def test_resume_of_a_finished_run_trains_no_more(synthetic_faces, tmp_path):
    first = train(synthetic_faces, _cfg(epochs=1, batch_size=8), out_dir=tmp_path, progress=False, pictures=False)  # 6 steps: past warm-up
    again = train(synthetic_faces, _cfg(epochs=1, batch_size=8), out_dir=tmp_path, resume=True, progress=False, pictures=False)
    assert again.history == first.history
    # this process trained nothing: the timings of the process that did are kept, not zeroed
    assert (again.warmup_s, again.steady_images_per_s) == (first.warmup_s, first.steady_images_per_s)
    assert first.warmup_s > 0 and again.checkpoint_s > 0
    # a target given on resume is judged against the history, not the stored (absent) value
    hit = train(synthetic_faces, _cfg(epochs=1, batch_size=8, target_rmse_px=1e6), out_dir=tmp_path, resume=True,
                progress=False, pictures=False)
    assert hit.time_to_target_s == first.history[0]["elapsed_s"]


def test_resume_on_another_device_reseeds_the_generator(synthetic_faces, tmp_path):
    train(synthetic_faces, _cfg(epochs=1), out_dir=tmp_path, progress=False, pictures=False)
    ckpt = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    # a CUDA generator's state: another size than the CPU one, which set_state would refuse
    ckpt["rng"] |= {"generator": torch.zeros(16, dtype=torch.uint8), "generator_device": "cuda"}
    torch.save(ckpt, tmp_path / "checkpoint.pt")
    resumed = train(synthetic_faces, _cfg(epochs=2), out_dir=tmp_path, resume=True, progress=False, pictures=False)
    assert len(resumed.history) == 2


def test_resume_without_a_checkpoint_is_an_error(synthetic_faces, tmp_path):
    with pytest.raises(KpbenchError, match="no checkpoint.pt to resume from"):
        train(synthetic_faces, _cfg(), out_dir=tmp_path / "empty", resume=True, progress=False, pictures=False)


def test_corrupt_checkpoint_is_a_one_line_error(synthetic_faces, tmp_path):
    (tmp_path / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(KpbenchError, match="checkpoint.pt: not a readable checkpoint"):
        train(synthetic_faces, _cfg(), out_dir=tmp_path, resume=True, progress=False, pictures=False)


def test_checkpoint_of_another_model_is_refused(synthetic_faces, tmp_path):
    train(synthetic_faces, _cfg(epochs=1), out_dir=tmp_path, progress=False, pictures=False)
    with pytest.raises(KpbenchError, match="differs in model 'bncnn'→'seed'"):
        train(synthetic_faces, _cfg(epochs=1, model="seed"), out_dir=tmp_path, resume=True, progress=False, pictures=False)


class _FakeClock:
    """A clock that advances a fixed step per reading: the budget rule, free of the machine's load."""

    def __init__(self, step_s: float) -> None:
        self.t, self.step_s = 0.0, step_s

    def __call__(self) -> float:
        self.t += self.step_s
        return self.t


def test_time_budget_stops_training_within_the_budget(synthetic_faces, monkeypatch):
    reading_s = 0.03
    monkeypatch.setattr("kpbench.train.clock.now", _FakeClock(reading_s))
    result = train(synthetic_faces, _cfg(epochs=None, time_budget_s=1.5, batch_size=8), progress=False)
    assert len(result.history) > 1  # several epochs fit: the budget, not an epoch count, ended the run
    # no step starts once the budget (minus the last evaluation) is spent: the overshoot is one reading
    last = result.history[-1]
    assert result.train_s <= 1.5 + last["eval_s"] + reading_s + 1e-9
    assert result.history[-2]["elapsed_s"] + result.history[-2]["eval_s"] < 1.5


def test_target_rmse_stops_and_records_when_it_was_reached(synthetic_faces):
    result = train(synthetic_faces, _cfg(epochs=5, target_rmse_px=1000.0), progress=False)
    assert len(result.history) == 1 and result.time_to_target_s == pytest.approx(result.train_s)


def test_no_labels_or_bad_values_are_one_line_errors(synthetic_faces):
    with pytest.raises(KpbenchError, match="optimizer 'lion' is not one of"):
        train(synthetic_faces, _cfg(optimizer="lion"), progress=False)
    with pytest.raises(KpbenchError, match="has no keypoint labels"):
        train(synthetic_faces.subset(slice(None)).__class__(images=synthetic_faces.images, keypoints=None), _cfg(), progress=False)


@pytest.mark.parametrize("missing", ["ffill", "drop"])
def test_missing_strategies_train(synthetic_faces, missing):
    result = train(synthetic_faces, _cfg(epochs=1, missing=missing, batch_size=8), progress=False)
    assert result.data["missing"] == missing and result.history


def _signal_at_step(monkeypatch, step: int, signum: int = signal.SIGTERM) -> None:
    """Sends ``signum`` to this process once, from inside training step number ``step`` (1-based, whole run)."""
    import kpbench.train.loop as loop

    real, calls = loop._train_step, []

    def step_then_signal(*args, **kwargs):
        calls.append(1)
        if len(calls) == step:
            signal.raise_signal(signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_step", step_then_signal)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_epoch_checkpoints_that_step_and_resumes_bit_identically(synthetic_faces, tmp_path, monkeypatch, signum):
    cfg = _cfg(epochs=2, batch_size=8)  # 6 steps an epoch: step 8 lies inside epoch 2
    train(synthetic_faces, cfg, out_dir=tmp_path / "whole", progress=False, pictures=False)
    _signal_at_step(monkeypatch, 8, signum)
    with pytest.raises(Interrupted, match="after step 2 of 6; .*checkpoint.pt written: .*--resume") as stopped:
        train(synthetic_faces, cfg, out_dir=tmp_path / "cut", progress=False, pictures=False)
    assert stopped.value.exit_code == 128 + signum and len(str(stopped.value).splitlines()) == 1
    assert not (tmp_path / "cut/model.pt").exists()
    assert torch.load(tmp_path / "cut/checkpoint.pt", weights_only=True)["position"]["next_step"] == 2
    monkeypatch.undo()
    resumed = train(synthetic_faces, cfg, out_dir=tmp_path / "cut", resume=True, progress=False, pictures=False)
    a, b = _weights(tmp_path / "whole/model.pt"), _weights(tmp_path / "cut/model.pt")
    assert all(torch.equal(a[k], b[k]) for k in a)
    whole = json.loads((tmp_path / "whole/metrics.json").read_text())
    assert [h["val_rmse_px"] for h in resumed.history] == [h["val_rmse_px"] for h in whole["history"]]
    assert [h["train_loss"] for h in resumed.history] == [h["train_loss"] for h in whole["history"]]


def test_signal_handlers_are_restored_after_training(synthetic_faces):
    before = signal.getsignal(signal.SIGTERM)
    train(synthetic_faces, _cfg(epochs=1), progress=False)
    assert signal.getsignal(signal.SIGTERM) is before
