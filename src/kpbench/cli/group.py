"""A command group (`kpbench data …`, `kpbench dist …`, `kpbench cloud …`) and how it joins the app."""

from __future__ import annotations

from collections.abc import Callable

import typer


def command_group(name: str, help: str) -> tuple[typer.Typer, Callable[[typer.Typer], None]]:
    """The group's own Typer, and the ``register(app)`` every cli module offers (see cli/__init__)."""
    group = typer.Typer(no_args_is_help=True, help=help)

    def register(app: typer.Typer) -> None:
        app.add_typer(group, name=name)

    return group, register
