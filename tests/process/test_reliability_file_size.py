"""A file-size limit (`ulimit -f`) on `kpbench train`: one line naming the file, exit 2, nothing left.

The limit has to be set in a process of its own (it would bind pytest too); the same rules on a
full disk, in process: tests/unit/test_reliability_disk.py.
"""

from __future__ import annotations

import resource
import signal

from helpers import one_line_naming, run_kpbench

MIB = 1 << 20


def _limited(limit_bytes: int):
    def set_limit() -> None:  # in the child: the limit applies to root too, unlike a full tmpfs
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)  # kpbench's own main must ignore it
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return set_limit


def test_train_over_the_file_size_limit_is_one_line_naming_the_file(tmp_path):
    out = tmp_path / "deep" / "run"
    r = run_kpbench("train", "--data", "synthetic:32", "--out", out, "--epochs", "1", "--batch-size", "16",
                    "--threads", "1", "--no-progress", subprocess=True, preexec_fn=_limited(MIB))
    assert r.code == 2, r.err
    assert one_line_naming(r.err, out / "checkpoint.pt") and "file too large" in r.err
    assert not (tmp_path / "deep").exists()
