"""The kpbench command as a whole: help, and how every error reaches the user."""

from __future__ import annotations

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
