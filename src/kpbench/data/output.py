"""What `kpbench data` prints on a terminal (rich): the written files, an Inspection."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kpbench.fmt import rich_text

if TYPE_CHECKING:
    from kpbench.data.inspect import Inspection


def print_written(paths: dict[str, Path], title: str) -> None:
    """A table of the files written and their sizes."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    table.add_column("file")
    table.add_column("size", justify="right")
    for name, path in paths.items():
        table.add_row(name, f"{path.stat().st_size / 1e6:.1f} MB")
    Console().print(table)


def print_inspection(inspection: Inspection, pictures: list[Path]) -> None:
    """Rows, complete rows, pixel statistics, labels per keypoint; then the pictures written."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    summary = Table(title=rich_text(inspection.source), show_header=False)  # a path: shown as typed
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
        console.print(f"wrote {rich_text(picture)}")
