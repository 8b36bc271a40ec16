"""load_faces: the one way into a FaceSet, from Kaggle's files (parsed once, then cached) or synthetic.

A cold load streams the CSV (or the zip member) through the parser while a
second thread hashes the file named (hashlib releases the GIL), writes the
arrays to the cache, and remembers the file's hash under its stat. A warm load
finds the hash from the stat and reads the arrays back: no hashing, no parsing.
Neither holds the file in memory: a load needs about one copy of the images.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np

from kpbench.data import cache as _cache  # the keyword argument `cache` of load_faces shadows the name
from kpbench.data import csvparse, kaggle
from kpbench.data.faceset import SYNTHETIC, FaceSet
from kpbench.data.synth import DEFAULT_ROWS, DEFAULT_SEED, synth_faces
from kpbench.data.synthwrite import synthetic_origin
from kpbench.errors import KpbenchError, located

__all__ = ["SYNTHETIC", "load_faces"]
SYNTHETIC_MAX_ROWS = 100_000  # 14× Kaggle's 7,049 faces, 3.7 GB as float32; more would only run out of memory
SYNTHETIC_MAX_SEED = 2**32 - 1


def load_faces(path: str | Path, *, cache: bool = True, progress: bool = True, split: str = "training") -> FaceSet:
    """Faces from Kaggle's files or ``"synthetic"``; see docs/design.md.

    ``path``: the competition zip, training.zip/test.zip, an extracted CSV, a
    directory holding those, or ``"synthetic"`` (2000 rows, seed 0;
    ``"synthetic:ROWS"`` or ``"synthetic:ROWS:SEED"`` for others). ``split``
    picks training or test from a directory or the competition zip; a single
    CSV is whatever its header says. ``meta`` = {"load": "parse"|"cache"|"synthetic",
    "load_s", "file", "synthetic": bool, and for synthetic faces "synthetic_rows",
    "synthetic_seed"}: files that ``kpbench data synth`` wrote, unchanged, count as
    synthetic too. ``sha256`` = the hash of the file named.
    """
    start_s = time.perf_counter()
    if isinstance(path, str) and (path == SYNTHETIC or path.startswith(SYNTHETIC + ":")):
        faces = _synthetic(path)
        # a copy per caller: the cached arrays stay as generated whatever a caller does
        faces = replace(faces, images=faces.images.copy(), keypoints=faces.keypoints.copy())
        return _with_meta(faces, SYNTHETIC, start_s, path)
    file = kaggle.find_file(path, split).resolve()
    if cache:
        sha = _cache.indexed_sha256(file)
        if sha is not None:
            arrays = _cache.load_arrays(sha, split)
            if arrays is not None:
                return _with_meta(_faceset(arrays, file, sha), "cache", start_s, str(file))
    st = file.stat()
    hasher = _Hasher(file)  # runs beside the parse
    arrays, how = _parse(file, split, hasher, cache=cache, progress=progress)
    sha = hasher.result()
    if cache and _same_stat(file, st):  # a file changed while being read: its arrays and hash may disagree
        if how == "parse":
            _cache.save_arrays(sha, split, arrays)
        _cache.record_sha256(file, st, sha)
    return _with_meta(_faceset(arrays, file, sha), how, start_s, str(file))


def _parse(file: Path, split: str, hasher: _Hasher, *, cache: bool, progress: bool) -> tuple[dict[str, np.ndarray], str]:
    """(arrays, "parse"), or (arrays, "cache") when the hash turns up in the cache before the parse ends."""
    hit: dict[str, np.ndarray] | None = None
    checked = not cache

    def check_cache() -> None:
        # the same content seen under another name or stat: stop parsing, take the cached arrays
        nonlocal hit, checked
        if not checked and hasher.done():
            checked = True  # looked up once, as soon as the hash is known
            hit = _cache.load_arrays(hasher.result(), split)
            if hit is not None:
                raise _CacheHit

    with kaggle.open_faces_csv(file, split) as (member, stream, size_bytes):
        bar = _LazyBar(f"parsing {member}", enabled=progress)

        def on_rows(done: int, total: int) -> None:
            bar.update(done, total)
            check_cache()

        try:
            check_cache()  # a small file or zip is often hashed already
            parsed = csvparse.parse_faces_stream(stream, member.rsplit("/", 1)[-1], size_bytes, on_rows)
            return _arrays(parsed), "parse"
        except _CacheHit:
            return hit, "cache"
        finally:
            bar.close()


def _same_stat(file: Path, st: os.stat_result) -> bool:
    try:
        now = file.stat()
    except OSError:
        return False
    return (now.st_size, now.st_mtime_ns, now.st_ctime_ns, now.st_ino) == (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


class _CacheHit(Exception):
    pass


class _Hasher:
    """sha256 of a file, read in blocks by a thread of its own (never the whole file in memory)."""

    def __init__(self, file: Path) -> None:
        self.sha256 = ""
        self._file = file
        self._error: OSError | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        h = hashlib.sha256()
        try:
            with open(self._file, "rb") as f:
                while block := f.read(1 << 20):
                    h.update(block)
        except OSError as e:
            self._error = e
        self.sha256 = h.hexdigest()

    def done(self) -> bool:
        return not self._thread.is_alive()

    def result(self) -> str:
        self._thread.join()
        if self._error is not None:
            raise located(self._file, f"can't read ({self._error.strerror or self._error})")
        return self.sha256


def _arrays(parsed: csvparse.ParsedCSV) -> dict[str, np.ndarray]:
    arrays = {"images": parsed.images}
    if parsed.keypoints is not None:
        arrays["keypoints"] = parsed.keypoints
    if parsed.image_ids is not None:
        arrays["image_ids"] = parsed.image_ids
    return arrays


def _faceset(arrays: dict[str, np.ndarray], file: Path, sha: str) -> FaceSet:
    return FaceSet(
        images=arrays["images"],
        keypoints=arrays.get("keypoints"),
        image_ids=arrays.get("image_ids"),
        source=str(file),
        sha256=sha,
    )


def _with_meta(faces: FaceSet, how: str, start_s: float, file: str) -> FaceSet:
    origin = faces.meta if how == SYNTHETIC else synthetic_origin(Path(file), faces)
    meta = {**faces.meta, "load": how, "file": file, "synthetic": origin is not None}
    if origin is not None:
        meta.update(synthetic_rows=origin["synthetic_rows"], synthetic_seed=origin["synthetic_seed"])
    meta["load_s"] = time.perf_counter() - start_s
    return replace(faces, meta=meta)


def _synthetic(spec: str) -> FaceSet:
    parts = spec.split(":")[1:]
    try:
        rows = int(parts[0]) if parts else None
        seed = int(parts[1]) if len(parts) > 1 else None
        rows_ok = rows is None or 1 <= rows <= SYNTHETIC_MAX_ROWS
        if len(parts) > 2 or not rows_ok or not (seed is None or 0 <= seed <= SYNTHETIC_MAX_SEED):
            raise ValueError
    except ValueError:
        shown = spec if len(spec) <= 40 else spec[:40] + "…"
        raise KpbenchError(f"{shown!r}: expected '{SYNTHETIC}', '{SYNTHETIC}:ROWS' or '{SYNTHETIC}:ROWS:SEED' "
                           f"(ROWS 1 to {SYNTHETIC_MAX_ROWS:,}, SEED 0 to {SYNTHETIC_MAX_SEED})") from None
    return _synthetic_cached(DEFAULT_ROWS if rows is None else rows, DEFAULT_SEED if seed is None else seed)


@lru_cache(maxsize=4)
def _synthetic_cached(rows: int, seed: int) -> FaceSet:
    faces = synth_faces(rows, seed)
    h = hashlib.sha256(faces.images.tobytes())
    h.update(np.ascontiguousarray(faces.keypoints).tobytes())
    return replace(faces, sha256=h.hexdigest())


class _LazyBar:
    """A transient rich progress bar on stderr, shown only if the work lasts over a second."""

    def __init__(self, description: str, *, enabled: bool) -> None:
        self._description = description
        self._enabled = enabled and sys.stderr.isatty()
        self._start_s = time.perf_counter()
        self._progress = None
        self._task = None

    def update(self, done: int, total: int) -> None:
        if not self._enabled:
            return
        if self._progress is None:
            if time.perf_counter() - self._start_s < 1.0:
                return
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total} rows"),
                TimeRemainingColumn(), console=Console(stderr=True), transient=True,
            )
            self._progress.start()
            self._task = self._progress.add_task(self._description, total=total)
        self._progress.update(self._task, completed=done, total=total)

    def close(self) -> None:
        if self._progress is not None:
            self._progress.stop()
