"""One repeat of a bench, in a fresh process: ``python -m kpbench.bench.worker JOB RESULT SPAWN_S``.

The runner writes the job (a JSON config) and the wall-clock time it spawned this process;
the worker times every phase of bench.phases.SPLIT it can see from inside (interpreter start
from SPAWN_S to its first line, then imports, device start, data, train()'s setup and
training), trains once and writes its result as JSON to RESULT (atomically); the runner adds
the teardown (to the exit it sees) and what no timer caught. A crash still writes
``{"ok": false, "error"}`` so the Record can say which repeat failed and why. The worker dies
with its parent (the runner): a killed bench leaves no training behind.
"""

import time

# The worker's one wall-clock reading; every later instant is this plus perf_counter's advance,
# so instants and durations agree. Taken before any other import: they are on the clock.
FIRST_LINE_S, FIRST_LINE_PERF = time.time(), time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING  # noqa: E402

if TYPE_CHECKING:  # the worker's imports are on the clock: types only for readers
    from kpbench.bench.mllog import EventLog
    from kpbench.data import FaceSet

PARENT_PID_ENV = "KPBENCH_BENCH_PARENT_PID"  # set by the runner; the worker exits when that process is gone
PARENT_POLL_S = 0.5
_PR_SET_PDEATHSIG = 1


def wall_now() -> float:
    """Now on the wall clock, as FIRST_LINE_S plus the monotonic clock's advance since."""
    return FIRST_LINE_S + (time.perf_counter() - FIRST_LINE_PERF)


def measure_repeat(job: dict, spawn_s: float, events: "EventLog") -> dict:
    """Time the phases and train once; returns this repeat's result dict."""
    from kpbench.bench import phases as ph

    cfg = job["config"]
    timer = ph.PhaseTimer()
    import torch  # noqa: F401 - on the clock here, not inside a later phase

    import kpbench.data
    import kpbench.models
    import kpbench.train.loop  # noqa: F401 - torch's and kpbench's training modules
    from kpbench.train.config import resolve_device

    # From the first line: the worker's own start (job read, parent watch) counts with the imports.
    timer.seconds["imports_s"] = time.perf_counter() - FIRST_LINE_PERF
    with timer.phase("device_init_s"):
        device = resolve_device(cfg["device"])  # torch.cuda.is_available() is device start too
        ph.init_device(device)
    timer.sync = ph.device_sync(device)
    with timer.phase("data_load_s"):
        faces = bench_faces(cfg["data"], cfg.get("rows"))
    result, tcfg, marks = _train_once(cfg, job["repeat"], device, faces, events)
    events.log("run_stop", None, status="success")
    setup = result.setup_phases_s
    before = {"interpreter_s": max(0.0, FIRST_LINE_S - spawn_s), **timer.seconds, **setup,
              "train_setup_s": max(0.0, marks["first_step_s"] - marks["called_s"] - sum(setup.values()))}
    trained = {"warmup_s": float(result.warmup_s), "train_s": float(result.train_s), "eval_s": float(result.eval_s),
               "checkpoint_s": float(result.checkpoint_s)}
    return {
        "ok": True,
        "before_training": before,
        "trained": trained,
        "trained_until_s": marks["returned_s"],  # the teardown starts here (the runner ends it)
        "figures": _figures(result, before, device),
        "final_val_rmse_px": _float_or_none(result.final_val_rmse_px),
        **_provenance(faces, cfg, tcfg, result, device),
    }


def bench_faces(data: str, rows: int | None) -> "FaceSet":
    """The faces a repeat trains on: ``data`` as load_faces reads it, then its first ``rows`` rows.

    Synthetic data too: ``--data synthetic --rows 48`` benches the first 48 of the
    same faces every other command calls "synthetic", and their content hash.
    """
    import numpy as np

    import kpbench.data

    faces = kpbench.data.load_faces(data, cache=True, progress=False)
    if rows and len(faces) > int(rows):
        faces = faces.subset(np.arange(int(rows)))
    return faces


def _train_once(cfg: dict, repeat: int, device: str, faces, events):
    """train() once; (result, its TrainConfig, wall-clock marks: called_s, first_step_s, returned_s)."""
    import kpbench.train
    from kpbench.bench.config import train_settings

    tcfg = kpbench.train.TrainConfig.from_dict({**train_settings(cfg, repeat), "device": device})
    marks: dict[str, float] = {}

    def on_event(name: str, fields: dict) -> None:
        if name == "epoch_start" and "first_step_s" not in marks:  # init ends where training begins
            marks["first_step_s"] = wall_now()
            events.log("init_stop", time_s=marks["first_step_s"])
            events.log("run_start", time_s=marks["first_step_s"])
        fields = dict(fields or {})
        value = fields.pop("value", fields.pop("val_rmse_px", None) if name == "eval_accuracy" else None)
        events.log(name, value, **fields)

    marks["called_s"] = wall_now()
    result = kpbench.train.train(faces, tcfg, out_dir=None, progress=False, on_event=on_event)
    marks["returned_s"] = wall_now()
    marks.setdefault("first_step_s", marks["returned_s"])
    return result, tcfg, marks


def _figures(result, before: dict, device: str) -> dict:
    from kpbench.bench import phases as ph

    epochs_s = [float(h["epoch_s"]) for h in result.history]
    return {
        "init_s": sum(before.get(name, 0.0) for name in ph.INIT_PHASES),  # spawn to the first training step
        "train_s": float(result.train_s),
        "epoch_s": sum(epochs_s) / len(epochs_s) if epochs_s else float(result.train_s),
        "images_per_s": float(result.steady_images_per_s),
        "eval_s": float(result.eval_s),
        "time_to_target_s": _float_or_none(result.time_to_target_s),
        "peak_memory_mb": ph.peak_host_memory_mb(),
        "peak_device_memory_mb": ph.peak_device_memory_mb(device),
    }


def _provenance(faces, cfg: dict, tcfg, result, device: str) -> dict:
    """What was benched, and on what: data, device, precision, the CPU path, software."""
    import torch

    from kpbench.bench.fingerprint import gpu_fingerprint

    return {
        "data_load": faces.meta["load"],
        "data": {"rows": len(faces), "sha256": faces.sha256, "file": faces.meta.get("file", cfg["data"])},
        "device": str(result.device),
        "precision": str(result.precision),
        "speed_path": dict(result.speed_path),
        "missing": str(tcfg.missing),
        "epochs_run": len(result.history),
        "tf32": bool(device.startswith("cuda") and torch.backends.cudnn.allow_tf32),
        "gpu": gpu_fingerprint(),
        "torch": torch.__version__,
    }


def _float_or_none(x) -> float | None:
    return None if x is None else float(x)


def die_with_parent(work_dir: Path) -> None:
    """Exit when the runner dies, however it dies (SIGKILL included), removing its temporary files.

    Linux: the kernel sends SIGTERM when the parent exits (PR_SET_PDEATHSIG). Elsewhere,
    and should that signal be missed, a thread notices that the parent pid is gone.
    """
    parent = int(os.environ.get(PARENT_PID_ENV, "0"))
    if not parent:
        return  # a run by hand: nobody to die with
    signal.signal(signal.SIGTERM, lambda *_: _orphaned(parent, work_dir, 128 + signal.SIGTERM))
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # died before prctl took effect
        _orphaned(parent, work_dir, 1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_POLL_S)
        _orphaned(parent, work_dir, 1)

    threading.Thread(target=watch, name="kpbench-parent-watch", daemon=True).start()


_EXITING = threading.Lock()
ORPHAN_GRACE_S = 2.0


def _orphaned(parent: int, work_dir: Path, code: int) -> None:
    # The signal handler and the watch thread may both get here: one cleans up and exits,
    # the other returns (the process ends under it).
    if not _EXITING.acquire(blocking=False):
        return
    if _parent_gone(parent):  # a living runner stopping us removes its directory itself
        import shutil

        for _ in range(3):  # a file created meanwhile would keep the directory
            shutil.rmtree(work_dir, ignore_errors=True)
            if not work_dir.exists():
                break
    os._exit(code)


def _parent_gone(parent: int) -> bool:
    # PDEATHSIG fires when the runner's spawning *thread* exits; while its other threads
    # are still being torn down, getppid() names the runner for a few more milliseconds.
    deadline = time.monotonic() + ORPHAN_GRACE_S
    while os.getppid() == parent:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def main(argv: list[str]) -> int:
    job_path, result_path = argv[0], argv[1]
    spawn_s = float(argv[2]) if len(argv) > 2 else FIRST_LINE_S
    die_with_parent(Path(job_path).parent)
    from kpbench.atomic import write_json
    from kpbench.bench.mllog import EventLog

    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    events = EventLog()
    events.log("init_start", time_s=spawn_s)
    try:
        out = measure_repeat(job, spawn_s, events)
    except KeyboardInterrupt:
        return 130  # the runner is stopping: no result, no Record
    except BaseException as e:  # report, don't vanish: the Record lists failed repeats
        message = f"{type(e).__name__}: {e}".strip()
        traceback.print_exc(file=sys.stderr)
        write_json(result_path, {"ok": False, "error": " ".join(message.split())[:500], "events": events.events})
        return 1
    out["events"] = events.events
    if job["config"].get("cold"):  # the runner evicts these too before the next repeat
        from kpbench.bench.cold import mapped_files

        out["mapped_files"] = mapped_files()
    write_json(result_path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
