"""The errors a user sees, and the exit code each one gives.

The CLI turns these into one line on stderr and an exit code, never a traceback, so code
deep inside the package raises them with a message a person can act on:
``training.csv: row 12, column Image: 9215 pixels, expected 9216``.

Exit codes (documented in the README):
  0  success
  1  a bug in kpbench (a traceback: please report it)
  2  bad input or environment: a file, an option, a full disk (KpbenchError)
  3  the work itself failed: every bench repeat failed, a worker died past its restarts (RunFailed)
  128+N  stopped by signal N: 130 for Ctrl-C (SIGINT), 143 for SIGTERM (Interrupted)
"""

from __future__ import annotations

from pathlib import Path

EXIT_OK = 0
EXIT_BAD_INPUT = 2
EXIT_RUN_FAILED = 3


class KpbenchError(Exception):
    """A problem with the user's input or environment, reported without a traceback (exit 2)."""

    exit_code = EXIT_BAD_INPUT


class RunFailed(KpbenchError):
    """The input was fine but the work failed: all repeats failed, workers died (exit 3)."""

    exit_code = EXIT_RUN_FAILED


class Interrupted(KpbenchError):
    """Stopped by SIGINT or SIGTERM after cleaning up; the message says how to continue."""

    def __init__(self, message: str, signum: int = 2) -> None:
        super().__init__(message)
        self.signum = signum
        self.exit_code = 128 + signum


def located(path: str | Path, message: str, *, row: int | None = None, column: str | None = None) -> KpbenchError:
    """An error naming the file and, where known, the row (1-based, the header is row 1) and column."""
    where = [] if row is None else [f"row {row}"]
    if column is not None:
        where.append(f"column {column}")
    prefix = Path(path).name + (": " + ", ".join(where) if where else "")
    return KpbenchError(f"{prefix}: {message}")
