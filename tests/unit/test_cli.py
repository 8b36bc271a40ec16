"""The kpbench command as a whole: help, and how every error reaches the user."""

from __future__ import annotations

import signal
import time

import pytest

from helpers import run_kpbench


def test_bare_kpbench_shows_help_and_succeeds():
    r = run_kpbench()
    assert r.code == 0 and "Usage" in r.out


def test_unknown_command_is_one_line_and_exit_2():
    r = run_kpbench("no-such-command")
    assert r.code == 2 and r.err.count("\n") == 1 and r.err.startswith("kpbench: error:")


def test_an_unwritable_output_directory_is_one_line_naming_it(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    r = run_kpbench("data", "synth", "--rows", "4", "--out", blocker / "out")
    assert r.code == 2 and r.err.count("\n") == 1 and "a-file" in r.err and "Traceback" not in r.err


def test_every_option_of_evaluate_predict_and_score_has_help():
    import typer.main

    from kpbench.cli import _register, app

    _register()
    group = typer.main.get_command(app)
    for name in ("evaluate", "predict", "score"):
        command = group.commands[name]
        for param in command.params:
            assert getattr(param, "help", None), f"{name} {param.name}: no help"


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
