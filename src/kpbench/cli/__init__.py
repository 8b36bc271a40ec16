"""The `kpbench` command: thin wiring; each command group lives in its own module.

Every module here parses arguments, calls the library and prints; none of them
computes a figure. Heavy imports (torch) happen inside commands so that
`kpbench --help` stays fast.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading
from collections.abc import Iterator

import typer
from typer.core import TyperGroup

from kpbench.errors import Interrupted, KpbenchError


class _Stopped(BaseException):
    """A KeyboardInterrupt (Ctrl-C, or SIGTERM turned into one) on its way out of a command.

    Typer turns KeyboardInterrupt into a silent ``Exit(130)``; carried as this instead, it
    reaches ``main``, which prints the one line saying what stopped the command.
    """


class _Group(TyperGroup):
    def invoke(self, ctx):  # noqa: ANN001, ANN201 - click's signature
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt as e:
            raise _Stopped() from e

    def resolve_command(self, ctx, args):  # noqa: ANN001, ANN201 - click's signature
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None:
            finite_numbers(cmd)
        return name, cmd, rest


def finite_numbers(cmd) -> None:  # noqa: ANN001 - a click Command of whichever click typer uses
    """Every float option of ``cmd`` (and of its subcommands) refuses nan and ±inf where it is parsed.

    click's float types accept them, and its ranges too (nan compares false with every bound), so
    ``--max-cost nan`` would pass any budget: refused here, once, for every option of every command.
    """
    for param in cmd.params:
        if not getattr(param, "_kpbench_finite", False):
            param.process_value = _finite(param, param.process_value)
            param._kpbench_finite = True
    for sub in getattr(cmd, "commands", {}).values():
        finite_numbers(sub)


def _finite(param, process_value):  # noqa: ANN001, ANN202
    import math

    def finite_process_value(ctx, value):  # noqa: ANN001, ANN202
        out = process_value(ctx, value)
        for number in out if isinstance(out, (list, tuple)) else (out,):
            if isinstance(number, float) and not math.isfinite(number):
                name = param.opts[0] if getattr(param, "opts", None) else param.name
                raise KpbenchError(f"{name} {number}: give {_kind(param)}")
        return out

    return finite_process_value


def _kind(param) -> str:  # noqa: ANN001
    """What the option takes, from its declared minimum (typer keeps it on the option, click on its type)."""
    low = getattr(param, "min", None)
    low = getattr(getattr(param, "type", None), "min", None) if low is None else low
    if low is not None and low < 0:
        return "a finite number"
    return "a non-negative, finite number" if low == 0 else "a positive, finite number"


app = typer.Typer(
    cls=_Group,
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


@functools.cache  # once per process: a second call would add every command again (main runs often in tests)
def _register() -> None:
    # Each module adds its commands to `app`; the order here is the order in --help.
    from kpbench.cli import bench, cloud, cost, data, dist, estimate, report, train

    for module in (data, train, dist, bench, cost, estimate, report, cloud):
        module.register(app)
    from kpbench.cli import predict  # evaluate, predict, score (kept apart from the shared tuple above)

    predict.register(app)


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
    if argv is None:
        argv = sys.argv[1:]
    if not argv:  # a bare `kpbench` shows help, and that is not an error
        argv = ["--help"]
    with _signals_as_interrupts() as received:
        try:
            rv = _run(argv)
        except (_Stopped, KeyboardInterrupt):
            rv = 130
        if received or rv == 130:  # typer turns a Ctrl-C while parsing into a bare 130
            _interrupted(received[0] if received else signal.SIGINT, argv)
    sys.exit(rv if isinstance(rv, int) else 0)


def _run(argv: list[str]) -> object:
    """The command's return value; every error a user can act on ends here as one line and its code."""
    mods = _click_exceptions()
    usage = tuple(m.ClickException for m in mods)  # UsageError, BadParameter, FileError …
    aborts = tuple(m.Abort for m in mods if hasattr(m, "Abort")) or (typer.Abort,)
    exits = tuple(m.Exit for m in mods if hasattr(m, "Exit")) or (typer.Exit,)
    try:
        return app(args=argv, standalone_mode=False, prog_name="kpbench")
    except Interrupted as e:  # the command stopped cleanly and says how to continue
        text = " ".join(str(e).split())
        prefix = "" if text.startswith("interrupted") else f"interrupted ({signal.Signals(e.signum).name}): "
        from kpbench.fmt import plain

        print(f"kpbench: {prefix}{plain(text)}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KpbenchError as e:  # RunFailed carries its own exit code
        _fail(str(e), getattr(e, "exit_code", 2))
    except usage as e:
        _fail(e.format_message())
    except OSError as e:  # an unwritable --out, an unreadable file: the user's to fix
        _fail(f"{e.filename}: {e.strerror}" if e.filename and e.strerror else str(e))
    except aborts:
        raise _Stopped() from None
    except exits as e:
        sys.exit(e.exit_code)


@contextlib.contextmanager
def _signals_as_interrupts() -> Iterator[list[int]]:
    """SIGTERM (schedulers, spot pre-emption) takes Ctrl-C's path: a KeyboardInterrupt that unwinds
    the command, so atomic writes drop their temporary files and ``main`` prints one line.

    SIGINT keeps Python's handler unless the shell ignores it (a background job): then it stays
    ignored. SIGXFSZ is ignored so that a file-size limit (``ulimit -f``) is an EFBIG error naming
    the file, not a silent kill. Handlers are restored on the way out (``main`` runs inside tests).
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handle(signum: int, frame: object) -> None:
        received.append(signum)
        raise KeyboardInterrupt

    previous = {}
    for sig, handler in ((signal.SIGTERM, handle), (signal.SIGINT, handle), (signal.SIGXFSZ, signal.SIG_IGN)):
        if signal.getsignal(sig) is not signal.SIG_IGN:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _interrupted(signum: int, argv: list[str]) -> None:
    name = signal.Signals(signum).name
    hint = "; continue a run with `kpbench train --resume` and the same options" if argv[:1] == ["train"] else ""
    print(f"kpbench: interrupted ({name}): stopped before finishing; temporary files removed{hint}", file=sys.stderr)
    sys.exit(128 + signum)


def _fail(message: str, code: int = 2) -> None:
    # One line: a multi-line message is folded so scripts can grep it.
    from kpbench.fmt import plain  # a file name or label in the message is shown, never run by the terminal

    print("kpbench: error: " + plain(" ".join(message.split())), file=sys.stderr)
    sys.exit(code)
