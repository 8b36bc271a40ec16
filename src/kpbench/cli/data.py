"""CLI: `kpbench data synth` and `kpbench data inspect`."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path

import typer

from kpbench.cli.group import command_group
from kpbench.data.kaggle import SPLITS

Split = Enum("Split", {n: n for n in SPLITS}, type=str)

data_app, register = command_group("data", "Facial-keypoint data: write synthetic faces, inspect a data set.")


@data_app.command("synth")
def synth_command(
    out: Path = typer.Option(..., "--out", help="Directory to write training.csv, test.csv, IdLookupTable.csv, "
                     "SampleSubmission.csv, solution.csv."),
    rows: int = typer.Option(2000, "--rows", min=1, help="Training faces."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed: the same seed writes the same files."),
    # rich markup would take "[default: ...]" for a style tag and drop it: the bracket is escaped
    test_rows: int | None = typer.Option(None, "--test-rows", min=1, help="Test faces \\[default: rows/4]."),
    force: bool = typer.Option(False, "--force", help="Replace files in --out that kpbench did not write (or that were changed since)."),
) -> None:
    """Write synthetic faces in the Kaggle competition's file layout.

    Files already in --out are replaced only if an earlier `data synth` wrote them, or with --force.
    """
    from kpbench.data import write_synthetic
    from kpbench.data.output import print_written

    paths = write_synthetic(out, rows=rows, seed=seed, test_rows=test_rows, force=force)
    print_written(paths, f"synthetic faces (seed {seed}) → {out}")


@data_app.command("inspect")
def inspect_command(
    path: str = typer.Argument(..., help="training.zip, test.zip, a CSV, the competition zip, a directory, or 'synthetic'."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    png_dir: Path | None = typer.Option(None, "--png-dir", help="Also write samples.png and missing.png here."),
    split: Split = typer.Option("training", "--split", help="Which file of a directory or the competition zip to read."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Parse again; don't read or write the cache."),
) -> None:
    """Rows, complete rows, missing labels per keypoint and pixel statistics of a data set."""
    from kpbench.data.output import print_inspection
    from kpbench.data.plots import inspect_path

    inspection, pictures = inspect_path(path, png_dir=png_dir, cache=not no_cache, progress=not as_json,
                                        split=Split(split).value)
    if as_json:
        print(json.dumps({**inspection.to_dict(), "pictures": [str(p) for p in pictures]}, indent=2))
        return
    print_inspection(inspection, pictures)
