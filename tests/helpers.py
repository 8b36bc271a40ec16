"""Test helpers shared by many test files (fixtures live in conftest.py).

`run_kpbench(*args)` runs the kpbench command line and returns its exit code and output:
in this process by default (fast), or as `python -m kpbench` in a fresh process with
`subprocess=True` (what a user's shell sees: signals, exit status, real stdout).
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess as sp
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The last stderr line (the CLI's one `kpbench: error: …` line on failure)."""
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ""


def run_kpbench(*args: str | Path, subprocess: bool = False, timeout_s: float = 300,
                env: dict[str, str] | None = None, cwd: str | Path | None = None) -> Result:
    """Run `kpbench ARGS…`; `env` adds to (not replaces) this process's environment."""
    argv = [str(a) for a in args]
    if subprocess:
        proc = sp.run([sys.executable, "-m", "kpbench", *argv], capture_output=True, text=True,
                      timeout=timeout_s, env={**os.environ, **(env or {})}, cwd=cwd)
        return Result(proc.returncode, proc.stdout, proc.stderr)
    if env or cwd:
        raise ValueError("env and cwd need subprocess=True (they would leak into this test process)")
    from kpbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as e:
            code = e.code
    return Result(code if isinstance(code, int) else (0 if code is None else 1), out.getvalue(), err.getvalue())
