"""Run a bench: warm-up and counted repeats, each in a fresh worker process.

The runner never imports CUDA state itself; it spawns ``kpbench.bench.worker``
per repeat (interpreter start and imports are then on the clock every time),
reads each worker's JSON result, and hands them to record.build_record.
SIGINT or SIGTERM stops the worker, removes the temporary files, writes no Record
and raises errors.Interrupted (exit 128+N); the worker also dies if the runner is
killed outright (see worker.die_with_parent).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kpbench.bench import cold, fingerprint, flops, mllog, phases, record
from kpbench.bench.config import BenchConfig, train_settings
from kpbench.bench.output import RepeatProgress, print_warning
from kpbench.bench.record_types import Record
from kpbench.bench.worker import PARENT_PID_ENV
from kpbench.data import SYNTHETIC
from kpbench.errors import Interrupted, KpbenchError
from kpbench.stop import StopFlag, stop_on_signals

ERROR_TAIL_CHARS = 400
POLL_S = 0.1  # how often a waiting runner looks at the stop flag
_SYNTHETIC_SPEC = re.compile(rf"^{SYNTHETIC}(:\d+(:\d+)?)?$")  # synthetic, synthetic:ROWS, synthetic:ROWS:SEED


def resolved(cfg: BenchConfig) -> BenchConfig:
    """cfg with every None training setting replaced by TrainConfig's default, then checked."""
    from kpbench.train import TrainConfig

    defaults = TrainConfig()
    filled = BenchConfig(**cfg.to_dict())
    for name in ("model", "batch_size", "precision", "device"):
        if getattr(filled, name) is None:
            setattr(filled, name, getattr(defaults, name))
    check_data(filled.data)
    # Training's own checks (precision and device names …) before any repeat runs.
    train_cfg = TrainConfig.from_dict(train_settings(filled.to_dict(), 0)).validate()
    filled.epochs = train_cfg.planned_epochs  # None: the time budget decides
    return filled


def check_data(data: str | Path) -> None:
    """A synthetic spec (``synthetic``, ``synthetic:ROWS[:SEED]``) or an existing path; KpbenchError otherwise."""
    text = os.fspath(data)
    if text.startswith(SYNTHETIC) and not Path(text).exists():
        if not _SYNTHETIC_SPEC.match(text):
            raise KpbenchError(f"{text!r}: expected '{SYNTHETIC}', '{SYNTHETIC}:ROWS' or '{SYNTHETIC}:ROWS:SEED'")
        return
    if not Path(text).exists():
        raise KpbenchError(f"{text}: no such file or directory")


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


def spawn_repeat(job: dict, work_dir: Path, index: int, stop: StopFlag) -> dict:
    """One fresh worker process; its result dict (``ok`` False with the error when it failed).

    Interrupted when ``stop`` is raised (SIGINT/SIGTERM) while the worker runs: the
    worker is stopped first.
    """
    job_path = work_dir / f"job-{index}.json"
    result_path = work_dir / f"result-{index}.json"
    log_path = work_dir / f"worker-{index}.log"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    with open(log_path, "wb") as log:
        spawn_s = time.time()
        start = time.perf_counter()
        proc = subprocess.Popen(worker_command(job_path, result_path, spawn_s), stdout=log, stderr=log,
                                env={**os.environ, PARENT_PID_ENV: str(os.getpid())})
        try:
            returncode = _wait(proc, stop)
        finally:
            _stop(proc)  # a no-op when it has exited; otherwise never leave it running
        wall_s = time.perf_counter() - start
    if returncode in (130, -2):  # the worker saw Ctrl-C (it shares our terminal's process group)
        _interrupted(2)
    out = _read_result(result_path)
    if out is None or (out.get("ok") and returncode != 0):
        tail = _read_log(log_path).strip().splitlines()
        reason = tail[-1] if tail else "no output"
        out = {"ok": False, "error": f"worker exited with code {returncode}: {reason}"[:ERROR_TAIL_CHARS]}
    out["wall_s"] = wall_s
    if out["ok"]:
        out["phases"] = repeat_split(out, spawn_s, wall_s)
    return out


def repeat_split(out: dict, spawn_s: float, wall_s: float) -> dict[str, float]:
    """The worker's phases with the teardown (its training's end to the exit seen here) and the rest."""
    exit_s = spawn_s + wall_s  # the spawn instant on the wall clock plus the monotonic span
    return phases.split_of_repeat(out["before_training"], out["trained"], wall_s=wall_s,
                                  teardown_s=exit_s - out["trained_until_s"])


def _wait(proc: subprocess.Popen, stop: StopFlag) -> int:
    while True:
        try:
            return proc.wait(timeout=POLL_S)
        except subprocess.TimeoutExpired:
            if stop.requested:
                _interrupted(stop.signum or 2)


def _interrupted(signum: int) -> None:
    import signal

    raise Interrupted(f"bench stopped by {signal.Signals(signum).name}: worker stopped, no Record written", signum)


def _read_log(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:  # a worker that was told its runner died removes the directory
        return ""


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


def record_stem(machine: dict, model: str, when_s: float) -> str:
    """``record-<instance or host>-<model>-<UTC stamp>``; write_new_record adds ``-N`` when taken."""
    where = machine.get("instance_type") or fingerprint.host_name()
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when_s))
    safe = "".join(c if c.isalnum() or c in ".-_" else "_" for c in f"{where}-{model}")
    return f"record-{safe}-{stamp}"


def run_bench(
    cfg: BenchConfig,
    out_dir: str | Path,
    *,
    progress: bool = True,
    on_repeat: Callable[[dict], None] | None = None,
) -> tuple[Record, Path]:
    """Bench per cfg; writes the Record (and its .mllog beside it) into out_dir.

    Returns (Record, path of its JSON). KpbenchError for bad input, before any repeat
    runs; RunFailed when every repeat failed; Interrupted on SIGINT/SIGTERM.
    """
    out_dir = Path(out_dir)
    cfg.check()
    check_writable(out_dir)
    instance = fingerprint.resolve_instance(cfg.instance_type, cfg.price_per_hour)
    cfg = resolved(cfg)
    notes = cold_or_warm(cfg)
    started_s = time.time()
    runs = _run_repeats(cfg, RepeatProgress(cfg.repeats, cfg.warmup_repeats, enabled=progress), on_repeat)
    rec = _assemble(cfg, runs, instance)
    rec["warnings"] += notes
    stem = record_stem(rec["machine"], cfg.model, started_s)
    return rec, write_record_and_log(out_dir, stem, rec, runs)


def cold_or_warm(cfg: BenchConfig) -> list[str]:
    """Turn --cold off where eviction cannot work, with one warning naming why (the Record says cold: false)."""
    if not cfg.cold:
        return []
    reason = cold.probe(cfg.data if Path(os.fspath(cfg.data)).exists() else None)
    if reason is None:
        return []
    cfg.cold = False
    note = f"--cold: {reason}; the repeats ran warm (cold: false)"
    print_warning(note)
    return [note]


def _run_repeats(cfg: BenchConfig, bar: RepeatProgress, on_repeat: Callable[[dict], None] | None) -> list[dict]:
    """Warm-up then counted repeats, each after an eviction with --cold; the counted ones' results."""
    runs: list[dict] = []
    starts = cold.ColdStarts(cfg.data if Path(os.fspath(cfg.data)).exists() else None) if cfg.cold else None
    with stop_on_signals() as stop, tempfile.TemporaryDirectory(prefix="kpbench-bench-") as tmp:
        for i in range(cfg.warmup_repeats + cfg.repeats):
            is_warmup = i < cfg.warmup_repeats
            repeat = i if is_warmup else i - cfg.warmup_repeats
            bar.start(repeat, is_warmup)
            eviction = starts.before_repeat() if starts else None
            out = spawn_repeat({"config": cfg.to_dict(), "repeat": i}, Path(tmp), i, stop)
            if starts:
                out["eviction"] = eviction
                starts.learn(out.pop("mapped_files", []))
            out["repeat"] = repeat  # the counted repeat's number, not the worker's job index
            bar.end(out)
            if on_repeat:
                on_repeat(out)
            if not is_warmup:
                runs.append(out)
            if stop.requested:  # a signal between two workers
                _interrupted(stop.signum or 2)
    return runs


def _assemble(cfg: BenchConfig, runs: list[dict], instance: dict) -> Record:
    first = record.ok_runs(runs)[0]
    machine = fingerprint.machine_fingerprint(instance, first["gpu"])
    rec = record.build_record(
        runs,
        cold=cfg.cold,
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
        machine["gpu"] if first["device"].startswith("cuda") else None,  # a CPU run is measured against the CPU
        first["precision"],
        tf32=first.get("tf32", False),
    )
    return rec


def write_record_and_log(out_dir: Path, stem: str, rec: Record, runs: list[dict]) -> Path:
    """The Record under a fresh name, then its MLLOG; neither stays when the other cannot be written."""
    path = record.write_new_record(out_dir, stem, rec)
    log_path = path.with_suffix(".mllog")
    try:
        mllog.write_mllog(log_path, [r for r in runs if "events" in r])
    except OSError as e:
        path.unlink(missing_ok=True)
        raise KpbenchError(f"{log_path}: cannot write the event log ({e.strerror or e}); no Record kept") from None
    return path


def _record_config(cfg: BenchConfig, first: dict) -> dict:
    data = first["data"]
    return {
        "model": cfg.model,
        "batch_size": int(cfg.batch_size),
        "epochs": int(cfg.epochs or first["epochs_run"]),
        "time_budget_s": cfg.time_budget_s,
        "target_rmse_px": cfg.target_rmse_px,
        "precision": first["precision"],
        "device": first["device"],
        "data": os.fspath(cfg.data),
        "data_sha256": data["sha256"],  # of the whole data set; "rows" says how much of it was used
        "rows": int(data["rows"]),
        "missing": first["missing"],
        "seed": cfg.seed,
        "speed_path": first["speed_path"],
    }
