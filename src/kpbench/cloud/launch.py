"""`kpbench cloud launch DIR`: every task of a plan on its own cluster, watched, and always torn down.

One thread per instance type does launch → wait for the job → follow its log → ask the queue
when the job started → ``sky.down``. The main thread only watches: it prints progress, tears a
cluster down at its --max-minutes deadline, and on Ctrl-C/SIGTERM cancels what is in flight and
downs every cluster before exiting. What each cluster did is saved in ``DIR/launch/<type>.json``
its job log in ``DIR/logs/<type>.log`` and the launch request's log (provisioning) in
``DIR/logs/<type>.launch.log``; ``kpbench cloud collect DIR`` reads them.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from kpbench import atomic
from kpbench.cloud import sky_api
from kpbench.cloud.state import LAUNCH_DIR, LOG_DIR, log_file, own_subdir, read_plan, state_file, task_file
from kpbench.cloud.tasks import task_name
from kpbench.errors import Interrupted, KpbenchError, RunFailed
from kpbench.lock import run_dir_lock
from kpbench.stop import stop_on_signals

FINISHED = ("succeeded", "launch-failed", "job-failed", "timed-out", "interrupted")
JOIN_AFTER_STOP_S = 30.0  # how long Ctrl-C waits for the workers once their clusters are down


@dataclass
class Launched:
    """What happened to one instance type's cluster. Saved as DIR/launch/<type>.json."""

    instance_type: str
    cluster: str
    yaml: str
    use_spot: bool
    nodes: int
    max_minutes: float
    status: str = "pending"  # pending, launching, running, then one of FINISHED
    request_id: str | None = None
    launched_at_s: float | None = None  # epoch s of the sky.launch call
    job_id: int | None = None
    job_exit_code: int | None = None
    job_start_at_s: float | None = None  # sky.queue's start_at (RUNNING), remote clock
    error: str | None = None
    down: str = "not yet"  # "torn down" | "already gone" | "FAILED: …"
    log: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self) if not f.name.startswith("_")}

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def down_ok(self) -> bool:
        return self.down in ("torn down", "already gone", "never launched")


def launch_plan(plan_dir: Path, *, parallel: int | None = None, say: Callable[[str], None] = print,
                poll_s: float = 0.5) -> list[Launched]:
    """Launch every task of the plan (``parallel`` clusters at a time; None: all at once); returns when
    all clusters are down. RunFailed if a job failed."""
    if parallel is not None and parallel < 1:
        raise KpbenchError(f"--parallel must be at least 1, got {parallel}")
    plan_dir = Path(plan_dir).absolute()
    read_plan(plan_dir)  # a plan directory, before its lock is taken (the lock would create it)
    with run_dir_lock(plan_dir):  # one launch or collect of a plan at a time
        return _launch_all(plan_dir, parallel, say, poll_s)


def _launch_all(plan_dir: Path, parallel: int | None, say: Callable[[str], None], poll_s: float) -> list[Launched]:
    plan = read_plan(plan_dir)
    if (plan_dir / LAUNCH_DIR).exists():
        raise KpbenchError(f"{plan_dir}: this plan was launched already ({LAUNCH_DIR}/ exists); "
                           f"`kpbench cloud collect {plan_dir}` reads it, or plan again into a new --out")
    if plan.get("plan_dir") not in (None, str(plan_dir)):
        # The tasks name the wheel and data by absolute path: a moved plan would ship nothing.
        raise KpbenchError(f"{plan_dir}: this plan was written as {plan['plan_dir']} and its tasks point there; "
                           f"plan again with --out {plan_dir}")
    sky_api.sky()
    sky_api.check_aws()
    work = plan["workload"]
    tasks = [(e, _task(plan_dir / task_file(e["instance_type"]))) for e in plan["entries"]]
    suffix = secrets.token_hex(2)
    states = [Launched(e["instance_type"], f"{task_name(e['instance_type'])}-{suffix}"[:40],
                       task_file(e["instance_type"]), plan["use_spot"], work["nodes"], work["max_minutes"],
                       log=str(log_file(e["instance_type"]))) for e, _ in tasks]
    own_subdir(plan_dir, LOG_DIR).mkdir(exist_ok=True)
    for s in states:
        _save(plan_dir, s)
    slots = threading.Semaphore(parallel or len(states))
    threads = [threading.Thread(target=_run_one, args=(plan_dir, s, t, plan["autostop_minutes"], slots),
                                name=f"kpbench-{s.instance_type}", daemon=True)
               for s, (_, t) in zip(states, tasks)]
    with stop_on_signals() as stop:
        for t in threads:
            t.start()
        _watch(plan_dir, states, threads, stop, say, poll_s)
    _report_down_failures(states, say)
    failed = [s for s in states if s.status != "succeeded"]
    if failed:
        raise RunFailed(f"{len(failed)} of {len(states)} jobs did not succeed ("
                        + ", ".join(f"{s.instance_type}: {s.status}" for s in failed)
                        + f"); `kpbench cloud collect {plan_dir}` reads the ones that did")
    return states


def _task(path: Path):
    try:
        return sky_api.task_from_yaml(str(path))
    except FileNotFoundError:
        raise KpbenchError(f"{path}: missing from the plan directory") from None
    except Exception as e:  # noqa: BLE001 - SkyPilot's own validation errors, one line
        raise KpbenchError(f"{path.name}: SkyPilot rejects this task: {sky_api.one_line(e)}") from None


def _watch(plan_dir: Path, states: list[Launched], threads: list[threading.Thread], stop, say, poll_s: float) -> None:
    shown: dict[str, str] = {}
    while any(t.is_alive() for t in threads):
        if stop.requested:
            _stop_all(plan_dir, states, threads, say)
            left = [s.cluster for s in states if not s.down_ok]
            clusters = (f"{len(left)} cluster(s) may still run: sky down {' '.join(left)}" if left
                        else "every cluster was torn down")
            raise Interrupted(f"interrupted by {stop.signame}; {clusters} (see {plan_dir / LAUNCH_DIR})", stop.signum)
        for s in states:
            _deadline(plan_dir, s, say)
            line = _progress(s)
            if shown.get(s.instance_type) != line:
                shown[s.instance_type] = line
                say(line)
        time.sleep(poll_s)
    for s in states:
        line = _progress(s)
        if shown.get(s.instance_type) != line:
            say(line)


def _progress(s: Launched) -> str:
    what = {"pending": "waiting", "launching": f"launching {s.cluster} (provision + setup)",
            "running": f"job {s.job_id} submitted on {s.cluster} (setup, then bench); log → {s.log}",
            "succeeded": "job succeeded", "launch-failed": f"launch failed: {s.error}",
            "job-failed": f"job failed (exit {s.job_exit_code})", "timed-out": "stopped at --max-minutes",
            "interrupted": "interrupted"}[s.status]
    if s.finished:
        what += f"; cluster {s.down}"
    return f"{s.instance_type}: {what}"


def _deadline(plan_dir: Path, s: Launched, say) -> None:
    # --max-minutes bounds the cluster's life from the launch call: the plan's cost upper bound.
    if s.finished or s.launched_at_s is None or time.time() < s.launched_at_s + s.max_minutes * 60:
        return
    s.status = "timed-out"
    s.error = f"still running after --max-minutes {s.max_minutes:g}"
    say(f"{s.instance_type}: {s.error}; tearing {s.cluster} down")
    _down(plan_dir, s)


def _stop_all(plan_dir: Path, states: list[Launched], threads: list[threading.Thread], say) -> None:
    say("stopping: cancelling launches in flight and tearing every cluster down")
    for s in states:
        if not s.finished:
            s.status = "interrupted"
    sky_api.cancel([s.request_id for s in states if s.request_id and s.job_id is None])
    for s in states:
        _down(plan_dir, s)
    deadline = time.time() + JOIN_AFTER_STOP_S
    for t in threads:
        t.join(max(0.0, deadline - time.time()))
    _report_down_failures(states, say)


def _run_one(plan_dir: Path, s: Launched, task, autostop_minutes: int, slots: threading.Semaphore) -> None:
    with slots:
        if not s.finished:  # not stopped while waiting for a slot
            _launch_one(plan_dir, s, task, autostop_minutes)


def _launch_one(plan_dir: Path, s: Launched, task, autostop_minutes: int) -> None:
    try:
        s.status = "launching"
        s.launched_at_s = time.time()
        s.request_id = sky_api.launch(task, s.cluster, idle_minutes_to_autostop=autostop_minutes)
        _save(plan_dir, s)
        if s.finished:  # stopped while the request was being sent: it must not provision
            sky_api.cancel([s.request_id])
            return
        with open(plan_dir / log_file(s.instance_type, launch=True), "w", encoding="utf-8") as log:
            job_id, _handle = sky_api.wait(s.request_id, log)
        if s.finished:
            return
        s.job_id, s.status = job_id, "running"
        _save(plan_dir, s)
        with open(plan_dir / log_file(s.instance_type), "w", encoding="utf-8") as log:
            s.job_exit_code = sky_api.tail_logs(s.cluster, job_id, log)
        try:
            s.job_start_at_s = sky_api.job_start_at(s.cluster, job_id)
        except Exception:  # noqa: BLE001 - the task's own timestamp in the log stands in
            s.job_start_at_s = None
        if not s.finished:
            s.status = "succeeded" if s.job_exit_code == 0 else "job-failed"
    except Exception as e:  # noqa: BLE001 - whatever SkyPilot raised, the cluster still goes down
        if not s.finished:
            s.status = "launch-failed" if s.job_id is None else "job-failed"
            s.error = sky_api.one_line(e)
    finally:
        _down(plan_dir, s)


def _down(plan_dir: Path, s: Launched) -> None:
    """sky.down, whoever calls (worker, deadline, Ctrl-C); never raises. Only a real teardown is final:
    "already gone" may precede a launch request that lands later, so a later call downs again."""
    with s._lock:
        if s.down == "torn down":
            return
        if s.launched_at_s is None:
            s.down = "never launched"
        else:
            try:
                s.down = "torn down" if sky_api.down(s.cluster) else "already gone"
            except Exception as e:  # noqa: BLE001
                s.down = f"FAILED: {sky_api.one_line(e)}"
        _save(plan_dir, s)


def _report_down_failures(states: list[Launched], say) -> None:
    for s in states:
        if s.down.startswith("FAILED"):
            say(f"WARNING: {s.cluster} may still be running and billing: {s.down}; run `sky down {s.cluster}`")


def _save(plan_dir: Path, s: Launched) -> None:
    atomic.write_json(plan_dir / state_file(s.instance_type), s.to_dict())
