"""Start kpbench workers through torchrun's own launcher (torch.distributed.run, the elastic agent).

kpbench never forks its own worker pool: ``kpbench train --nproc N`` and ``kpbench dist scale``
build a torchrun command line here and run it as a child process, so the elastic agent does
rendezvous, restarts (``--max-restarts``) and signal forwarding exactly as a user's own
``torchrun … -m kpbench …`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field

RDZV_TIMEOUT_S = 60  # a rendezvous that cannot form fails within this, never torch's 15-30 min default


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
    rdzv_timeout_s: float = RDZV_TIMEOUT_S
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
    env.setdefault("KPBENCH_RDZV_TIMEOUT_S", str(launch.rdzv_timeout_s))
    return env


def run(launch: Launch, module_argv: list[str], *, module: str = "kpbench", prefix: list[str] | None = None,
        timeout_s: float | None = None) -> subprocess.CompletedProcess:
    """Run one torchrun job to its end; ``prefix`` wraps it (e.g. ``ip netns exec HOST``)."""
    cmd = [*(prefix or []), *torchrun_command(launch, module_argv, module=module)]
    return subprocess.run(cmd, env=worker_env(launch), timeout=timeout_s)
