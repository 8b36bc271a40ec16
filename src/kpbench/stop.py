"""Graceful stops: SIGINT and SIGTERM set a flag that long loops check between steps.

Schedulers and spot pre-emption stop jobs with SIGTERM; people press Ctrl-C. A loop that can
stop cleanly (train: finish the step, write a checkpoint) runs inside ``stop_on_signals()`` and
polls ``requested()``; code outside such a block keeps Python's default behaviour, where the
CLI turns KeyboardInterrupt (and SIGTERM, see ``cli.main``) into one line.

    with stop_on_signals() as stop:
        for step in steps:
            if stop.requested:
                save(); raise Interrupted(f"... {stop.signame}; continue with --resume", stop.signum)
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator


class StopFlag:
    """Which signal asked to stop, if any. A second signal of the same kind stops at once."""

    def __init__(self) -> None:
        self.signum: int | None = None

    @property
    def requested(self) -> bool:
        return self.signum is not None

    @property
    def signame(self) -> str:
        return signal.Signals(self.signum).name if self.signum else ""

    def _handle(self, signum: int, frame) -> None:  # noqa: ANN001 - signal handler signature
        if self.signum is not None:  # asked twice: the user means it
            raise KeyboardInterrupt
        self.signum = signum


@contextlib.contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[StopFlag]:
    """Within the block, the signals set the flag instead of killing; the old handlers come back after.

    Outside the main thread signal handlers cannot be installed: the flag then never sets.
    """
    flag = StopFlag()
    if threading.current_thread() is not threading.main_thread():
        yield flag
        return
    previous = {s: signal.signal(s, flag._handle) for s in signals}
    try:
        yield flag
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
