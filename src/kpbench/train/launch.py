"""Start kpbench workers through torchrun's own launcher (torch.distributed.run, the elastic agent).

kpbench never forks its own worker pool: ``kpbench train --nproc N`` and ``kpbench dist scale``
build a torchrun command line here and run it as a child process, so the elastic agent does
rendezvous, restarts (``--max-restarts``) and signal forwarding exactly as a user's own
``torchrun … -m kpbench …`` would. train/supervise.py runs the job to its end (logs, deadlines,
signals); this module says what to run, and turns how it ended into the one line a user sees.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from kpbench.errors import KpbenchError
from kpbench.train.supervise import WORKER_DIR_ENV, Node, Outcome, Watch, supervise
from kpbench.train.world import LAUNCHER_ENV, RDZV_TIMEOUT_ENV, rdzv_timeout_s

__all__ = ["Launch", "Outcome", "check_nproc", "enter_worker", "errors_to_launcher", "raise_for", "run_job",
           "torchrun_command", "train_on_workers", "worker_env"]


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
    rdzv_timeout_s: float = field(default_factory=rdzv_timeout_s)  # $KPBENCH_RDZV_TIMEOUT_S, checked
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
    """The environment the workers start with: ours, plus the launch's extras and its rendezvous timeout."""
    env = dict(os.environ)
    env.update(launch.env)
    env[RDZV_TIMEOUT_ENV] = repr(launch.rdzv_timeout_s)  # the value checked here, not a raw one
    env[LAUNCHER_ENV] = "1"
    return env


def run_job(launch: Launch, module_argv: list[str], log: Path, *, module: str = "kpbench", label: str = "",
            timeout_s: float | None = None, on_event: Callable[[str], None] | None = None,
            merge_stdout: bool = False) -> Outcome:
    """One torchrun job on this node to its end, its output in ``log`` (stdout too if ``merge_stdout``,
    else to ours: rank 0's own lines); how it ended (train/supervise.py)."""
    node = Node(torchrun_command(launch, module_argv, module=module), worker_env(launch),
                first_rank=launch.node_rank * launch.nproc_per_node)
    watch = Watch(rdzv_timeout_s=launch.rdzv_timeout_s, timeout_s=timeout_s, on_event=on_event,
                  max_restarts=launch.max_restarts)
    return supervise([node], log, watch, label=label, merge_stdout=merge_stdout)


# --- Workers: how many, and what a worker does first ---


def worker_bound(device: str) -> tuple[int, str]:
    """(the most workers this machine runs without sharing, what that counts): CPU cores, or GPUs on CUDA."""
    if device == "cuda":
        import torch

        return torch.cuda.device_count(), "GPUs"
    return len(os.sched_getaffinity(0)), "CPU cores"


def check_nproc(nproc: int, device: str, *, oversubscribe: bool) -> str | None:
    """KpbenchError for more workers than cores (GPUs) unless ``oversubscribe``; then the warning to print."""
    bound, what = worker_bound(device)
    if nproc <= bound:
        return None
    if not oversubscribe:
        raise KpbenchError(f"--nproc {nproc} is more than this machine's {bound} {what}: the workers would share them "
                           f"and every step waits for the slowest; give --nproc {max(1, bound)} or fewer, or "
                           "--oversubscribe to run them anyway")
    if device == "cuda":
        return (f"--nproc {nproc} is more than this machine's {bound} GPUs: workers share them (rank r uses GPU "
                f"r mod {bound}) and all-reduce through gloo, as NCCL takes one rank per GPU")
    return (f"--nproc {nproc} is more than this machine's {bound} CPU cores: the workers share cores (1 thread each) "
            "and every step waits for the slowest")


def enter_worker(*, stdout_too: bool = False) -> None:
    """First thing in a worker kpbench's launcher started (nothing elsewhere): die with the agent, send
    this rank's output (stderr; stdout too if asked) to its log, and say it started."""
    folder = os.environ.get(WORKER_DIR_ENV)
    if not folder or "WORLD_SIZE" not in os.environ:
        return
    from kpbench.train.world import die_with_launcher

    die_with_launcher()
    rank, attempt = os.environ.get("RANK", "0"), os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    try:
        fd = os.open(Path(folder) / f"rank-{rank}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return  # the launcher's folder is gone: it is ending, and so will this worker
    os.write(fd, f"-- attempt {attempt}, pid {os.getpid()}\n".encode())
    for stream, number in ((sys.stderr, 2), (sys.stdout, 1))[: 2 if stdout_too else 1]:
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
        os.dup2(fd, number)
    os.close(fd)
    with contextlib.suppress(OSError):
        (Path(folder) / f"started-{rank}-{attempt}").touch()


def raise_for(outcome: Outcome, launch: Launch) -> None:
    """Turns a job that did not succeed into the one-line error (and exit code) a user sees, naming the log."""
    from kpbench.errors import Interrupted, RunFailed

    if outcome.returncode == 0 and outcome.timed_out is None:  # finished, even if a signal came too late to stop it
        return
    log = f"; log: {outcome.log}" if outcome.log else ""
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
                           f"({name.rsplit('.', 1)[-1]}{detail}); are all --nnodes machines started, and can they "
                           f"reach it?{log}")
    if outcome.timed_out == "job":
        raise RunFailed(f"the workers did not finish in time{log}")
    rank = outcome.failed_rank
    if rank is not None:
        how = outcome.failure().split(": ", 1)[-1]
        raise RunFailed(f"worker rank {rank} failed ({how}) and torchrun's restarts are exhausted "
                        f"(--max-restarts {launch.max_restarts}){log}")
    raise RunFailed(f"torchrun exited with code {outcome.returncode}{log}")




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


WORKERS_LOG = "workers.log"  # in the run directory: the agents' and every worker's output


def train_on_workers(cfg, argv: list[str], *, nproc: int, nnodes: int, node_rank: int,  # noqa: ANN001 - a TrainConfig
                     rdzv_endpoint: str | None, local_addr: str | None, max_restarts: int, out: Path,
                     oversubscribe: bool = False) -> None:
    """Runs ``kpbench ARGV`` on ``nproc`` torchrun workers here (one node of ``nnodes``) to its end.

    Rank 0's own output (the run's header and result) comes to this terminal; everything else the
    workers and torchrun say goes to ``out/workers.log``, and a line here says each restart.
    """
    from kpbench.train.config import resolve_device

    if nnodes > 1 and rdzv_endpoint is None:
        raise KpbenchError("--nnodes above 1 needs --rdzv-endpoint HOST:PORT (where the machines meet)")
    if node_rank >= nnodes:
        raise KpbenchError(f"--node-rank {node_rank} must be below --nnodes {nnodes}")
    warning = check_nproc(nproc, resolve_device(cfg.device), oversubscribe=oversubscribe)
    if warning:
        print(f"kpbench: warning: {warning}", file=sys.stderr)
    threads = cfg.threads or max(1, len(os.sched_getaffinity(0)) // nproc)
    launch = Launch(
        nproc_per_node=nproc, nnodes=nnodes, node_rank=node_rank, rdzv_endpoint=rdzv_endpoint, local_addr=local_addr,
        is_host=(node_rank == 0) if nnodes > 1 else None, max_restarts=max_restarts,
        env={"OMP_NUM_THREADS": str(threads)},
    )
    check_endpoint(launch)
    if out.exists() and not out.is_dir():
        raise KpbenchError(f"{out}: exists and is not a directory")
    outcome = run_job(launch, argv, out / WORKERS_LOG, label="kpbench train",
                      on_event=lambda line: print(f"kpbench: {line}", file=sys.stderr, flush=True))
    raise_for(outcome, launch)


@contextlib.contextmanager
def errors_to_launcher(*, stdout_too: bool = False):
    """In a worker kpbench's launcher started (see enter_worker), a KpbenchError is left for the launcher
    to say once (rank-R.json in its folder) and the worker exits with the error's code; elsewhere it passes."""
    enter_worker(stdout_too=stdout_too)
    try:
        yield
    except KpbenchError as e:
        folder = os.environ.get(WORKER_DIR_ENV)
        if not folder or "WORLD_SIZE" not in os.environ:
            raise
        from kpbench.atomic import write_json

        rank = int(os.environ.get("RANK", "0"))
        write_json(Path(folder) / f"rank-{rank}.json", {"rank": rank, "message": str(e), "exit_code": e.exit_code})
        raise SystemExit(e.exit_code) from None
