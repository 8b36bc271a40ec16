"""kpbench train/evaluate/predict/score through the CLI, and the Predictor."""

from __future__ import annotations

import json

import numpy as np
import pytest

from helpers import run_kpbench
from kpbench.data.kaggle import read_submission, write_submission
from kpbench.errors import KpbenchError
from kpbench.train import TrainConfig, load_predictor, score_submission


def test_predict_then_score_round_trip(trained_run, tmp_path):
    run, data = trained_run
    sub = tmp_path / "submission.csv"
    code, out, err = run_kpbench("predict", "--weights", str(run / "model.pt"), "--data", str(data / "test.csv"),
                                 "--lookup", str(data / "IdLookupTable.csv"), "--out", str(sub), "--flip-tta")
    assert code == 0, err
    rows = read_submission(sub)
    assert len(rows) > 0 and all(0.0 <= v <= 96.0 for v in rows.values())
    ids = np.array(sorted(rows))
    write_submission(tmp_path / "solution.csv", ids, np.array([rows[i] + 3.0 for i in ids]))
    code, out, _ = run_kpbench("score", str(sub), str(tmp_path / "solution.csv"), "--json")
    assert code == 0 and json.loads(out)["rmse_px"] == pytest.approx(3.0, abs=1e-3)


def test_score_of_a_submission_with_missing_rows_is_a_one_line_error(tmp_path):
    write_submission(tmp_path / "sub.csv", np.array([1, 2]), np.array([10.0, 20.0]))
    write_submission(tmp_path / "sol.csv", np.array([1, 2, 3]), np.array([10.0, 20.0, 30.0]))
    code, _, err = run_kpbench("score", str(tmp_path / "sub.csv"), str(tmp_path / "sol.csv"))
    assert code == 2 and err.count("\n") == 1 and "1 rows missing (RowId 3)" in err


def test_score_of_a_submission_with_extra_rows_is_an_error():
    with pytest.raises(KpbenchError, match="2 rows not in the solution"):
        score_submission({1: 1.0, 2: 2.0, 3: 3.0}, {1: 1.0})


def test_evaluate_reports_rmse_overall_and_per_keypoint(trained_run):
    run, data = trained_run
    code, out, err = run_kpbench("evaluate", "--weights", str(run / "model.pt"), "--data", str(data / "training.csv"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["rows"] == 64 and report["rmse_px"] > 0 and len(report["rmse_per_keypoint_px"]) == 15


def test_predictor_flip_tta_returns_pixels_in_the_image(trained_run):
    run, data = trained_run
    predictor = load_predictor(run / "model.pt", device="cpu")
    images = np.zeros((3, 96, 96), dtype=np.uint8)
    pred = predictor.predict(images, flip_tta=True)
    assert pred.shape == (3, 15, 2) and np.isfinite(pred).all()
    # a symmetric (blank) image: flip TTA makes the left/right eye predictions mirror images
    left, right = pred[0, 0], pred[0, 1]
    assert left[0] == pytest.approx(96 - right[0], abs=1e-3) and left[1] == pytest.approx(right[1], abs=1e-3)


def test_model_file_that_is_not_a_model_is_a_one_line_error(tmp_path):
    (tmp_path / "model.pt").write_text("garbage")
    code, _, err = run_kpbench("evaluate", "--model", str(tmp_path / "model.pt"), "--data", "synthetic")
    assert code == 2 and "model.pt: not a readable model file" in err


def test_train_cli_rejects_unknown_options_and_foreign_out_dirs(trained_run):
    run, data = trained_run
    code, _, err = run_kpbench("train", "--data", "synthetic", "--out", "x", "--optimizer", "lion")
    assert code == 2 and "lion" in err
    code, _, err = run_kpbench("train", "--data", str(data / "training.csv"), "--out", str(run), "--epochs", "1",
                               "--lr", "0.5", "--no-progress")
    assert code == 2 and "holds another run" in err and err.count("\n") == 1
    code, _, err = run_kpbench("train", "--data", "synthetic", "--out", "y", "--epochs", "1", "--time-budget", "5")
    assert code == 2 and "not both" in err


def test_negative_seed_is_a_one_line_usage_error(tmp_path):
    code, _, err = run_kpbench("train", "--data", "synthetic:64", "--out", str(tmp_path / "run"), "--seed", "-1",
                               "--epochs", "1", "--no-progress")
    assert code == 2 and err.count("\n") == 1 and "seed" in err.lower()
    with pytest.raises(KpbenchError, match="seed"):
        TrainConfig(seed=-1).validate()
    from kpbench.data import load_faces

    with pytest.raises(KpbenchError, match="synthetic"):
        load_faces("synthetic:64:-1")


def test_score_of_a_location_so_far_off_that_the_rmse_overflows_is_an_error_not_inf():
    with pytest.raises(KpbenchError, match=r"sub.csv: RowId 2: a location so far from the solution"):
        score_submission({1: 1.0, 2: 1e308}, {1: 1.0, 2: -1e308}, name="sub.csv")
