"""The kpbench command as a whole: help, and how every error reaches the user."""

from __future__ import annotations

import pytest

from kpbench.cli import main


def run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    out, err = capsys.readouterr()
    return exc.value.code, out, err


def test_bare_kpbench_shows_help_and_succeeds(capsys):
    code, out, _ = run([], capsys)
    assert code == 0 and "Usage" in out


def test_unknown_command_is_one_line_and_exit_2(capsys):
    code, _, err = run(["no-such-command"], capsys)
    assert code == 2 and err.count("\n") == 1 and err.startswith("kpbench: error:")


def test_an_unwritable_output_directory_is_one_line_naming_it(capsys, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    code, _, err = run(["data", "synth", "--rows", "4", "--out", str(blocker / "out")], capsys)
    assert code == 2 and err.count("\n") == 1 and "a-file" in err and "Traceback" not in err


def test_every_option_of_evaluate_predict_and_score_has_help():
    import typer.main

    from kpbench.cli import _register, app

    _register()
    group = typer.main.get_command(app)
    for name in ("evaluate", "predict", "score"):
        command = group.commands[name]
        for param in command.params:
            assert getattr(param, "help", None), f"{name} {param.name}: no help"
