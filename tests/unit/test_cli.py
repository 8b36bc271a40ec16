"""The kpbench command as a whole: help, and how every error and signal reaches the user (in process)."""

from __future__ import annotations

import signal
import time

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


def test_sigterm_in_process_is_the_same_clean_path_as_ctrl_c():
    """main() turns SIGTERM into the KeyboardInterrupt path, prints one line, and restores the handler."""
    import os

    from kpbench.cli import app

    before = signal.getsignal(signal.SIGTERM)

    @app.command("test-sleep-for-a-signal", hidden=True)
    def _sleeper() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)

    r = run_kpbench("test-sleep-for-a-signal")
    err = r.err
    assert r.code == 143 and err.count("\n") == 1 and err.startswith("kpbench: interrupted (SIGTERM)")
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_keyboard_interrupt_in_a_command_prints_the_interrupted_line():
    from kpbench.cli import app

    @app.command("test-ctrl-c", hidden=True)
    def _ctrl_c() -> None:
        raise KeyboardInterrupt

    r = run_kpbench("test-ctrl-c")
    err = r.err
    assert r.code == 130 and err.startswith("kpbench: interrupted (SIGINT)") and err.count("\n") == 1


def test_a_command_that_stops_cleanly_says_how_to_continue_with_its_exit_code():
    from kpbench.cli import app
    from kpbench.errors import Interrupted

    @app.command("test-graceful-stop", hidden=True)
    def _graceful() -> None:
        raise Interrupted("checkpoint written after epoch 2; continue with --resume", signal.SIGTERM)

    r = run_kpbench("test-graceful-stop")
    err = r.err
    assert r.code == 143 and err.count("\n") == 1
    assert err == "kpbench: interrupted (SIGTERM): checkpoint written after epoch 2; continue with --resume\n"


def test_main_run_again_in_one_process_adds_no_command_twice():
    from kpbench.cli import app

    run_kpbench("version")
    commands, groups = len(app.registered_commands), len(app.registered_groups)
    run_kpbench("version")
    assert (len(app.registered_commands), len(app.registered_groups)) == (commands, groups)
