"""What kpbench takes from a user's files, options and environment, checked where it is read.

- ``read_bytes``/``read_text``: a file read whole (a Record, a plan, a catalog, launch state): a
  regular file only (``/dev/zero`` or a FIFO would never end) and at most ``limit`` bytes, else one
  KpbenchError naming it.
- ``instance_type``: an instance type becomes a file name (``<type>.yaml``, ``launch/<type>.json``,
  ``logs/<type>.log``, Record names) and a SkyPilot resource, so it must match a strict pattern
  wherever it is read (catalog, plan, launch state, metadata service, --instance-type).
- ``number``: a number from an option, a variable or a file: finite and within its range.
- ``shown``: a value from outside as a short, printable quotation for an error message.
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path

from kpbench.errors import KpbenchError

JSON_LIMIT_BYTES = 16 << 20  # a Record, a plan, a catalog: kilobytes; a thousand times that is refused
STATE_LIMIT_BYTES = 1 << 20  # one cluster's launch state
INSTANCE_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # g4dn.xlarge, p4d.24xlarge, Standard_NC6s_v3


class Refused(KpbenchError):
    """A file refused before reading it: not a regular file, or over its size limit (exit 2)."""


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_bytes(path: str | Path, *, what: str, limit: int = JSON_LIMIT_BYTES) -> bytes:
    """The bytes of regular file ``path``, at most ``limit``; one-line KpbenchError naming ``what`` otherwise."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; it is refused below.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise KpbenchError(f"{path}: no such file") from None
    except OSError as e:
        raise KpbenchError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise Refused(f"{path}: {kind}, not a {what} file (only regular files are read)")
        with os.fdopen(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)  # one byte more shows a file that grew past the limit while read
    except OSError as e:
        raise KpbenchError(f"{path}: cannot read {what} ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Refused(f"{path}: more than {limit:,} bytes, too large for a {what}: refused")
    return data


def read_text(path: str | Path, *, what: str, limit: int = JSON_LIMIT_BYTES) -> str:
    """``read_bytes`` as UTF-8 text; undecodable bytes are one line naming the file."""
    try:
        return read_bytes(path, what=what, limit=limit).decode("utf-8")
    except UnicodeDecodeError as e:
        raise KpbenchError(f"{Path(path).name}: not UTF-8 text, so not a {what} ({e.reason} at byte {e.start})") from None


def is_instance_type(value: object) -> bool:
    return isinstance(value, str) and INSTANCE_TYPE.fullmatch(value) is not None


def instance_type(value: object, where: str) -> str:
    """``value`` if it is an instance type (letters, digits, '.', '_', '-'; a letter or digit first; 64 at most)."""
    if not is_instance_type(value):
        raise KpbenchError(f"{where}: {shown(value)} is not an instance type (letters, digits, '.', '_' and '-', "
                           "starting with a letter or digit, at most 64)")
    return value  # type: ignore[return-value]


def number(value: object, name: str, *, lo: float, hi: float, integer: bool = False) -> float:
    """``value`` if it is a finite number (a whole one with ``integer``) with lo <= value <= hi."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    if ok and integer:
        ok = isinstance(value, int) or (math.isfinite(value) and float(value).is_integer())
    if ok and math.isfinite(value) and lo <= value <= hi:
        return value  # type: ignore[return-value]
    kind = "a whole number" if integer else "a number"
    if not ok or not math.isfinite(value):
        raise KpbenchError(f"{name} must be {kind} from {lo:g} to {hi:g}, got {shown(value)}")
    if value < lo:
        least = f"a non-negative {kind[2:]}" if lo == 0 else f"at least {lo:g}"
        raise KpbenchError(f"{name} must be {least}, got {shown(value)}")
    raise KpbenchError(f"{name} must be at most {hi:g}, got {shown(value)}")


def shown(value: object, width: int = 60) -> str:
    """A quotation of ``value`` for a message: repr (control characters escaped), cut to ``width``."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"
