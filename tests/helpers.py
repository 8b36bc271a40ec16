"""Test helpers shared by many test files (fixtures live in conftest.py, fake inputs in fakes.py).

`run_kpbench(*args)` runs the kpbench command line and returns its exit code and output:
in this process by default (fast), or as `python -m kpbench` in a fresh process with
`subprocess=True` (what a user's shell sees: signals, exit status, real stdout). The result
unpacks as ``code, out, err = run_kpbench(...)``. `start_kpbench(*args)` starts that process
and returns at once, for tests that signal or kill it while it runs.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess as sp
import sys
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple


class Result(NamedTuple):
    code: int
    out: str
    err: str

    @property
    def error_line(self) -> str:
        """The last stderr line (the CLI's one `kpbench: error: …` line on failure)."""
        lines = self.err.strip().splitlines()
        return lines[-1] if lines else ""


def run_kpbench(*args: str | Path, subprocess: bool = False, timeout_s: float = 300,
                env: dict[str, str] | None = None, cwd: str | Path | None = None,
                preexec_fn: Callable[[], None] | None = None) -> Result:
    """Run `kpbench ARGS…`; `env` adds to (not replaces) this process's environment."""
    argv = [str(a) for a in args]
    if subprocess:
        proc = sp.run(kpbench_command(*argv), capture_output=True, text=True, timeout=timeout_s,
                      env={**os.environ, **(env or {})}, cwd=cwd, preexec_fn=preexec_fn)
        return Result(proc.returncode, proc.stdout, proc.stderr)
    if env or cwd or preexec_fn:
        raise ValueError("env, cwd and preexec_fn need subprocess=True (they would leak into this test process)")
    from kpbench.cli import main

    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main(argv)
        except SystemExit as e:
            code = e.code
    return Result(code if isinstance(code, int) else (0 if code is None else 1), out.getvalue(), err.getvalue())


def kpbench_command(*args: str | Path) -> list[str]:
    """`python -m kpbench ARGS…` with this interpreter."""
    return [sys.executable, "-m", "kpbench", *map(str, args)]


def start_kpbench(*args: str | Path, env: dict[str, str] | None = None, stdout: int | None = sp.DEVNULL,
                  stderr: int | None = sp.PIPE, **popen) -> sp.Popen:
    """Start `kpbench ARGS…` in a fresh process (text; stdout dropped, stderr piped unless told);
    `env` adds to this process's environment."""
    return sp.Popen(kpbench_command(*args), stdout=stdout, stderr=stderr, text=True,
                    env={**os.environ, **(env or {})}, **popen)


def one_line_naming(err: str, path: Path) -> bool:
    """``err`` is one `kpbench: …` line that names ``path``, and no traceback."""
    return err.count("\n") == 1 and err.startswith("kpbench: ") and str(path) in err and "Traceback" not in err


def tiny_cfg(**kw):
    """A TrainConfig for a one-epoch CPU run in fp32 (``kw`` overrides)."""
    from kpbench.train import TrainConfig

    return TrainConfig(**({"epochs": 1, "batch_size": 16, "device": "cpu", "precision": "fp32"} | kw))


def shell_structure(script: str) -> list[tuple[str, str]]:
    """What a POSIX shell script does beyond passing words: its operators, comments and expansions.

    Read as sh reads it (single quotes take everything literally; double quotes still expand ``$`` and
    backticks; a backslash escapes the next character), line by line. Two scripts with the same
    structure run the same commands; only their words differ. A value that adds a command, a
    redirection or an expansion changes the structure.
    """
    out: list[tuple[str, str]] = []
    quote = None
    i = 0
    while i < len(script):
        c = script[i]
        if quote == "'":
            quote = None if c == "'" else quote
        elif c == "\\":
            i += 1  # the next character is taken literally (in double quotes too, for $ ` " \\)
        elif c in "$`":
            j = i + 1
            if c == "$" and script[j:j + 1] in ("(", "{"):
                close, depth = {"(": ")", "{": "}"}[script[j]], 0
                while j < len(script):
                    depth += script[j] in "({"
                    depth -= script[j] in ")}"
                    j += 1
                    if depth == 0 and script[j - 1] == close:
                        break
            elif c == "$":
                while j < len(script) and (script[j].isalnum() or script[j] == "_"):
                    j += 1
            else:
                j = script.index("`", j) + 1 if "`" in script[j:] else len(script)
            out.append(("expansion", script[i:j]))
            i = j
            continue
        elif quote == '"':
            quote = None if c == '"' else quote
        elif c in "'\"":
            quote = c
        elif c in ";&|<>()\n" or (c == "#" and (i == 0 or script[i - 1] in " \t\n")):
            out.append(("operator", c))
        i += 1
    assert quote is None, "an unterminated quote"
    return out


def paths_of(value, prefix=()):
    """Every (key path) inside a JSON value, the value itself first."""
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from paths_of(v, prefix + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from paths_of(v, prefix + (i,))
