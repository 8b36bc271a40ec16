"""Start kpbench workers through torchrun's own launcher (torch.distributed.run, the elastic agent).

kpbench never forks its own worker pool: ``kpbench train --nproc N`` and ``kpbench dist scale``
build a torchrun command line here and run it as a child process, so the elastic agent does
rendezvous, restarts (``--max-restarts``) and signal forwarding exactly as a user's own
``torchrun … -m kpbench …`` would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from kpbench.errors import KpbenchError
from kpbench.train.world import DEFAULT_RDZV_TIMEOUT_S, RDZV_TIMEOUT_ENV, rdzv_timeout_s


@dataclass
class Launch:
    """One torchrun job: where its workers meet and how many there are. Plain data."""

    nproc_per_node: int = 1
    nnodes: int = 1
    node_rank: int = 0
    rdzv_endpoint: str | None = None  # HOST:PORT; None: a free local port (standalone, one node)
    local_addr: str | None = None  # this node's address as peers see it (multi-host)
    is_host: bool | None = None  # c10d: whether this node serves the rendezvous store
    max_restarts: int = 0
    rdzv_timeout_s: float = DEFAULT_RDZV_TIMEOUT_S
    run_id: str = "kpbench"
    env: dict[str, str] = field(default_factory=dict)  # extra environment for the workers

    def torchrun_args(self) -> list[str]:
        """The options torchrun takes, in its own spelling."""
        args = [f"--nproc-per-node={self.nproc_per_node}", f"--max-restarts={self.max_restarts}",
                "--monitor-interval=0.5"]
        if self.nnodes == 1 and self.rdzv_endpoint is None:
            return args + ["--standalone"]
        conf = [f"join_timeout={int(self.rdzv_timeout_s)}", f"read_timeout={int(self.rdzv_timeout_s)}"]
        if self.is_host is not None:
            conf.append(f"is_host={str(self.is_host).lower()}")
        args += [f"--nnodes={self.nnodes}", f"--node-rank={self.node_rank}", "--rdzv-backend=c10d",
                 f"--rdzv-endpoint={self.rdzv_endpoint}", f"--rdzv-id={self.run_id}",
                 f"--rdzv-conf={','.join(conf)}"]
        if self.local_addr:
            args.append(f"--local-addr={self.local_addr}")
        return args


def torchrun_command(launch: Launch, module_argv: list[str], *, module: str = "kpbench") -> list[str]:
    """``python -m torch.distributed.run <launch options> -m <module> <module_argv…>``."""
    return [sys.executable, "-m", "torch.distributed.run", *launch.torchrun_args(), "-m", module, *module_argv]


def worker_env(launch: Launch) -> dict[str, str]:
    """The environment the workers start with: ours, plus the launch's extras."""
    env = dict(os.environ)
    env.update(launch.env)
    env.setdefault(RDZV_TIMEOUT_ENV, str(launch.rdzv_timeout_s))
    return env


def run(launch: Launch, module_argv: list[str], *, module: str = "kpbench", prefix: list[str] | None = None,
        timeout_s: float | None = None, stdout=None) -> subprocess.CompletedProcess:  # noqa: ANN001 - a file or fd
    """Run one torchrun job to its end; ``prefix`` wraps it (e.g. ``ip netns exec HOST``)."""
    cmd = [*(prefix or []), *torchrun_command(launch, module_argv, module=module)]
    return subprocess.run(cmd, env=worker_env(launch), timeout=timeout_s, stdout=stdout)


# --- Running a job to its end as one command: signals forwarded, failures in one line ---

WORKER_ERRORS_ENV = "KPBENCH_WORKER_ERRORS"  # a folder where each worker leaves its one-line error (rank-R.json)
_RDZV_FAILURES = ("RendezvousConnectionError", "RendezvousTimeoutError", "RendezvousClosedError", "RendezvousError",
                  "DistNetworkError", "DistStoreError", "gaierror", "Name or service not known", "Address already in use")


@dataclass
class Outcome:
    """How a supervised torchrun job ended."""

    returncode: int
    signum: int | None = None  # the signal this process received and forwarded to the job
    failed_rank: int | None = None  # torchrun's root cause: the first rank that failed ...
    failed_exitcode: int | None = None  # ... and its exit code (negative: killed by signal -N)
    agent_error: str | None = None  # the agent's own exception line (a rendezvous that failed)
    worker_errors: dict[int, dict] = field(default_factory=dict)  # rank → {"message", "exit_code"}


_AGENT_LOG = re.compile(r"^[IWE]\d{4} [\d:.]+ \d+ \S*torch/distributed/\S+\] (.*)$")


class _AgentOutput:
    """Forwards torchrun's stderr (the workers' too) line by line, keeping back the agent's own tracebacks."""

    def __init__(self, stream, sink) -> None:
        self.stream, self.sink = stream, sink
        self.held: list[str] = []
        self.failure: list[str] = []  # the agent's failure text, parsed afterwards

    def pump(self) -> None:
        block: list[str] | None = None
        for line in self.stream:
            if self.failure:
                self.failure.append(line)
            elif block is not None:
                block.append(line)
                if line.strip() and not line[0].isspace():  # the exception line ends a traceback
                    if any("torch/distributed/" in b for b in block):
                        self.failure = block
                    else:
                        self.sink.writelines(block)
                    block = None
            elif line.startswith("Traceback (most recent call last):"):
                block = [line]
            elif m := _AGENT_LOG.match(line):  # the agent's own log: only what a user acts on, in a line of ours
                if "restart" in m.group(1).lower():
                    self.sink.write(f"kpbench: torchrun: {m.group(1).strip()}\n")
            else:
                self.sink.write(line)
            self.sink.flush()
        if block:
            self.sink.writelines(block)

    def parse(self, outcome: Outcome) -> None:
        text = "".join(self.failure)
        root = text.split("Root Cause", 1)[-1] if "Root Cause" in text else ""
        if m := re.search(r"rank\s*:\s*(\d+)", root):
            outcome.failed_rank = int(m.group(1))
        if m := re.search(r"exitcode\s*:\s*(-?\d+)", root):
            outcome.failed_exitcode = int(m.group(1))
        lines = [ln.strip() for ln in self.failure if ln.strip() and not ln[0].isspace()]
        errors = [ln for ln in lines if any(k in ln for k in _RDZV_FAILURES)]
        if errors:
            outcome.agent_error = errors[-1]


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def supervise(launch: Launch, module_argv: list[str], *, module: str = "kpbench") -> Outcome:
    """Runs one torchrun job to its end; SIGINT/SIGTERM sent to us are forwarded once to the agent.

    The agent runs in its own session, so a Ctrl-C in the terminal reaches it once (from us),
    not twice; it dies with us (PDEATHSIG) if we are killed.
    """
    from kpbench.stop import stop_on_signals

    errors_dir = Path(tempfile.mkdtemp(prefix="kpbench-workers-"))
    launch = dataclasses.replace(launch, env={**launch.env, WORKER_ERRORS_ENV: str(errors_dir)})
    try:
        with stop_on_signals() as stop:
            proc = subprocess.Popen(torchrun_command(launch, module_argv, module=module), env=worker_env(launch),
                                    stderr=subprocess.PIPE, text=True, errors="replace", start_new_session=True,
                                    preexec_fn=_die_with_parent)
            output = _AgentOutput(proc.stderr, sys.stderr)
            reader = threading.Thread(target=output.pump, daemon=True)
            reader.start()
            forwarded = None
            try:
                while proc.poll() is None:
                    if stop.requested and forwarded is None:
                        forwarded = stop.signum
                        proc.send_signal(forwarded)
                    time.sleep(0.05)
            except BaseException:  # a second signal (the user means it): the agent's whole session goes now
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                raise
            reader.join(timeout=10)
        outcome = Outcome(returncode=proc.returncode, signum=forwarded)
        output.parse(outcome)
        outcome.worker_errors = _read_worker_errors(errors_dir)
        return outcome
    finally:
        shutil.rmtree(errors_dir, ignore_errors=True)


def _read_worker_errors(folder: Path) -> dict[int, dict]:
    found = {}
    for path in sorted(folder.glob("rank-*.json")):
        try:
            entry = json.loads(path.read_text(encoding="utf-8"))
            found[int(entry["rank"])] = entry
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return found


def raise_for(outcome: Outcome, launch: Launch) -> None:
    """Turns a job that did not succeed into the one-line error (and exit code) a user sees."""
    from kpbench.errors import Interrupted, RunFailed

    if outcome.returncode == 0:  # finished, even if a signal came too late to stop it
        return
    errors = outcome.worker_errors
    if outcome.signum is not None:
        message = errors.get(0, {}).get("message") or f"stopped by {signal.Signals(outcome.signum).name}"
        raise Interrupted(message, outcome.signum)
    bad_input = [e for _, e in sorted(errors.items()) if e.get("exit_code") == 2]
    if bad_input:  # every worker said the same about the input: say it once
        raise KpbenchError(bad_input[0]["message"])
    if outcome.agent_error:
        where = f" at {launch.rdzv_endpoint}" if launch.rdzv_endpoint else ""
        name, _, detail = outcome.agent_error.partition(": ")
        detail = f": {detail[:160]}" if detail else ""
        raise KpbenchError(f"the workers' rendezvous{where} did not form within {launch.rdzv_timeout_s:.0f} s "
                           f"({name.rsplit('.', 1)[-1]}{detail}); are all --nnodes machines started, and can they reach it?")
    rank, code = outcome.failed_rank, outcome.failed_exitcode
    if rank is not None:
        how = f"killed by {signal.Signals(-code).name}" if code is not None and code < 0 else f"exit code {code}"
        message = errors.get(rank, {}).get("message")
        raise RunFailed(f"worker rank {rank} failed ({how}{': ' + message if message else ''}) and torchrun's "
                        f"restarts are exhausted (--max-restarts {launch.max_restarts})")
    raise RunFailed(f"torchrun exited with code {outcome.returncode}")


def check_endpoint(launch: Launch) -> None:
    """A --rdzv-endpoint whose host does not resolve, or (on the node that serves it) whose port is taken: one line."""
    if launch.rdzv_endpoint is None:
        return
    host, sep, port_text = launch.rdzv_endpoint.rpartition(":")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise KpbenchError(f"--rdzv-endpoint {launch.rdzv_endpoint!r}: expected HOST:PORT")
    port = int(port_text)
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host.strip("[]"), port, type=socket.SOCK_STREAM)}
    except socket.gaierror as e:
        raise KpbenchError(f"--rdzv-endpoint {launch.rdzv_endpoint}: unknown host {host} ({e.strerror})") from None
    if launch.node_rank != 0:
        return
    for address in addresses:  # node 0 serves the rendezvous store: its port must be free where it is local
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s:
            try:
                s.bind((address, port))
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    raise KpbenchError(f"--rdzv-endpoint {launch.rdzv_endpoint}: port {port} is already in use on this machine") from None


# --- `kpbench train`: one process here, or N workers through torchrun ---


@dataclass(frozen=True)
class TrainJob:
    """What a `kpbench train` command line asks besides the TrainConfig: where, and how to start."""

    data: str
    out: Path
    resume: bool = False
    progress: bool = True
    force: bool = False


def wants_workers(*, nproc: int, nnodes: int, rdzv_endpoint: str | None, max_restarts: int) -> bool:
    """Whether the command starts torchrun workers rather than training in this process."""
    if not (nproc > 1 or nnodes > 1 or rdzv_endpoint is not None or max_restarts > 0):
        return False
    if "WORLD_SIZE" in os.environ:
        raise KpbenchError("--nproc/--nnodes/--rdzv-endpoint/--max-restarts given inside a torchrun worker; "
                           "give them to torchrun or to kpbench, not both")
    return True


def train_on_workers(cfg, argv: list[str], *, nproc: int, nnodes: int, node_rank: int,  # noqa: ANN001 - a TrainConfig
                     rdzv_endpoint: str | None, local_addr: str | None, max_restarts: int) -> None:
    """Runs ``kpbench ARGV`` on ``nproc`` torchrun workers here (one node of ``nnodes``) to its end."""
    if nnodes > 1 and rdzv_endpoint is None:
        raise KpbenchError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT (where the machines meet)")
    if node_rank >= nnodes:
        raise KpbenchError(f"--node-rank {node_rank} must be below --nnodes {nnodes}")
    threads = cfg.threads or max(1, len(os.sched_getaffinity(0)) // nproc)
    _warn_if_oversubscribed(cfg.device, nproc)
    launch = Launch(
        nproc_per_node=nproc, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, local_addr=local_addr,
        is_host=(node_rank == 0) if nnodes > 1 else None, max_restarts=max_restarts, rdzv_timeout_s=rdzv_timeout_s(),
        env={"OMP_NUM_THREADS": str(threads)},
    )
    check_endpoint(launch)
    raise_for(supervise(launch, argv), launch)


def _warn_if_oversubscribed(device: str, nproc: int) -> None:
    from kpbench.train.config import resolve_device

    if resolve_device(device) == "cuda":
        import torch

        gpus = torch.cuda.device_count()
        if nproc > gpus:
            print(f"kpbench: warning: --nproc {nproc} is more than this machine's {gpus} GPUs: workers share them "
                  f"(rank r uses GPU r mod {gpus}) and all-reduce through gloo, as NCCL takes one rank per GPU", file=sys.stderr)
        return
    cores = len(os.sched_getaffinity(0))
    if nproc > cores:
        print(f"kpbench: warning: --nproc {nproc} is more than this machine's {cores} CPU cores: the workers share "
              f"cores (1 thread each) and every step waits for the slowest", file=sys.stderr)


@contextlib.contextmanager
def errors_to_launcher():
    """In a worker that `kpbench train --nproc` started, a KpbenchError is left for the launcher to say
    once (rank-R.json in its folder) and the worker exits with the error's code; elsewhere it passes."""
    try:
        yield
    except KpbenchError as e:
        folder = os.environ.get(WORKER_ERRORS_ENV)
        if not folder:
            raise
        from kpbench.atomic import write_json

        rank = int(os.environ.get("RANK", "0"))
        write_json(Path(folder) / f"rank-{rank}.json", {"rank": rank, "message": str(e), "exit_code": e.exit_code})
        raise SystemExit(e.exit_code) from None
