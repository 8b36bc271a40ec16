"""How a Record comes home: printed on marker lines into the job's log, read back from the log.

SkyPilot 0.14 has no ``sky rsync``, and copying over the SSH config SkyPilot writes needs the
cluster alive and reachable from this machine (not so behind a remote API server, and racing
``down=True``). The job's log always reaches the client through ``sky.tail_logs``, so the task
prints each result file as gzip+base64 between marker lines, and ``collect`` decodes it.

SkyPilot prefixes every log line (``(task, pid=123) ``, ``(worker1, rank=1, …) ``), so markers
are searched anywhere in a line. The remote side runs ``python -m kpbench.cloud.transfer emit DIR``.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import hashlib
import json
import os
import re
import stat
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from kpbench.errors import KpbenchError

BEGIN, DATA, END = "KPBENCH-RECORD-BEGIN", "KPBENCH-RECORD-DATA", "KPBENCH-RECORD-END"
SETUP_START, JOB_START = "KPBENCH-SETUP-START", "KPBENCH-JOB-START"
CHUNK_CHARS = 76  # short lines: no log pipeline truncates them
MAX_LINE_CHARS = 1 << 20  # a longer line of a job log is read in pieces (markers never are that long)
_MARK = re.compile(r"(KPBENCH-RECORD-BEGIN|KPBENCH-RECORD-DATA|KPBENCH-RECORD-END|KPBENCH-SETUP-START|"
                   r"KPBENCH-JOB-START)\s+(\S+)(?:\s+(\S+))?")


@dataclass
class Decoded:
    """What a job log held: result files by name, the task's own timestamps (epoch s), problems."""

    files: dict[str, bytes]
    setup_start_s: float | None
    job_start_s: float | None
    problems: list[str]


@contextlib.contextmanager
def open_log(path: Path) -> Iterator[Iterator[str]]:
    """The lines of a saved job log, each at most MAX_LINE_CHARS; a regular file only (a FIFO never ends)."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with open(fd, encoding="utf-8", errors="replace", newline="") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise KpbenchError(f"{path}: not a regular file, so not a job log")
        yield iter(lambda: f.readline(MAX_LINE_CHARS), "")


def encode_file(name: str, data: bytes) -> list[str]:
    """The marker lines for one file (no newlines)."""
    payload = base64.b64encode(gzip.compress(data, mtime=0)).decode("ascii")
    digest = hashlib.sha256(data).hexdigest()
    lines = [f"{BEGIN} {name} {digest}"]
    lines += [f"{DATA} {payload[i:i + CHUNK_CHARS]}" for i in range(0, len(payload), CHUNK_CHARS)]
    return lines + [f"{END} {name}"]


def decode_log(lines: Iterable[str]) -> Decoded:
    """Files between BEGIN and END markers (checked against their sha256), and the timestamps."""
    out = Decoded({}, None, None, [])
    name = digest = None
    chunks: list[str] = []
    for line in lines:
        m = _MARK.search(line)
        if not m:
            continue
        kind, value, extra = m.groups()
        if kind in (SETUP_START, JOB_START):
            stamp = _float(value)
            if kind == SETUP_START and out.setup_start_s is None:
                out.setup_start_s = stamp
            elif kind == JOB_START and out.job_start_s is None:
                out.job_start_s = stamp
        elif kind == BEGIN:
            name, digest, chunks = value, extra, []
        elif kind == DATA and name is not None:
            chunks.append(value)
        elif kind == END and name is not None:
            _finish(out, name, digest, chunks)
            name = None
    if name is not None:
        out.problems.append(f"{name}: the log ends inside it (job cut short?)")
    return out


def _finish(out: Decoded, name: str, digest: str | None, chunks: list[str]) -> None:
    try:
        data = gzip.decompress(base64.b64decode("".join(chunks), validate=True))
    except (ValueError, OSError, EOFError) as e:
        out.problems.append(f"{name}: garbled in the log ({e})")
        return
    if hashlib.sha256(data).hexdigest() != digest:
        out.problems.append(f"{name}: checksum mismatch, dropped")
        return
    out.files[name] = data


def _float(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def emit(paths: list[Path], stream=None) -> int:
    """Print every *.json file under ``paths`` as marker lines; returns how many were printed."""
    stream = stream or sys.stdout
    files = sorted(f for p in paths for f in ([p] if p.is_file() else Path(p).glob("*.json")))
    for f in files:
        for line in encode_file(f.name, f.read_bytes()):
            print(line, file=stream)
    stream.flush()
    return len(files)


def stamp_command(kind: str) -> str:
    """A shell line printing a timestamp marker. Shell, not Python: setup stamps before kpbench exists."""
    return f'echo "{SETUP_START if kind == "setup" else JOB_START} $(date +%s.%N)"'


def main(argv: list[str]) -> int:
    """``emit DIR…``: the task's last step."""
    if len(argv) >= 2 and argv[0] == "emit":
        if emit([Path(a) for a in argv[1:]]) == 0:
            print("kpbench: error: no result files to send back", file=sys.stderr)
            return 3
        return 0
    print("usage: python -m kpbench.cloud.transfer emit DIR…", file=sys.stderr)
    return 2


def record_name_ok(name: str) -> bool:
    """A file name from a log is only trusted as a plain *.json name (no paths)."""
    return bool(re.fullmatch(r"[A-Za-z0-9._-]+\.json", name)) and not name.startswith(".")


def loads(data: bytes) -> dict | None:
    try:
        obj = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return obj if isinstance(obj, dict) else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
