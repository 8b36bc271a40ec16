"""`kpbench demo --out D` while another process trains into D/runs/default: the run keeps every file.

The other process holds the run's lock exactly as `kpbench train --out D/runs/default` does
(kpbench.lock.run_dir_lock), then the demo is started beside it: one line, exit 2, nothing removed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from helpers import run_kpbench
from kpbench.demo import prepare_out_dir, record_written

HOLD = ("import sys, time\nfrom kpbench.lock import run_dir_lock\n"
        "with run_dir_lock(sys.argv[1]):\n    print('held', flush=True)\n    time.sleep(60)\n")


def test_a_demo_leaves_a_run_that_another_process_holds(tmp_path: Path):
    out = tmp_path / "D"
    prepare_out_dir(out)
    run = out / "runs" / "default"
    run.mkdir(parents=True)
    (run / "checkpoint.pt").write_bytes(b"the first demo's checkpoint")
    record_written(out)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(run)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.monotonic()
        r = run_kpbench("demo", "--out", out, subprocess=True, timeout_s=120)
        assert r.code == 2 and "in use by kpbench pid" in r.error_line and "left as it was" in r.error_line, r.err
        assert time.monotonic() - start < 60  # refused at once, not after the demo ran
        assert (run / "checkpoint.pt").read_bytes() == b"the first demo's checkpoint" and (run / ".kpbench.lock").exists()
    finally:
        holder.kill()
        holder.wait()
