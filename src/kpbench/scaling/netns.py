"""Pretend hosts on one Linux machine: a network namespace per worker, links shaped with ``tc tbf``.

Two hosts are joined by one veth pair; more by veth pairs to a bridge in a hub namespace. Each
host's end (and the hub's, toward it) is shaped with a token bucket to the rate asked for, so a
ring all-reduce sees that rate in both directions. Addresses come from 198.18.0.0/15 (RFC 2544,
benchmarking) and the namespaces have no route out: traffic never leaves them.

Every veth is created inside its namespaces (never in the host's), so deleting the namespaces
removes everything; ``hosts()`` does that in ``finally`` after killing what still runs in them,
and first removes what crashed earlier runs left (their names carry a dead pid).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from kpbench.errors import KpbenchError, RunFailed
from kpbench.train.launch import Launch, Outcome, torchrun_command, worker_env
from kpbench.train.supervise import Node, Watch, pid_alive, supervise
from kpbench.train.world import SHARED_MACHINE_ENV

PREFIX = "kpbd-"  # namespace names: kpbd-<creator pid>-<run>-<index>
IFNAME = "kpb0"  # a host's interface (each namespace has its own, so one name does)
SUBNET = "198.18.0"
RDZV_PORT = 29400


@dataclass(frozen=True)
class Host:
    netns: str
    addr: str
    ifname: str = IFNAME


def check_can_shape() -> None:
    """KpbenchError (one line) unless this is Linux, as root, with iproute2's ip and tc."""
    if not sys.platform.startswith("linux"):
        raise KpbenchError("--link-limit needs Linux network namespaces; this is " + sys.platform)
    if os.geteuid() != 0:
        raise KpbenchError("--link-limit needs root (network namespaces, veth, tc); run as root or drop --link-limit")
    missing = [tool for tool in ("ip", "tc") if shutil.which(tool) is None]
    if missing:
        raise KpbenchError(f"--link-limit needs iproute2 ({' and '.join(missing)} not found); install iproute2")


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    r = subprocess.run(["ip", *args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RunFailed(f"ip {' '.join(args)}: {r.stderr.strip() or 'failed'}")
    return r


def our_namespaces() -> list[str]:
    """Namespaces this module made (any run) that still exist."""
    r = _ip("netns", "list", check=False)
    names = [line.split()[0] for line in r.stdout.splitlines() if line.strip()]
    return [n for n in names if n.startswith(PREFIX)]


def remove_namespace(name: str) -> None:
    """Kill what runs in ``name``, then delete it (and with it its veth ends)."""
    pids = _ip("netns", "pids", name, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    _ip("netns", "del", name, check=False)


def clean_stale() -> list[str]:
    """Remove namespaces left by earlier runs whose process is gone; their names."""
    stale = []
    for name in our_namespaces():
        try:
            pid = int(name[len(PREFIX):].split("-")[0])
        except ValueError:
            continue
        if not pid_alive(pid):
            remove_namespace(name)
            stale.append(name)
    return stale


def tbf_args(rate_bit_per_s: float) -> list[str]:
    """tc tbf options for ``rate``: a bucket that holds a 64 KiB GSO packet and 5 ms of traffic."""
    burst_bytes = max(256 * 1024, int(rate_bit_per_s / 8 * 0.005))
    return ["tbf", "rate", f"{int(rate_bit_per_s)}bit", "burst", str(burst_bytes), "latency", "200ms"]


def _shape(netns: str, dev: str, rate_bit_per_s: float | None) -> None:
    if rate_bit_per_s is None:  # an unshaped link: the veth as it is
        return
    r = subprocess.run(["tc", "-n", netns, "qdisc", "add", "dev", dev, "root", *tbf_args(rate_bit_per_s)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RunFailed(f"tc qdisc add dev {dev} tbf: {r.stderr.strip() or 'failed'}")


def _build(names: list[str], hub: str | None, rate_bit_per_s: float | None) -> list[Host]:
    hosts = [Host(name, f"{SUBNET}.{i + 1}") for i, name in enumerate(names)]
    for name in names + ([hub] if hub else []):
        _ip("netns", "add", name)
        _ip("-n", name, "link", "set", "lo", "up")
    if hub is None:  # two hosts: one veth pair, one end in each
        _ip("link", "add", IFNAME, "netns", names[0], "type", "veth", "peer", "name", IFNAME, "netns", names[1])
    else:
        _ip("-n", hub, "link", "add", "br0", "type", "bridge")
        _ip("-n", hub, "link", "set", "br0", "up")
        for i, name in enumerate(names):
            port = f"p{i}"
            _ip("link", "add", port, "netns", hub, "type", "veth", "peer", "name", IFNAME, "netns", name)
            _ip("-n", hub, "link", "set", port, "master", "br0")
            _ip("-n", hub, "link", "set", port, "up")
            _shape(hub, port, rate_bit_per_s)
    for host in hosts:
        _ip("-n", host.netns, "addr", "add", f"{host.addr}/24", "dev", IFNAME)
        _ip("-n", host.netns, "link", "set", IFNAME, "up")
        _shape(host.netns, IFNAME, rate_bit_per_s)
    return hosts


# Removes the namespaces named in argv once its stdin ends: when the process holding the pipe's
# other end exits, however it exits (SIGKILL included). Self-contained: no kpbench import.
_REAPER = """
import os, signal, subprocess, sys
sys.stdin.read()
for name in sys.argv[1:]:
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
"""


def _start_reaper(names: list[str]) -> subprocess.Popen:
    """A watcher, in its own session, that removes ``names`` (and kills what runs in them) once we are gone."""
    return subprocess.Popen([sys.executable, "-c", _REAPER, *names], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


@contextlib.contextmanager
def hosts(n: int, rate_bit_per_s: float | None) -> Iterator[list[Host]]:
    """``n`` namespaces joined at ``rate`` (None: unshaped veth); all removed on exit, also on failure, and
    by a watcher process if this one is killed before it can."""
    check_can_shape()
    clean_stale()
    run = f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:6]}"
    names = [f"{run}-{i}" for i in range(n)]
    every = names + ([f"{run}-hub"] if n > 2 else [])
    reaper = _start_reaper(every)
    try:
        yield _build(names, every[-1] if n > 2 else None, rate_bit_per_s)
    finally:
        for name in every:
            remove_namespace(name)
        with contextlib.suppress(OSError):
            reaper.stdin.close()
        reaper.wait()


def node_launch(host_list: list[Host], rank: int, run_id: str, base: Launch) -> Launch:
    """Node ``rank``'s torchrun launch: c10d rendezvous on host 0, gloo bound to the shaped link."""
    env = {**base.env, "GLOO_SOCKET_IFNAME": IFNAME, "TP_SOCKET_IFNAME": IFNAME, "NCCL_SOCKET_IFNAME": IFNAME,
           SHARED_MACHINE_ENV: "1"}  # every emulated host's workers share this machine's cores
    return Launch(nproc_per_node=1, nnodes=len(host_list), node_rank=rank,
                  rdzv_endpoint=f"{host_list[0].addr}:{RDZV_PORT}", local_addr=host_list[rank].addr,
                  is_host=rank == 0, max_restarts=0, rdzv_timeout_s=base.rdzv_timeout_s, run_id=run_id, env=env)


def run_across(host_list: list[Host], module_argv: list[str], *, module: str, log: Path, base: Launch | None = None,
               timeout_s: float = 600, label: str = "") -> Outcome:
    """One torchrun node per host, started together and supervised as one job (train/supervise.py)."""
    base = base or Launch()
    run_id = uuid.uuid4().hex[:8]
    nodes = []
    for rank, host in enumerate(host_list):
        launch = node_launch(host_list, rank, run_id, base)
        cmd = ["ip", "netns", "exec", host.netns, *torchrun_command(launch, module_argv, module=module)]
        nodes.append(Node(cmd, worker_env(launch), first_rank=rank))
    watch = Watch(rdzv_timeout_s=base.rdzv_timeout_s, timeout_s=timeout_s)
    return supervise(nodes, log, watch, label=label or f"{len(host_list)} hosts", merge_stdout=True)
