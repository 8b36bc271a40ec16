"""The `kpbench` command: thin wiring; each command group lives in its own module.

Every module here parses arguments, calls the library and prints; none of them
computes a figure. Heavy imports (torch) happen inside commands so that
`kpbench --help` stays fast.
"""

from __future__ import annotations

import sys

import typer

from kpbench.errors import KpbenchError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Where to train a facial-keypoint CNN, how long it takes, what it costs.",
)


@app.command()
def version() -> None:
    """Print kpbench's version."""
    from kpbench import __version__

    print(f"kpbench {__version__}")


def _register() -> None:
    # Each module adds its commands to `app`; the order here is the order in --help.
    from kpbench.cli import bench, cloud, cost, data, dist, report, train

    for module in (data, train, dist, bench, cost, report, cloud):
        module.register(app)


def _click_exceptions() -> list:
    # Typer >= 0.16 vendors its own click (typer._click); older ones use click itself.
    mods = []
    for name in ("typer._click.exceptions", "click.exceptions"):
        try:
            mods.append(__import__(name, fromlist=["UsageError"]))
        except ImportError:
            pass
    return mods


def main(argv: list[str] | None = None) -> None:
    """Entry point: user errors become one line on stderr and exit code 2, never a traceback."""
    _register()
    mods = _click_exceptions()
    usage = tuple(m.ClickException for m in mods)  # UsageError, BadParameter, FileError …
    aborts = tuple(m.Abort for m in mods if hasattr(m, "Abort")) or (typer.Abort,)
    exits = tuple(m.Exit for m in mods if hasattr(m, "Exit")) or (typer.Exit,)
    if argv is None:
        argv = sys.argv[1:]
    if not argv:  # a bare `kpbench` shows help, and that is not an error
        argv = ["--help"]
    try:
        rv = app(args=argv, standalone_mode=False, prog_name="kpbench")
    except KpbenchError as e:  # Interrupted and RunFailed carry their own exit codes
        _fail(str(e), getattr(e, "exit_code", 2))
    except usage as e:
        _fail(e.format_message())
    except OSError as e:  # an unwritable --out, an unreadable file: the user's to fix
        _fail(f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e))
    except aborts + (KeyboardInterrupt,):
        print("kpbench: interrupted", file=sys.stderr)
        sys.exit(130)
    except exits as e:
        sys.exit(e.exit_code)
    sys.exit(rv if isinstance(rv, int) else 0)


def _fail(message: str, code: int = 2) -> None:
    # One line: a multi-line message is folded so scripts can grep it.
    print("kpbench: error: " + " ".join(message.split()), file=sys.stderr)
    sys.exit(code)
