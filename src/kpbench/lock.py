"""One writer per run directory: ``fcntl.flock`` on ``DIR/.kpbench.lock`` for as long as a run lasts.

A second ``kpbench train --out DIR`` gets a one-line error saying which process holds the
directory (the lock file records pid, host, start time and command). The kernel drops a flock
when its holder dies, however it dies (SIGKILL included), so a lock left by a dead process is no
obstacle: the next run simply takes it.

The lock is re-entrant within one thread (``train()`` takes it, and ``prepare_run_dir`` checks
it again), so nested callers need not know whether an outer one already holds it. The lock file
is removed on release, and the directory too when the lock made it and nothing else was written
into it (a run that failed before writing anything leaves no empty directory).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import fcntl
import functools
import os
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from kpbench.errors import KpbenchError
from kpbench.inputs import read_text

LOCK_NAME = ".kpbench.lock"

_registry_lock = threading.Lock()
_held: dict[Path, _Held] = {}


@dataclass
class _Held:
    fd: int
    thread: int
    depth: int = 1
    created_dirs: list[Path] = field(default_factory=list)  # made for the lock, innermost first


def _key(out_dir: str | Path) -> Path:
    return Path(os.path.abspath(out_dir))


def holder_description(lock_path: Path) -> str:
    """What the lock file says about its holder, for the second writer's error."""
    try:
        text = read_text(lock_path, what="run lock", limit=4096)  # a FIFO or a huge file here is no holder's record
        fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    except (KpbenchError, ValueError):
        fields = {}
    if not fields.get("pid"):
        return "another kpbench process"
    return (f"kpbench pid {fields['pid']} on {fields.get('host', '?')} since {fields.get('started_utc', '?')}"
            f" ({fields.get('command', '?')})")


def _make_dirs(path: Path) -> list[Path]:
    """mkdir -p that returns the directories it created, innermost first."""
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        with contextlib.suppress(FileExistsError):
            d.mkdir()
    return missing


def _acquire(out_dir: Path) -> _Held:
    if out_dir.exists() and not out_dir.is_dir():
        raise KpbenchError(f"{out_dir}: exists and is not a directory")
    try:
        created = _make_dirs(out_dir)
    except OSError as e:
        raise KpbenchError(f"{out_dir}: cannot create the run directory ({e.strerror or e})") from None
    lock_path = out_dir / LOCK_NAME
    for _ in range(20):  # retried only when a releasing holder unlinked the file under us
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as e:
            _remove_dirs(created)
            raise KpbenchError(f"{lock_path}: cannot create the run lock ({e.strerror or e})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise KpbenchError(f"{out_dir} is in use by {holder_description(lock_path)}; "
                               "wait for it to finish or choose another --out") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock_path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            _write_holder(fd)
            return _Held(fd=fd, thread=threading.get_ident(), created_dirs=created)
        os.close(fd)  # we locked a file its holder had just removed: take the new one
    raise KpbenchError(f"{lock_path}: could not take the run lock")


def _write_holder(fd: int) -> None:
    started = _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    command = " ".join(["kpbench", *sys.argv[1:]])[:200] if sys.argv else "kpbench"
    text = f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted_utc={started}\ncommand={command}\n"
    with contextlib.suppress(OSError):  # a full disk must not stop the lock itself from working
        os.ftruncate(fd, 0)
        os.pwrite(fd, text.encode("utf-8"), 0)


def _remove_dirs(dirs: list[Path]) -> None:
    for d in dirs:  # innermost first; stops at the first that holds something
        try:
            d.rmdir()
        except OSError:
            return


def _release(out_dir: Path, held: _Held) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(out_dir / LOCK_NAME)  # while still holding it: see the inode check in _acquire
    os.close(held.fd)
    _remove_dirs(held.created_dirs)


@contextlib.contextmanager
def run_dir_lock(out_dir: str | Path) -> Iterator[Path]:
    """Hold ``out_dir``'s lock for the block (creating the directory); KpbenchError if another process holds it."""
    key, held = _enter(out_dir)
    try:
        yield key
    finally:
        with _registry_lock:
            held.depth -= 1
            if held.depth == 0:
                del _held[key]
                _release(key, held)


def _enter(out_dir: str | Path) -> tuple[Path, _Held]:
    key = _key(out_dir)
    with _registry_lock:
        held = _held.get(key)
        if held is not None and held.thread != threading.get_ident():
            raise KpbenchError(f"{out_dir} is in use by another thread of this process; choose another --out")
        if held is not None:
            held.depth += 1
        else:
            held = _held[key] = _acquire(key)
    return key, held


def holder_elsewhere(out_dir: str | Path) -> str | None:
    """Who holds ``out_dir``'s lock when another process (or another open of it) does; None when no one does.

    For code about to remove or replace a directory it did not lock itself: a run still writing there
    must not lose its files. Takes nothing: a lock found free is released at once.
    """
    lock_path = _key(out_dir) / LOCK_NAME
    if is_locked_here(out_dir):
        return None
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError:
        return holder_description(lock_path)  # unreadable: assume the worst
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return holder_description(lock_path)
    finally:
        os.close(fd)  # closing drops a lock taken here
    return None


def is_locked_here(out_dir: str | Path) -> bool:
    """Whether this thread holds ``out_dir``'s lock."""
    held = _held.get(_key(out_dir))
    return held is not None and held.thread == threading.get_ident()


F = TypeVar("F", bound=Callable[..., Any])


def locks_out_dir(fn: F) -> F:
    """Decorator for a function taking ``out_dir=``: the directory is locked while it runs."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        out_dir = kwargs.get("out_dir")
        if out_dir is None:
            return fn(*args, **kwargs)
        with run_dir_lock(out_dir):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def hold_until_exit(out_dir: str | Path) -> None:
    """Take ``out_dir``'s lock for the rest of the process (for callers that hold no ``run_dir_lock``).

    Never released here: the kernel drops the flock when the process ends; a later
    ``run_dir_lock`` of the same directory in this thread re-enters it.
    """
    _enter(out_dir)
