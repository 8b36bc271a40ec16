"""CLI: evaluate, predict, score — what a trained model.pt is used for.

The model file is ``--weights FILE`` (``--model`` names a network in train and bench); the old
``--model FILE`` spelling still works here, with a one-line deprecation note on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from kpbench.cli.train import Device
from kpbench.errors import KpbenchError

# Options evaluate and predict share (typer reads them as metadata: one object serves both).
WEIGHTS = typer.Option(None, "--weights", "-w", help="model.pt written by `kpbench train`, or its run directory.")
OLD_MODEL = typer.Option(None, "--model", hidden=True, help="Deprecated spelling of --weights.")
FLIP_TTA = typer.Option(False, "--flip-tta", help="Average with the mirrored image's prediction.")
DEVICE = typer.Option("auto", "--device", help="Where to run the model.")
PROGRESS = typer.Option(True, "--progress/--no-progress", help="Show progress bars (on stderr) while loading data.")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("evaluate")(evaluate_command)
    app.command("predict")(predict_command)
    app.command("score")(score_command)


def _weights_file(weights: Optional[Path], old_model: Optional[Path]) -> Path:
    """--weights, or the deprecated --model FILE spelling (with a note)."""
    if weights is not None and old_model is not None:
        raise KpbenchError("give the model file once: --weights FILE (--model FILE is its old spelling)")
    if old_model is not None:
        print("kpbench: note: --model FILE is deprecated here; use --weights FILE", file=sys.stderr)
        return old_model
    if weights is None:
        raise KpbenchError("missing option --weights FILE: the model.pt written by `kpbench train`")
    return weights


def evaluate_command(
    weights: Optional[Path] = WEIGHTS,
    model: Optional[Path] = OLD_MODEL,
    data: str = typer.Option(..., "--data", help="A labelled file: training.zip/CSV, a directory holding it, or 'synthetic'."),
    flip_tta: bool = FLIP_TTA,
    as_json: bool = typer.Option(False, "--json", help="Print JSON (numbers always finite) instead of a table."),
    device: Device = DEVICE,
    progress: bool = PROGRESS,
) -> None:
    """RMSE in pixels of a trained model on a labelled file, overall and per keypoint."""
    import json

    from kpbench.train.files import evaluate_file
    from kpbench.train.output import print_evaluation

    # --json: output a script reads whole, no progress bars
    ev = evaluate_file(_weights_file(weights, model), data, flip_tta=flip_tta, device=device.value,
                       progress=progress and not as_json)
    if as_json:
        print(json.dumps(ev.to_dict(), indent=2, allow_nan=False))
        return
    print_evaluation(f"{ev.model} on {data} ({ev.rows} rows)", ev.rmse_px, ev.rmse_per_keypoint_px)


def predict_command(
    weights: Optional[Path] = WEIGHTS,
    model: Optional[Path] = OLD_MODEL,
    data: str = typer.Option(..., "--data", help="Kaggle test.zip/test.csv, or a directory or competition zip holding it."),
    lookup: Path = typer.Option(..., "--lookup", help="IdLookupTable.csv: the coordinates to submit."),
    out: Path = typer.Option(..., "--out", help="Submission CSV to write (RowId,Location); written atomically."),
    flip_tta: bool = FLIP_TTA,
    device: Device = DEVICE,
    progress: bool = PROGRESS,
) -> None:
    """Write a Kaggle submission: predicted locations, clipped to [0, 96], for each lookup row."""
    from kpbench.train.files import write_predictions

    rows, images = write_predictions(_weights_file(weights, model), data, lookup, out, flip_tta=flip_tta,
                                     device=device.value, progress=progress)
    print(f"wrote {out}: {rows} rows for {images} images")


def score_command(
    submission: Path = typer.Argument(..., help="Submission CSV (RowId,Location)."),
    solution: Path = typer.Argument(..., help="Solution CSV (RowId,Location) with the true locations."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a line of text."),
) -> None:
    """RMSE in pixels of a submission against a solution; rows must match one to one."""
    import json

    from kpbench.data.kaggle import read_submission
    from kpbench.train import score_submission

    rmse = score_submission(read_submission(submission), read_submission(solution), name=submission.name)
    if as_json:
        print(json.dumps({"submission": str(submission), "solution": str(solution), "rmse_px": rmse}, allow_nan=False))
    else:
        print(f"RMSE {rmse:.4f} px")
