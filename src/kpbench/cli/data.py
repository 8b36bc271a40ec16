"""CLI: `kpbench data synth` and `kpbench data inspect`."""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from kpbench.cli.group import command_group
from kpbench.data.kaggle import SPLITS

if TYPE_CHECKING:
    from kpbench.data import Inspection

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
    from rich.console import Console
    from rich.table import Table

    from kpbench.data import write_synthetic

    paths = write_synthetic(out, rows=rows, seed=seed, test_rows=test_rows, force=force)
    table = Table(title=f"synthetic faces (seed {seed}) → {out}")
    table.add_column("file")
    table.add_column("size", justify="right")
    for name, path in paths.items():
        table.add_row(name, f"{path.stat().st_size / 1e6:.1f} MB")
    Console().print(table)


@data_app.command("inspect")
def inspect_command(
    path: str = typer.Argument(..., help="training.zip, test.zip, a CSV, the competition zip, a directory, or 'synthetic'."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    png_dir: Path | None = typer.Option(None, "--png-dir", help="Also write samples.png and missing.png here."),
    split: Split = typer.Option("training", "--split", help="Which file of a directory or the competition zip to read."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Parse again; don't read or write the cache."),
) -> None:
    """Rows, complete rows, missing labels per keypoint and pixel statistics of a data set."""
    from kpbench.data import inspect_faces, load_faces, plot_missing, plot_samples

    faces = load_faces(path, cache=not no_cache, progress=not as_json, split=Split(split).value)
    inspection = inspect_faces(faces)
    pictures = []
    if png_dir is not None:
        pictures = [png_dir / "samples.png", png_dir / "missing.png"]
        plot_samples(faces, pictures[0])
        if inspection.has_keypoints:
            plot_missing(inspection, pictures[1])
        else:
            pictures.pop()
    if as_json:
        print(json.dumps({**inspection.to_dict(), "pictures": [str(p) for p in pictures]}, indent=2))
        return
    _print_inspection(inspection, pictures)


def _print_inspection(inspection: Inspection, pictures: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=inspection.source, show_header=False)
    summary.add_column(style="bold")
    summary.add_column(justify="right")
    summary.add_row("rows", f"{inspection.rows:,}")
    if inspection.has_keypoints:
        share = inspection.complete_rows / inspection.rows if inspection.rows else 0.0
        summary.add_row("complete rows (all 15 keypoints)", f"{inspection.complete_rows:,} ({share:.0%})")
    else:
        summary.add_row("keypoints", "none (a test file)")
    summary.add_row("pixels mean ± std", f"{inspection.pixel_mean:.1f} ± {inspection.pixel_std:.1f}")
    summary.add_row("pixels min … max", f"{inspection.pixel_min} … {inspection.pixel_max}")
    load_s = f" in {inspection.load_s:.2f} s" if inspection.load_s is not None else ""
    summary.add_row("loaded by", f"{inspection.load}{load_s}")
    summary.add_row("synthetic faces", "yes" if inspection.synthetic else "no")
    summary.add_row("sha256", inspection.sha256[:16] + "…" if inspection.sha256 else "")
    console.print(summary)
    if inspection.has_keypoints:
        table = Table(title="labels per keypoint")
        table.add_column("keypoint")
        table.add_column("labelled", justify="right")
        table.add_column("missing", justify="right")
        for name, count in inspection.labelled.items():
            table.add_row(name, f"{count:,}", f"{inspection.missing[name]:,}")
        console.print(table)
    for picture in pictures:
        console.print(f"wrote {picture}")
