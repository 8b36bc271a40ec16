"""One error type for everything a user can get wrong.

The CLI turns a KpbenchError into one line on stderr and exit code 2, so code
deep inside the package raises it with a message a person can act on:
``training.csv: row 12, column Image: 9215 pixels, expected 9216``.
"""

from __future__ import annotations

from pathlib import Path


class KpbenchError(Exception):
    """A problem with the user's input or environment, reported without a traceback."""


def located(path: str | Path, message: str, *, row: int | None = None, column: str | None = None) -> KpbenchError:
    """An error naming the file and, where known, the row (1-based, the header is row 1) and column."""
    where = [] if row is None else [f"row {row}"]
    if column is not None:
        where.append(f"column {column}")
    prefix = Path(path).name + (": " + ", ".join(where) if where else "")
    return KpbenchError(f"{prefix}: {message}")
