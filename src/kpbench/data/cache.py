"""The parse cache: parsed arrays as .npz, keyed by the content hash of the file the user named.

Where: ``$KPBENCH_CACHE_DIR``, else ``$XDG_CACHE_HOME/kpbench``, else ``~/.cache/kpbench``.

Hashing a 100 MB CSV costs about as much as loading its cached arrays, so a
small index remembers each file's hash under its (path, size, mtime, ctime,
inode). An index entry is trusted only when the file's ctime is well before the
moment the entry was written: a write within the same timestamp tick could
otherwise change the content without changing the stat ("racy git"). ctime
cannot be set by the user, so a changed file always misses the index and is
hashed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
import zipfile
from pathlib import Path

import numpy as np

from kpbench.atomic import atomic_open, write_json

FORMAT = 1  # bump when the cached arrays change meaning
_RACY_NS = 2_000_000_000  # coarse filesystems (FAT) tick in 2 s


def cache_dir() -> Path:
    """Where parsed arrays are kept (see the module's docstring)."""
    env = os.environ.get("KPBENCH_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kpbench"


def _entry_path(sha256: str, member: str) -> Path:
    slug = "".join(c if c.isalnum() or c in "._-" else "_" for c in member)
    return cache_dir() / f"faces-{sha256}-{slug}-v{FORMAT}.npz"


def load_arrays(sha256: str, member: str) -> dict[str, np.ndarray] | None:
    """The cached arrays, or None when absent or unreadable (then the caller parses again)."""
    path = _entry_path(sha256, member)
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        return None


def save_arrays(sha256: str, member: str, arrays: dict[str, np.ndarray]) -> None:
    """Write the entry atomically; a cache that can't be written is skipped, not an error."""
    try:
        with atomic_open(_entry_path(sha256, member), "wb") as f:
            np.savez(f, **arrays)  # uncompressed: loading is a plain read
    except OSError:
        pass


# --- the stat index: path -> sha256 without reading the file ---------------------


def _index_path(path: Path) -> Path:
    return cache_dir() / "index" / (hashlib.sha256(str(path).encode()).hexdigest()[:32] + ".json")


def _stat_key(st: os.stat_result) -> list[int]:
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


def indexed_sha256(path: Path) -> str | None:
    """The file's hash from the index when its stat is unchanged and was not racy; else None."""
    try:
        st = path.stat()
        entry = json.loads(_index_path(path).read_text())
    except (OSError, ValueError):
        return None
    if entry.get("path") != str(path) or entry.get("stat") != _stat_key(st):
        return None
    if st.st_ctime_ns > entry.get("recorded_ns", 0) - _RACY_NS:
        return None  # written too close to when we looked: the content may have changed unseen
    return entry.get("sha256")


def record_sha256(path: Path, st: os.stat_result, sha256: str) -> None:
    """Remember the hash of ``path`` as it was when ``st`` was taken (before reading it)."""
    try:
        write_json(_index_path(path), {"path": str(path), "stat": _stat_key(st), "sha256": sha256, "recorded_ns": time.time_ns()})
    except OSError:
        pass
