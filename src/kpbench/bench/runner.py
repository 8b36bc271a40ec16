"""Run a bench: warm-up and counted repeats, each in a fresh worker process.

The runner never imports CUDA state itself; it spawns ``kpbench.bench.worker``
per repeat (interpreter start and imports are then on the clock every time),
reads each worker's JSON result, and hands them to record.build_record.
Ctrl-C stops the worker and writes nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from kpbench.bench import fingerprint, flops, mllog, record
from kpbench.bench.config import BenchConfig, train_settings
from kpbench.bench.output import RepeatProgress
from kpbench.errors import KpbenchError

ERROR_TAIL_CHARS = 400


def resolved(cfg: BenchConfig) -> BenchConfig:
    """cfg with every None training setting replaced by TrainConfig's default, then checked.

    The caller has run _check_numbers already (before importing torch: bad input fails fast).
    """
    from kpbench.train import TrainConfig

    defaults = TrainConfig()
    filled = BenchConfig(**cfg.to_dict())
    for name in ("model", "batch_size", "precision", "device"):
        if getattr(filled, name) is None:
            setattr(filled, name, getattr(defaults, name))
    _check_data(filled)
    # Training's own checks (precision and device names …) before any repeat runs.
    train_cfg = TrainConfig.from_dict(train_settings(filled.to_dict(), 0)).validate()
    filled.epochs = train_cfg.planned_epochs  # None: the time budget decides
    return filled


def _check_numbers(cfg: BenchConfig) -> None:
    for name in ("repeats", "epochs", "batch_size"):
        if getattr(cfg, name) is not None and int(getattr(cfg, name)) <= 0:
            raise KpbenchError(f"--{name.replace('_', '-')} must be at least 1, got {getattr(cfg, name)}")
    if cfg.warmup_repeats < 0:
        raise KpbenchError(f"--warmup must be 0 or more, got {cfg.warmup_repeats}")
    if cfg.rows is not None and cfg.rows <= 0:
        raise KpbenchError(f"--rows must be at least 1, got {cfg.rows}")
    for name, flag in (("time_budget_s", "--time-budget"), ("target_rmse_px", "--target-rmse"),
                       ("price_per_hour", "--price-per-hour")):
        value = getattr(cfg, name)
        if value is not None and value <= 0:
            raise KpbenchError(f"{flag} must be positive, got {value}")


def _check_data(cfg: BenchConfig) -> None:
    # The model name is checked by TrainConfig.validate.
    if str(cfg.data) != "synthetic" and not Path(cfg.data).exists():
        raise KpbenchError(f"{cfg.data}: no such file or directory")


def check_writable(out_dir: Path) -> None:
    """Fail before minutes of benching, not after, when the Record cannot be written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out_dir):
            pass
    except OSError as e:
        raise KpbenchError(f"{out_dir}: cannot write the Record there ({e.strerror or e})") from None


def worker_command(job_path: Path, result_path: Path, spawn_s: float) -> list[str]:
    """The command line of one repeat (tests substitute a failing one)."""
    return [sys.executable, "-m", "kpbench.bench.worker", str(job_path), str(result_path), repr(spawn_s)]


def run_repeat(job: dict, work_dir: Path, index: int) -> dict:
    """One fresh worker process; its result dict (``ok`` False with the error when it failed)."""
    job_path = work_dir / f"job-{index}.json"
    result_path = work_dir / f"result-{index}.json"
    log_path = work_dir / f"worker-{index}.log"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    with open(log_path, "wb") as log:
        spawn_s = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(worker_command(job_path, result_path, spawn_s), stdout=log, stderr=log)
        try:
            returncode = proc.wait()
        except BaseException:  # Ctrl-C: stop the worker, keep nothing
            _stop(proc)
            raise
        wall_s = time.perf_counter() - start
    if returncode in (130, -2):  # the worker saw Ctrl-C (it shares our terminal's process group)
        raise KeyboardInterrupt
    out = _read_result(result_path)
    if out is None or (out.get("ok") and returncode != 0):
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        reason = tail[-1] if tail else "no output"
        out = {"ok": False, "error": f"worker exited with code {returncode}: {reason}"[:ERROR_TAIL_CHARS]}
    out["wall_s"] = wall_s
    return out


def _read_result(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def record_name(machine: dict, model: str, when_s: float) -> str:
    where = machine.get("instance_type") or fingerprint.host_name()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when_s))
    safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in f"{where}-{model}")
    return f"record-{safe}-{stamp}.json"


def run_bench(
    cfg: BenchConfig,
    out_dir: str | Path,
    *,
    progress: bool = True,
    on_repeat: Callable[[dict], None] | None = None,
) -> tuple[dict, Path]:
    """Bench per cfg; writes the Record (and its .mllog beside it) into out_dir.

    Returns (Record, path of its JSON). KpbenchError for bad input, before any
    repeat runs, and when every repeat failed.
    """
    out_dir = Path(out_dir)
    _check_numbers(cfg)
    check_writable(out_dir)
    instance = fingerprint.resolve_instance(cfg.instance_type, cfg.price_per_hour)
    cfg = resolved(cfg)
    started_s = time.time()
    total = cfg.warmup_repeats + cfg.repeats
    bar = RepeatProgress(cfg.repeats, cfg.warmup_repeats, enabled=progress)
    runs: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="kpbench-bench-") as tmp:
        for i in range(total):
            is_warmup = i < cfg.warmup_repeats
            repeat = i if is_warmup else i - cfg.warmup_repeats
            bar.start(repeat, is_warmup)
            out = run_repeat({"config": cfg.to_dict(), "repeat": i}, Path(tmp), i)
            out["repeat"] = repeat  # the counted repeat's number, not the worker's job index
            bar.end(out)
            if on_repeat:
                on_repeat(out)
            if not is_warmup:
                runs.append(out)
    first = record.ok_runs(runs)[0]
    machine = fingerprint.machine_fingerprint(instance, first["gpu"])
    rec = record.build_record(
        runs,
        requested=cfg.repeats,
        warmup=cfg.warmup_repeats,
        label=cfg.label,
        config=_record_config(cfg, first),
        machine=machine,
        software=fingerprint.software_fingerprint(first["torch"]),
        flops={},  # filled below from the Record's own images/s median
    )
    rec["flops"] = flops.flops_summary(
        flops.train_flops_per_image(cfg.model),
        rec["figures"]["images_per_s"]["median"],
        machine["gpu"],
        first["precision"],
        tf32=first.get("tf32", False),
    )
    path = _free_path(out_dir / record_name(machine, cfg.model, started_s))
    record.write_record(path, rec)
    mllog.write_mllog(path.with_suffix(".mllog"), [r for r in runs if "events" in r])
    return rec, path


def _free_path(path: Path) -> Path:
    # Two benches in the same second must not overwrite each other.
    n = 1
    candidate = path
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        n += 1
    return candidate


def _record_config(cfg: BenchConfig, first: dict) -> dict:
    data = first["data"]
    synthetic = str(cfg.data) == "synthetic"
    return {
        "model": cfg.model,
        "batch_size": int(cfg.batch_size),
        "epochs": int(cfg.epochs or first["epochs_run"]),
        "time_budget_s": cfg.time_budget_s,
        "target_rmse_px": cfg.target_rmse_px,
        "precision": first["precision"],
        "device": first["device"],
        "data": "synthetic" if synthetic else os.fspath(cfg.data),
        "data_sha256": data["sha256"] or f"synthetic-{data['rows']}-0",  # synthetic faces use seed 0
        "rows": int(data["rows"]),
        "missing": first.get("missing", "mask"),
        "seed": cfg.seed,
    }
