"""Cold starts: evict a repeat's files from the page cache before it runs (``kpbench bench --cold``).

A freshly booted instance reads the interpreter, torch and the data from disk; a warm machine
finds them in memory. Before each repeat the runner calls ``posix_fadvise(POSIX_FADV_DONTNEED)``
on every file the worker will read: the interpreter and its standard library, the installed
files of torch, numpy and kpbench and everything they require, kpbench's own sources, the
data file and kpbench's cache directory, plus every file an earlier repeat had mapped (shared
libraries from the system). No root is needed. The kernel keeps pages that some process still
maps (another Python with torch loaded) or that are dirty, so each eviction measures with
``mincore`` how much stayed resident: a Record says what "cold" meant on its machine.

Not possible (and then the bench runs warm, says why once, and records ``cold: false``):
not Linux (no posix_fadvise/mincore), or no file could be advised (a filesystem that refuses).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import importlib.metadata as metadata
import importlib.util
import mmap
import os
import re
import sys
import sysconfig
import time
from collections.abc import Iterable
from pathlib import Path

ROOT_DISTRIBUTIONS = ("torch", "numpy", "kpbench")  # what a worker imports; their requirements follow
PAGE = mmap.PAGESIZE
RECENT_WRITE_S = 120.0  # files written this recently may hold dirty pages: written back before the advice


def unavailable_reason() -> str | None:
    """Why this machine cannot evict files from its page cache; None when it can."""
    if not sys.platform.startswith("linux"):
        return f"page-cache eviction needs Linux's posix_fadvise and mincore; this is {sys.platform}"
    if not hasattr(os, "posix_fadvise"):
        return "this Python has no os.posix_fadvise"
    if _libc() is None:
        return "libc's mincore cannot be loaded"
    return None


def files_to_evict(data: str | os.PathLike | None, extra: Iterable[str] = ()) -> list[Path]:
    """Every regular file a repeat reads: interpreter, stdlib, the installed distributions, kpbench, data."""
    found: set[Path] = {Path(sys.executable).resolve()}
    for key in ("stdlib", "platstdlib"):
        found |= _tree(Path(sysconfig.get_paths()[key]), skip="site-packages")
    found |= _distribution_files(ROOT_DISTRIBUTIONS)
    spec = importlib.util.find_spec("kpbench")
    if spec and spec.submodule_search_locations:  # an editable install lists no sources of its own
        for location in spec.submodule_search_locations:
            found |= _tree(Path(location))
    if data is not None and Path(data).exists():
        found |= _tree(Path(data)) if Path(data).is_dir() else {Path(data).resolve()}
    from kpbench.data.cache import cache_dir

    found |= _tree(cache_dir())
    found |= {Path(p) for p in extra}
    return sorted(p for p in found if p.is_file())


def mapped_files(maps_text: str | None = None) -> list[str]:
    """The files this process has mapped (/proc/self/maps): shared libraries the lists above miss."""
    if maps_text is None:
        try:
            maps_text = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return []
    out = set()
    for line in maps_text.splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/") and not parts[5].endswith("(deleted)"):
            out.add(parts[5])
    return sorted(out)


def evict(files: list[Path]) -> dict:
    """Advise the kernel to drop each file's cached pages; the Record's ``eviction`` entry.

    resident_before_mb / resident_after_mb: pages of these files in memory just before and
    after (mincore); what stays resident is mapped by some process or could not be dropped.
    """
    start, start_wall = time.perf_counter(), time.time()
    before = sum(resident_bytes(p) for p in files)
    failed = 0
    size = 0
    for path in files:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            failed += 1
            continue
        try:
            st = os.fstat(fd)
            size += st.st_size
            if st.st_mtime > start_wall - RECENT_WRITE_S:  # dirty pages stay cached whatever the advice
                os.fdatasync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        except OSError:
            failed += 1
        finally:
            os.close(fd)
    after = sum(resident_bytes(p) for p in files)
    return {"files": len(files), "mb": size / 1e6, "resident_before_mb": before / 1e6,
            "resident_after_mb": after / 1e6, "evict_s": time.perf_counter() - start, "failed_files": failed}


def resident_bytes(path: Path) -> int:
    """Bytes of ``path`` in the page cache now (mincore over a private read-only mapping); 0 if unknown."""
    libc = _libc()
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return 0
    try:
        size = os.fstat(fd).st_size
        if size == 0 or libc is None:
            return 0
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr in (None, ctypes.c_void_p(-1).value):
            return 0
        try:
            pages = (size + PAGE - 1) // PAGE
            vec = (ctypes.c_ubyte * pages)()
            if libc.mincore(ctypes.c_void_p(addr), size, vec) != 0:
                return 0
            return min(size, sum(b & 1 for b in vec) * PAGE)
        finally:
            libc.munmap(ctypes.c_void_p(addr), size)
    finally:
        os.close(fd)


_LIBC: list = []


def _libc():
    if not _LIBC:
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.mmap.restype = ctypes.c_void_p
            libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long)
            libc.munmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t)
            libc.mincore.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
            _LIBC.append(libc)
        except (OSError, AttributeError):
            _LIBC.append(None)
    return _LIBC[0]


def _tree(root: Path, skip: str | None = None) -> set[Path]:
    """Regular files under ``root`` (not following links out of it), leaving out directories named ``skip``."""
    out: set[Path] = set()
    if root.is_file():
        return {root.resolve()}
    for dirpath, dirnames, filenames in os.walk(root):
        if skip:
            dirnames[:] = [d for d in dirnames if d != skip]
        out.update(Path(dirpath, name) for name in filenames)
    return out


def _distribution_files(roots: Iterable[str]) -> set[Path]:
    """The installed files of ``roots`` and of every distribution they require (extras left out)."""
    seen: set[str] = set()
    files: set[Path] = set()
    todo = list(roots)
    while todo:
        name = todo.pop()
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue
        key = re.sub(r"[-_.]+", "-", dist.metadata["Name"]).lower()
        if key in seen:
            continue
        seen.add(key)
        files.update(Path(dist.locate_file(f)) for f in dist.files or ())
        todo += [re.split(r"[ ;<>=!~\[(]", r, maxsplit=1)[0] for r in dist.requires or () if "extra ==" not in r]
    return files


class ColdStarts:
    """The runner's evictions, one before each repeat; learns the files each worker had mapped."""

    def __init__(self, data: str | os.PathLike | None) -> None:
        self.data = data
        self.learned: set[str] = set()

    def before_repeat(self) -> dict:
        """Evict now; the Record's ``eviction`` entry for the repeat about to start."""
        return evict(files_to_evict(self.data, self.learned))

    def learn(self, mapped: Iterable[str]) -> None:
        self.learned.update(mapped)


def probe(data: str | os.PathLike | None) -> str | None:
    """Why --cold cannot work here (one advise tried on the interpreter and the data); None when it can."""
    reason = unavailable_reason()
    if reason:
        return reason
    for path in [Path(sys.executable)] + ([Path(data)] if data is not None and Path(data).is_file() else []):
        try:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        except OSError as e:
            return f"posix_fadvise refused {path} ({e.strerror or e})"
    return None
