"""The report's output directory: all of a report or none of it, and never over a user's own files.

Files are written into a staging directory on the same file system and moved into place only when
every one of them is written (a rename needs no space, so a full disk fails before anything moves).
On failure the staging directory and any parent directory created for it are removed, and the error
names the target file, never the staging one.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

from kpbench import atomic
from kpbench.errors import KpbenchError
from kpbench.inputs import JSON_LIMIT_BYTES, read_text

REPORT_FILES = ("report.html", "report.md")
GENERATED = " by kpbench.*"  # render_md's second line
_IMAGE_REF = re.compile(r"!\[[^\]]*\]\(([^)/\\]+\.png)\)")


def own_files(out_dir: Path) -> set[str]:
    """The names in `out_dir` that an earlier kpbench report wrote: its two files and report.md's PNGs."""
    names = {n for n in REPORT_FILES if (out_dir / n).is_file()}
    names.update(p.name for p in out_dir.glob(".*.tmp"))  # staging left by a killed run
    try:
        md = read_text(out_dir / "report.md", what="report", limit=JSON_LIMIT_BYTES)  # never a FIFO or /dev/zero
    except KpbenchError:
        return names
    if GENERATED in md:  # someone else's report.md names pictures that are not ours
        names.update(_IMAGE_REF.findall(md))
    return names


def check_replaceable(out_dir: Path, *, force: bool) -> None:
    """KpbenchError when `out_dir` holds files that are not an earlier report's, unless `force`."""
    if force or not out_dir.exists():
        return
    if not out_dir.is_dir():
        raise KpbenchError(f"{out_dir}: exists and is not a directory")
    foreign = sorted(p.name for p in out_dir.iterdir() if p.name not in own_files(out_dir))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise KpbenchError(f"{out_dir}: holds files that are not a kpbench report ({shown}); "
                           "choose another --out, or pass --force to write the report beside them")


def write_staged(out_dir: Path, files: dict[str, bytes]) -> list[Path]:
    """Write `files` (name → content) into a staging directory, then move them into `out_dir`.

    A report written earlier into `out_dir` is replaced as a whole: its PNGs that the new one lacks go.
    Returns the paths written, in the order given.
    """
    created = _make_parents(out_dir.parent)
    fresh = not out_dir.exists()
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".tmp",
                                      dir=out_dir.parent if fresh else out_dir))
    except OSError as e:
        _remove_empty(created)
        raise KpbenchError(f"{out_dir}: {e.strerror or e}") from None
    try:
        for name, content in files.items():
            try:
                atomic.write_bytes(stage / name, content)
            except OSError as e:  # name the file asked for, never the staging copy
                raise KpbenchError(f"{out_dir / name}: {e.strerror or e}") from None
        if fresh:
            os.replace(stage, out_dir)
        else:
            stale = own_files(out_dir) - set(files) - {stage.name}
            for name in files:
                os.replace(stage / name, out_dir / name)
            for name in stale:
                stale_path = out_dir / name
                shutil.rmtree(stale_path) if stale_path.is_dir() else stale_path.unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)  # gone already when renamed into place
        if not out_dir.exists():
            _remove_empty(created)
    return [out_dir / name for name in files]


def _make_parents(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return the ones created, deepest first."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for path in reversed(missing):
        path.mkdir(exist_ok=True)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for path in folders:
        try:
            path.rmdir()
        except OSError:
            return
