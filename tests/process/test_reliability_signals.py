"""SIGINT and SIGTERM at the CLI: one line saying what stopped kpbench, exit 128+N, no temporary files.

The children get SIGINT's default disposition back (a shell running the suite in the background
ignores SIGINT, and an ignored SIGINT stays ignored across exec: Python would install no handler).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kpbench.lock import LOCK_NAME


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _train_until_signalled(out: Path, signum: int) -> subprocess.CompletedProcess:
    """Start `kpbench train`, send ``signum`` once the run holds its directory, wait for the exit."""
    argv = [sys.executable, "-m", "kpbench", "train", "--data", "synthetic:64", "--out", str(out),
            "--time-budget", "120", "--threads", "1", "--no-progress"]
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, preexec_fn=_default_sigint)
    deadline = time.monotonic() + 120
    while not (out / LOCK_NAME).exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # into the training loop
    p.send_signal(signum)
    _, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(argv, p.returncode, "", err)


@pytest.mark.slow
@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_stops_train_with_one_line_and_its_exit_code(tmp_path, signum, code):
    out = tmp_path / "run"
    r = _train_until_signalled(out, signum)
    assert r.returncode == code, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kpbench: ") and signal.Signals(signum).name in lines[0]
    assert "interrupted" in lines[0] and "Traceback" not in r.stderr
    assert not list(out.glob(".*.tmp")) if out.exists() else True


def test_sigterm_in_process_is_the_same_clean_path_as_ctrl_c(monkeypatch, capsys):
    """main() turns SIGTERM into the KeyboardInterrupt path, prints one line, and restores the handler."""
    import os

    from kpbench.cli import app, main

    before = signal.getsignal(signal.SIGTERM)

    @app.command("test-sleep-for-a-signal", hidden=True)
    def _sleeper() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)

    with pytest.raises(SystemExit) as e:
        main(["test-sleep-for-a-signal"])
    err = capsys.readouterr().err
    assert e.value.code == 143 and err.count("\n") == 1 and err.startswith("kpbench: interrupted (SIGTERM)")
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_keyboard_interrupt_in_a_command_prints_the_interrupted_line(capsys):
    from kpbench.cli import app, main

    @app.command("test-ctrl-c", hidden=True)
    def _ctrl_c() -> None:
        raise KeyboardInterrupt

    with pytest.raises(SystemExit) as e:
        main(["test-ctrl-c"])
    err = capsys.readouterr().err
    assert e.value.code == 130 and err.startswith("kpbench: interrupted (SIGINT)") and err.count("\n") == 1


def test_a_command_that_stops_cleanly_says_how_to_continue_with_its_exit_code(capsys):
    from kpbench.cli import app, main
    from kpbench.errors import Interrupted

    @app.command("test-graceful-stop", hidden=True)
    def _graceful() -> None:
        raise Interrupted("checkpoint written after epoch 2; continue with --resume", signal.SIGTERM)

    with pytest.raises(SystemExit) as e:
        main(["test-graceful-stop"])
    err = capsys.readouterr().err
    assert e.value.code == 143 and err.count("\n") == 1
    assert err == "kpbench: interrupted (SIGTERM): checkpoint written after epoch 2; continue with --resume\n"
