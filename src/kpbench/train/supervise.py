"""Running torchrun jobs to their end as one command: logs, deadlines, signals, and what failed, in a line.

One job is one torchrun agent per node (one node here, or one per network namespace for an
emulated link). The supervisor

- starts every agent in its own session, dying with this process (PR_SET_PDEATHSIG), and gives
  the workers a folder (``KPBENCH_WORKER_DIR``) where each says it started, writes its output
  (``rank-R.log``) and leaves its one-line error (``rank-R.json``); workers die with their agent,
  so nothing outlives a launcher, whatever kills it;
- writes the agents' output live into the log file and appends every rank's log to it at the
  end, so the terminal gets only one line per event: a restart, a failure, a stop;
- forwards the first SIGINT/SIGTERM to the agents and ends them at a second;
- holds the rendezvous deadline itself: no worker started within ``rdzv_timeout_s`` (plus the
  agents' own start) ends the job, whatever the rendezvous store does (a listener that accepts
  and never answers keeps torchrun waiting far longer).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

WORKER_DIR_ENV = "KPBENCH_WORKER_DIR"  # the workers' folder: started-R-A markers, rank-R.log, rank-R.json
SCRATCH_PREFIX = "kpbench-"  # scratch folders: kpbench-<creator pid>-<purpose>-XXXX in the temp directory
KILL_GRACE_S = 10.0  # after a node failed (or a stop), the others' time to end before SIGKILL
POLL_S = 0.1


def rdzv_grace_s(rdzv_timeout_s: float) -> float:
    """What the deadline allows beyond the rendezvous timeout: the agents' start (Python, torch)."""
    return max(15.0, 0.25 * rdzv_timeout_s)


@dataclass
class Outcome:
    """How a supervised torchrun job ended."""

    returncode: int
    signum: int | None = None  # the signal this process received and forwarded to the job
    failed_rank: int | None = None  # the first rank that failed ...
    failed_exitcode: int | None = None  # ... and its exit code (negative: killed by signal -N)
    agent_error: str | None = None  # the agent's own exception line (a rendezvous that failed)
    worker_errors: dict[int, dict] = field(default_factory=dict)  # rank → {"message", "exit_code"} (rank-R.json)
    causes: dict[int, str] = field(default_factory=dict)  # rank → the last error line of its log
    restarts: int = 0  # times torchrun restarted the workers
    timed_out: str | None = None  # "rendezvous" or "job" when a deadline ended it
    failed_node: int | None = None  # the node whose agent failed first (several nodes)
    log: Path | None = None

    def failure(self) -> str:
        """One line: which rank failed and why (for a study's row, or an error)."""
        if self.timed_out == "job":
            return "did not finish in time"
        if self.agent_error:
            return self.agent_error
        rank = self.failed_rank if self.failed_rank is not None else next(iter(self.causes), None)
        error = self.worker_errors.get(rank, {}).get("message") if rank is not None else None
        cause = error or (self.causes.get(rank) if rank is not None else None)
        how = _how(self.failed_exitcode)
        if rank is None:
            return f"torchrun exited with code {self.returncode}" + (f": {cause}" if cause else "")
        return f"rank {rank}: {cause or how}" + (f" ({how})" if cause and how else "")


def _how(code: int | None) -> str:
    if code is None:
        return ""
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


# --- scratch folders that outlive no one ---


def pid_alive(pid: int) -> bool:
    """Whether a process ``pid`` exists (ours or another user's)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_scratch(root: Path | None = None) -> list[Path]:
    """Remove scratch folders whose creator is gone (it was killed before it could); their paths."""
    root = Path(root or tempfile.gettempdir())
    removed = []
    for d in root.glob(f"{SCRATCH_PREFIX}*-*"):
        pid_text = d.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if d.is_dir() and pid_text.isdigit() and not pid_alive(int(pid_text)):
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


@contextlib.contextmanager
def scratch_dir(purpose: str) -> Iterator[Path]:
    """A temporary folder named after this process, removed at the end; stale ones of dead processes first."""
    clean_stale_scratch()
    path = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-{purpose}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- the agents' output ---

_FAILED = re.compile(r"failed \(exitcode: (-?\d+)\) local_rank: (\d+)")
_AGENT_FAILURES = ("RendezvousConnectionError", "RendezvousTimeoutError", "RendezvousClosedError", "RendezvousError",
                   "DistNetworkError", "DistStoreError", "gaierror", "Name or service not known", "Address already in use")
TAIL_LINES = 400


class _AgentLog:
    """Copies one agent's output into the log; keeps its tail for the end's parse."""

    def __init__(self, stream, log, prefix: str) -> None:  # noqa: ANN001 - text streams
        self.stream, self.log, self.prefix = stream, log, prefix
        self.tail: list[str] = []
        self.last_failed: tuple[int, int] | None = None  # (local rank, exit code) of the last worker failure
        self.failures = 0  # worker failures the agent reported

    def pump(self) -> None:
        for line in self.stream:
            self.log.write(self.prefix + line)
            self.log.flush()
            self.tail = (self.tail + [line])[-TAIL_LINES:]
            if m := _FAILED.search(line):
                self.last_failed = (int(m.group(2)), int(m.group(1)))
                self.failures += 1

    def parse(self, outcome: Outcome, node_rank_base: int) -> None:
        text = "".join(self.tail)
        root = text.split("Root Cause", 1)[-1] if "Root Cause" in text else ""
        if outcome.failed_rank is None and (m := re.search(r"rank\s*:\s*(\d+)", root)):
            outcome.failed_rank = int(m.group(1))
            if m := re.search(r"exitcode\s*:\s*(-?\d+)", root):
                outcome.failed_exitcode = int(m.group(1))
        if outcome.failed_rank is None and self.last_failed is not None:
            outcome.failed_rank, outcome.failed_exitcode = node_rank_base + self.last_failed[0], self.last_failed[1]
        lines = [ln.strip() for ln in self.tail if ln.strip() and not ln[0].isspace()]
        errors = [ln for ln in lines if any(k in ln for k in _AGENT_FAILURES)]
        if errors and outcome.agent_error is None:
            outcome.agent_error = errors[-1][:300]


def cause_line(text: str) -> str | None:
    """The line of a worker's output that says why it failed: a C++ ``what():``, else the last exception line."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for ln in reversed(lines):
        if "what():" in ln:
            what = ln.split("what():", 1)[1].strip()
            return re.sub(r"^\[enforce fail at [^\]]*\]\s*", "", what)[:300]
    for ln in reversed(lines):
        ln = re.sub(r"^\[rank\d+\]:\s*", "", ln)
        if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*", ln):
            return ln[:300]
    return None


# --- one job ---


@dataclass
class Node:
    """One agent's command line and environment."""

    cmd: list[str]
    env: dict[str, str]
    first_rank: int = 0  # the global rank of its local rank 0 (one worker per node: its node rank)


class _Job:
    """The agents of one job while they run: started, watched, stopped."""

    def __init__(self, nodes: list[Node], log, folder: Path, merge_stdout: bool) -> None:  # noqa: ANN001
        parent = os.getpid()

        def die_with_us() -> None:  # pragma: no cover - runs in the child between fork and exec
            from kpbench.train.world import die_with_parent

            die_with_parent(parent, signal.SIGTERM)

        self.procs: list[subprocess.Popen] = []
        self.logs: list[_AgentLog] = []
        for k, node in enumerate(nodes):
            p = subprocess.Popen(node.cmd, env={**node.env, WORKER_DIR_ENV: str(folder)}, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.PIPE if merge_stdout else None,
                                 stderr=subprocess.STDOUT if merge_stdout else subprocess.PIPE, text=True, errors="replace",
                                 start_new_session=True, preexec_fn=die_with_us)
            self.procs.append(p)
            self.logs.append(_AgentLog(p.stdout if merge_stdout else p.stderr, log, f"[node {k}] " if len(nodes) > 1 else ""))
        self.threads = [threading.Thread(target=agent.pump, daemon=True) for agent in self.logs]
        for t in self.threads:
            t.start()

    def signal_all(self, signum: int) -> None:
        for p in self.procs:
            if p.poll() is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(p.pid, signum)

    def end(self, grace_s: float = KILL_GRACE_S) -> None:
        """SIGTERM to every agent still running, SIGKILL after ``grace_s``; waits for them all."""
        self.signal_all(signal.SIGTERM)
        deadline = time.monotonic() + grace_s
        while any(p.poll() is None for p in self.procs) and time.monotonic() < deadline:
            time.sleep(POLL_S)
        self.signal_all(signal.SIGKILL)
        for p in self.procs:
            p.wait()
        for t in self.threads:
            t.join(timeout=10)


def _started(folder: Path) -> dict[int, set[int]]:
    """attempt → the ranks that said they started in it."""
    out: dict[int, set[int]] = {}
    for marker in folder.glob("started-*-*"):
        _, rank, attempt = marker.name.split("-")
        if rank.isdigit() and attempt.isdigit():
            out.setdefault(int(attempt), set()).add(int(rank))
    return out


@dataclass
class Watch:
    """What the supervisor watches for besides the agents' ends."""

    rdzv_timeout_s: float
    timeout_s: float | None = None  # the whole job
    on_event: Callable[[str], None] | None = None  # one line per restart
    max_restarts: int = 0


def supervise(nodes: list[Node], log_path: Path, watch: Watch, *, label: str = "", merge_stdout: bool = False) -> Outcome:
    """Runs one job's agents to their end (see the module docstring); its Outcome. The agents' stderr
    goes to the log, and their stdout too with ``merge_stdout`` (else to ours)."""
    from kpbench.stop import stop_on_signals

    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a", encoding="utf-8", errors="replace") as log, scratch_dir("workers") as folder:
        log.write(f"==== {time.strftime('%Y-%m-%d %H:%M:%S')} {label or 'torchrun'}: {' '.join(nodes[0].cmd)}\n")
        log.flush()
        outcome = Outcome(returncode=0, log=log_path)
        with stop_on_signals() as stop:
            job = _Job(nodes, log, folder, merge_stdout)
            try:
                _watch(job, folder, watch, stop, outcome)
            except BaseException:  # a second signal (the user means it), or anything else: nobody stays behind
                job.end(grace_s=0.0)
                raise
            job.end()
        rc = [p.returncode for p in job.procs]
        outcome.returncode = next((c for c in rc if c != 0), 0) if outcome.timed_out is None else 1
        outcome.failed_node = next((k for k, c in enumerate(rc) if c != 0), None)
        for k, agent in enumerate(job.logs):
            agent.parse(outcome, nodes[k].first_rank)
        _collect_workers(folder, log, outcome)
    return outcome


def _watch(job: _Job, folder: Path, watch: Watch, stop, outcome: Outcome) -> None:  # noqa: ANN001 - a StopFlag
    """Until every agent has ended: signals forwarded, restarts said, deadlines held."""
    t0 = time.monotonic()
    phase_start, awaited, failures = t0, 0, 0  # the attempt whose workers must start, since when
    first_end: float | None = None
    while any(p.poll() is None for p in job.procs):
        now = time.monotonic()
        if stop.requested and outcome.signum is None:
            outcome.signum = stop.signum
            job.signal_all(stop.signum)  # the agents forward it to their workers
        if _bad_input(folder):  # a worker's one-line error about the input: a restart would say it again
            return
        seen = sum(a.failures for a in job.logs)
        if seen > failures and outcome.restarts < watch.max_restarts:  # the agent will rendezvous again
            failures, awaited, phase_start = seen, outcome.restarts + 1, now
        newest = max(_started(folder), default=-1)
        if newest > outcome.restarts:  # the restarted group's workers are up
            outcome.restarts = newest
            _say_restart(job, watch, newest, outcome)
        if newest < awaited and now - phase_start > watch.rdzv_timeout_s + rdzv_grace_s(watch.rdzv_timeout_s):
            outcome.timed_out = "rendezvous"
            outcome.agent_error = "RendezvousTimeoutError"  # kpbench's deadline: no worker started in time
            return
        if watch.timeout_s is not None and now - t0 > watch.timeout_s:
            outcome.timed_out = "job"
            return
        if any(p.poll() not in (None, 0) for p in job.procs):  # one node failed: its peers cannot finish
            first_end = first_end or now
            if now - first_end > KILL_GRACE_S:
                return
        time.sleep(POLL_S)


def _bad_input(folder: Path) -> bool:
    for path in folder.glob("rank-*.json"):
        with contextlib.suppress(OSError, ValueError, AttributeError):
            if json.loads(path.read_text(encoding="utf-8")).get("exit_code") == 2:
                return True
    return False


def _say_restart(job: _Job, watch: Watch, attempt: int, outcome: Outcome) -> None:
    if watch.on_event is None:
        return
    failed = next((a.last_failed for a in job.logs if a.last_failed), None)
    who = f"worker rank {failed[0]} failed ({_how(failed[1])})" if failed else "a worker failed"
    watch.on_event(f"{who}; torchrun restarted the workers (restart {attempt} of {watch.max_restarts}); "
                   f"log: {outcome.log}")


def _collect_workers(folder: Path, log, outcome: Outcome) -> None:  # noqa: ANN001
    """The workers' one-line errors and causes, and their logs appended to the job's log."""
    for path in sorted(folder.glob("rank-*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            outcome.worker_errors[int(entry["rank"])] = entry
        except (OSError, ValueError, KeyError, TypeError):
            continue
    for path in sorted(folder.glob("rank-*.log"), key=lambda p: int(p.stem.split("-")[1])):
        rank = int(path.stem.split("-")[1])
        text = path.read_text(encoding="utf-8", errors="replace")
        cause = cause_line(text)
        if cause:
            outcome.causes[rank] = cause
        log.write(f"---- rank {rank} ----\n{text}")
        if text and not text.endswith("\n"):
            log.write("\n")
    log.flush()
