"""Atomic writes: a reader sees the old file or the whole new one, never half of one.

Write to a temporary file in the same directory, fsync, then os.replace; an
interrupted write leaves only the temporary file, which is removed (a SIGKILL during a
write leaves ``.NAME.XXXX.tmp``, which the next run in that directory removes: see
``stale_temp_files``).

A full disk or quota (ENOSPC, EDQUOT), a file-size limit (EFBIG) or a read-only file system
becomes one KpbenchError naming the target, never the temporary file; the previous file is
left as it was and directories made for the write are removed again.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from kpbench.errors import KpbenchError

# Errors that mean "the disk cannot take this file", as the user should read them.
_NO_ROOM = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EFBIG: "file too large for this file system or the file-size limit (ulimit -f)",
    errno.EROFS: "read-only file system",
}
TEMP_PREFIX, TEMP_SUFFIX = ".", ".tmp"


class WriteFailed(KpbenchError, OSError):
    """A result could not be written (exit 2, one line naming the target).

    Also an OSError with the original ``errno``, so that code which treats a failed write as
    optional (the data cache) still catches it as before.
    """

    def __init__(self, message: str, errno_: int | None) -> None:
        super().__init__(message)
        self.errno = errno_
        # the bare reason, for callers that name another file (a staged copy's target) themselves
        self.strerror = os.strerror(errno_) if errno_ else None

    def __str__(self) -> str:  # the message, not OSError's "[Errno N] strerror"
        return str(self.args[0])


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_open(path: str | Path, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open a temporary sibling of ``path``; on clean exit it replaces ``path``."""
    path = Path(path)
    created = _make_parents(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as e:
        _remove_empty(created)
        raise _as_user_error(e, path) from None
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; results are meant to be shared
        with os.fdopen(fd, mode, **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:  # KeyboardInterrupt too: never leave a half-written file
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        _remove_empty(created)
        if isinstance(e, OSError) and not isinstance(e, WriteFailed) and e.errno in _NO_ROOM:  # others: the caller's own
            raise _as_user_error(e, path) from None
        raise


def _as_user_error(e: OSError, path: Path) -> WriteFailed:
    if e.errno in _NO_ROOM:
        return WriteFailed(f"{path}: cannot write: {_NO_ROOM[e.errno]} (nothing was written; "
                           "an earlier version of this file is unchanged)", e.errno)
    return WriteFailed(f"{path}: cannot write: {e.strerror or e}", e.errno)


def _make_parents(path: Path) -> list[Path]:
    """mkdir -p for ``path``'s parent; the directories it made, innermost first."""
    missing = []
    p = path.parent
    while not p.exists():
        missing.append(p)
        p = p.parent
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _remove_empty(missing)
        raise _as_user_error(e, path) from None
    return missing


def _remove_empty(dirs: list[Path]) -> None:
    for d in dirs:  # innermost first: a failed write leaves no empty directories behind
        try:
            d.rmdir()
        except OSError:
            return


def stale_temp_files(directory: str | Path) -> list[Path]:
    """Temporary files an atomic write killed mid-way (SIGKILL, power loss) left in ``directory``."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir()
                  if p.name.startswith(TEMP_PREFIX) and p.name.endswith(TEMP_SUFFIX) and p.is_file())


def write_text(path: str | Path, text: str) -> None:
    with atomic_open(path, "w", encoding="utf-8") as f:
        f.write(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    with atomic_open(path, "wb") as f:
        f.write(data)


def write_all(files: dict[Path, bytes]) -> None:
    """Every file or none: each is written and synced to its temporary sibling first, and only when all are
    complete are they renamed into place (an error on any leaves every target as it was)."""
    with contextlib.ExitStack() as stack:
        for path, data in files.items():
            f = stack.enter_context(atomic_open(path, "wb"))
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def write_json(path: str | Path, obj: Any) -> None:
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    # numpy scalars and Paths show up in results; write them as plain JSON values
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot write {type(obj).__name__} as JSON")


def torch_save(obj: Any, path: str | Path) -> None:
    """torch.save through a temporary file (checkpoints and models).

    Serialised in memory first: torch's own writer turns a full disk into a RuntimeError with
    no errno, while a plain write gives ENOSPC, which names the target (see atomic_open).
    """
    import torch

    buf = io.BytesIO()
    torch.save(obj, buf)
    write_bytes(path, buf.getbuffer())
