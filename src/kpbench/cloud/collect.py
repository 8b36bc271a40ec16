"""`kpbench cloud collect DIR`: the Records out of the saved job logs, with their provisioning time, then compare and report.

Each bench Record gets a top-level ``"cloud"`` block: ``provision_s`` is the launch call to the
job's start (sky.queue's ``start_at``, else the task's own ``KPBENCH-JOB-START`` stamp), a
billed phase that is neither ``init_s`` nor ``train_s``; ``setup_s`` (inside it) is the task's
setup, when its stamps are in the log. Nothing here talks to SkyPilot: it reads what launch saved.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from kpbench import atomic
from kpbench.bench.record import SCHEMA_FILES, check_record
from kpbench.cloud.state import log_file, own_subdir, read_launch_states, read_plan
from kpbench.cloud.transfer import decode_log, loads, open_log, record_name_ok
from kpbench.errors import KpbenchError, RunFailed
from kpbench.lock import run_dir_lock

RECORDS_DIR, COMPARE_DIR, REPORT_DIR = "records", "compare", "report"


@dataclass
class Collected:
    records: list[Path] = field(default_factory=list)  # bench Records, with their cloud block
    others: list[Path] = field(default_factory=list)  # other results (dist-scale Records)
    warnings: list[str] = field(default_factory=list)
    compare_files: dict[str, Path] = field(default_factory=dict)
    comparison: object | None = None


def collect(plan_dir: Path, *, compare_records: bool = True) -> Collected:
    """Write DIR/records/*.json from the logs, then DIR/compare/ from the Records.

    The report (DIR/report/, see REPORT_DIR) is written by the caller: report sits above cloud.
    """
    plan_dir = Path(plan_dir).absolute()
    read_plan(plan_dir)
    with run_dir_lock(plan_dir):  # not while a launch of this plan still writes its logs
        return _collect(plan_dir, compare_records)


def _collect(plan_dir: Path, compare_records: bool) -> Collected:
    launches = read_launch_states(plan_dir)
    for sub in (RECORDS_DIR, COMPARE_DIR, REPORT_DIR):
        own_subdir(plan_dir, sub)
    out = Collected()
    files: dict[Path, bytes] = {}
    for state in launches:
        _collect_one(plan_dir, state, out, files)
    atomic.write_all(files)  # every Record or none: a bad one found above has stopped collect already
    if not out.records and not out.others:
        raise RunFailed(f"no Record in the job logs of {plan_dir} "
                        + (f"({'; '.join(out.warnings)})" if out.warnings else ""))
    if compare_records and out.records:  # dist-scale results (--nodes) are saved, not priced here
        from kpbench.cost import compare, write_comparison

        out.comparison = compare(out.records)
        out.compare_files = write_comparison(out.comparison, plan_dir / COMPARE_DIR)
    return out


def _collect_one(plan_dir: Path, state: dict, out: Collected, files: dict[Path, bytes]) -> None:
    """The results in one instance type's job log, checked, into ``files`` (nothing written here)."""
    name = state["instance_type"]
    log = plan_dir / log_file(name)  # derived from the checked instance type, never a path from the state
    if not log.exists() and not log.is_symlink():
        out.warnings.append(f"{name}: no job log ({state['status']}: {state.get('error') or 'no job ran'})")
        return
    with open_log(log) as f:
        decoded = decode_log(f)
    out.warnings += [f"{name}: {p}" for p in decoded.problems]
    if not decoded.files:
        out.warnings.append(f"{name}: no Record in its log ({state['status']}, exit {state.get('job_exit_code')})")
        return
    block = cloud_block(state, decoded.job_start_s, decoded.setup_start_s, out.warnings)
    for fname, data in decoded.files.items():
        obj = loads(data)
        if obj is None or not record_name_ok(fname):
            out.warnings.append(f"{name}: {fname[:80]!r} in its log is not a JSON result; skipped")
            continue
        path = plan_dir / RECORDS_DIR / fname
        if path in files:
            raise KpbenchError(f"{log} ({name}): {fname} was sent home by another job too; nothing collected")
        if is_bench_record(obj):
            if block is not None:
                obj["cloud"] = block
            check_record(obj, f"{log} ({name}): {fname}")
            out.records.append(path)
        else:
            out.others.append(path)
        files[path] = (json.dumps(obj, indent=2) + "\n").encode("utf-8")


def is_bench_record(obj: dict) -> bool:
    # dist-scale Records share the schema family with their own "kind"; only bench Records are priced.
    return obj.get("schema") in SCHEMA_FILES and obj.get("kind", "bench") == "bench" and isinstance(obj.get("figures"), dict)


def cloud_block(state: dict, stamp_job_s: float | None, stamp_setup_s: float | None,
                warnings: list[str]) -> dict | None:
    """The Record's "cloud" property; None (with a warning) when the job's start is unknown."""
    launched = state["launched_at_s"]
    start, source = state.get("job_start_at_s"), "sky.queue start_at"
    if start is None:
        start, source = stamp_job_s, "task timestamp (KPBENCH-JOB-START)"
    if launched is None or start is None or start < launched:
        warnings.append(f"{state.get('instance_type')}: the job's start is unknown or before the launch call "
                        f"(clock skew?); the Record has no provisioning time")
        return None
    block = {
        "provision_s": round(start - launched, 3),
        "setup_s": None,
        "cluster": state["cluster"],
        "launched_utc": _utc(launched),
        "job_start_utc": _utc(start),
        "job_start_source": source,
        "instance_type": state["instance_type"],
        "use_spot": bool(state.get("use_spot")),
        "nodes": state["nodes"],
        "provider": "aws",
    }
    if stamp_setup_s is not None and stamp_job_s is not None and stamp_job_s >= stamp_setup_s:
        block["setup_s"] = round(stamp_job_s - stamp_setup_s, 3)
    return block


def _utc(epoch_s: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_s))
