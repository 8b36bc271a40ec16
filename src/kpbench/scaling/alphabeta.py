"""The α-β cost model of ring all-reduce, and what it predicts for a data-parallel step.

Pure functions, no torch. T(S, n) = 2(n−1)·α + 2(n−1)/n · S · β (Thakur, Rabenseifner and
Gropp 2005): a ring all-reduce of S bytes over n workers takes 2(n−1) latency hops and moves
2(n−1)/n · S bytes through each worker's link. A step is the measured compute plus the part of
the all-reduce that backward cannot hide (``exposed``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Link:
    """A network a cluster could be joined by. α is assumed (typical, not measured here) unless fitted."""

    name: str
    gbit_per_s: float
    alpha_s: float

    @property
    def beta_s_per_byte(self) -> float:
        return 8.0 / (self.gbit_per_s * 1e9)


# Typical per-hop latencies (software stack included), assumed, not measured: Ethernet over TCP
# tens of µs, NVLink (≈ 300 GB/s per direction, A100 NVLink 3) a few µs.
LINKS: tuple[Link, ...] = (
    Link("1 GbE", 1.0, 50e-6),
    Link("10 GbE", 10.0, 25e-6),
    Link("25 GbE", 25.0, 15e-6),
    Link("100 GbE", 100.0, 10e-6),
    Link("NVLink", 2400.0, 5e-6),
)


def ring_allreduce_s(size_bytes: float, n: int, alpha_s: float, beta_s_per_byte: float) -> float:
    """Seconds for one ring all-reduce of ``size_bytes`` over ``n`` workers (0 for one worker)."""
    if n <= 1:
        return 0.0
    return 2 * (n - 1) * alpha_s + 2 * (n - 1) / n * size_bytes * beta_s_per_byte


def algbw_bytes_per_s(size_bytes: float, time_s: float) -> float:
    """nccl-tests' algorithm bandwidth: message size over time."""
    return size_bytes / time_s


def busbw_bytes_per_s(size_bytes: float, time_s: float, n: int) -> float:
    """nccl-tests' bus bandwidth for all-reduce: algbw · 2(n−1)/n, comparable with the link's rate."""
    return algbw_bytes_per_s(size_bytes, time_s) * 2 * (n - 1) / n


SMALL_BYTES = 4096  # at or below: latency-bound, these fix α
LARGE_BYTES = 256 * 1024  # at or above: bandwidth-bound, these fix β (and exceed a tbf bucket's burst)


def fit_alpha_beta(points: list[tuple[float, int, float]]) -> tuple[float, float]:
    """(α, β) from (size_bytes, n, time_s) all-reduce timings, in two stages.

    α: the median of (t − bandwidth term) / 2(n−1) over small messages (a median: one slow call on a busy machine
    should not move it). β: least squares of the rest, t − 2(n−1)α = 2(n−1)/n · S · β, over
    large messages, each equation divided by its time (relative error). Mid sizes are left out:
    a token bucket lets bursts below its size through unshaped, which neither term describes.
    Without small messages both are fitted together; α and β are kept ≥ 0.
    """
    pts = [(s, n, t) for s, n, t in points if n > 1 and t > 0]
    if len(pts) < 2:
        raise ValueError("need at least two all-reduce timings with n > 1 to fit α and β")
    small = [p for p in pts if p[0] <= SMALL_BYTES]
    large = [p for p in pts if p[0] >= LARGE_BYTES] or [p for p in pts if p[0] > SMALL_BYTES]
    if not small or not large:
        return _joint_fit(pts)
    alpha = beta = 0.0
    for _ in range(20):  # each stage corrects the other's small share; converges in a few rounds
        alpha = max(0.0, float(np.median([(t - 2 * (n - 1) / n * s * beta) / (2 * (n - 1)) for s, n, t in small])))
        x = np.array([2 * (n - 1) / n * s / t for s, n, t in large])
        y = np.array([(t - 2 * (n - 1) * alpha) / t for s, n, t in large])
        beta = max(0.0, float(np.sum(x * y) / np.sum(x * x)))
    return alpha, beta


def _joint_fit(pts: list[tuple[float, int, float]]) -> tuple[float, float]:
    a = np.array([[2 * (n - 1), 2 * (n - 1) / n * s] for s, n, _ in pts], dtype=float)
    t = np.array([t for _, _, t in pts], dtype=float)
    w = 1.0 / t
    alpha, beta = np.linalg.lstsq(a * w[:, None], t * w, rcond=None)[0]
    if alpha < 0:  # latency below resolution: fit β alone
        alpha = 0.0
        beta = float(np.sum(a[:, 1] * w * w * t) / np.sum((a[:, 1] * w) ** 2))
    if beta < 0:
        beta = 0.0
        alpha = float(np.sum(a[:, 0] * w * w * t) / np.sum((a[:, 0] * w) ** 2))
    return float(alpha), float(beta)


def comm_s(bucket_bytes: list[float], n: int, alpha_s: float, beta_s_per_byte: float) -> float:
    """All-reduce time of one step: DDP reduces bucket after bucket, one ring each."""
    return sum(ring_allreduce_s(b, n, alpha_s, beta_s_per_byte) for b in bucket_bytes)


def exposed_comm_s(ready_offsets_s: list[float], bucket_bytes: list[float], n: int, alpha_s: float,
                   beta_s_per_byte: float) -> float:
    """The part of a step's all-reduce that backward cannot hide.

    Bucket i is handed over ``ready_offsets_s[i]`` after the first; the process group reduces
    one bucket at a time, so each starts when it is ready and the previous one is done. What
    runs past the last bucket's hand-over (the end of backward compute) is exposed.
    """
    end = float("-inf")
    for ready, size in zip(ready_offsets_s, bucket_bytes):
        end = max(ready, end) + ring_allreduce_s(size, n, alpha_s, beta_s_per_byte)
    return max(0.0, end - max(ready_offsets_s, default=0.0)) if bucket_bytes else 0.0


def predict_step_s(compute_s: float, ready_offsets_s: list[float], bucket_bytes: list[float], n: int,
                   alpha_s: float, beta_s_per_byte: float) -> float:
    """Step time = compute (forward, backward, optimizer, the loop) + exposed all-reduce."""
    return compute_s + exposed_comm_s(ready_offsets_s, bucket_bytes, n, alpha_s, beta_s_per_byte)


def relative_error(predicted: float, measured: float) -> float:
    """(predicted − measured) / measured."""
    return (predicted - measured) / measured


@dataclass(frozen=True)
class Profile:
    """What one worker's step costs on its own: the inputs of a prediction, measured at one batch."""

    compute_s: float  # a step less its exposed communication: forward, backward, optimizer, the loop
    ready_offsets_s: tuple[float, ...]  # when each gradient bucket is ready, after the first one
    batch: int  # per-worker batch the profile was measured at
    bucket_bytes: tuple[float, ...]  # bytes on the wire per bucket

    @property
    def gradient_bytes(self) -> float:
        return float(sum(self.bucket_bytes))

    def at_batch(self, batch: int) -> Profile:
        """Compute scaled linearly with the batch (the optimizer's share too: an upper bound on its cost)."""
        k = batch / self.batch
        return Profile(self.compute_s * k, tuple(r * k for r in self.ready_offsets_s), batch, self.bucket_bytes)


def scaling(profile: Profile, n: int, link: Link, *, global_batch: int | None = None) -> dict:
    """Predicted step and speedup over one worker for ``n`` workers on ``link``.

    Fixed per-worker batch (``global_batch`` None): each of n workers does one profile step per
    step, so throughput grows n-fold less the exposed communication. Fixed global batch: each
    worker does global_batch / n of it.
    """
    per_worker = profile if global_batch is None else profile.at_batch(max(1, round(global_batch / n)))
    step = predict_step_s(per_worker.compute_s, list(per_worker.ready_offsets_s), list(per_worker.bucket_bytes), n,
                          link.alpha_s, link.beta_s_per_byte)
    images_per_s = n * per_worker.batch / step
    one = profile if global_batch is None else profile.at_batch(global_batch)
    return {"nproc": n, "link": link.name, "step_s": step, "images_per_s": images_per_s,
            "speedup": images_per_s / (one.batch / one.compute_s)}


def break_even_nproc(profile: Profile, link: Link, *, global_batch: int | None = None, max_n: int = 64) -> int | None:
    """The fewest workers (≥ 2) with speedup > 1 over one worker on ``link``; None when none up to max_n."""
    for n in range(2, max_n + 1):
        if scaling(profile, n, link, global_batch=global_batch)["speedup"] > 1.0:
            return n
    return None


def break_even_gbit_per_s(profile: Profile, n: int, *, alpha_s: float = 25e-6, global_batch: int | None = None) -> float | None:
    """The slowest link (Gbit/s) on which ``n`` workers beat one; None when no rate does (compute-bound)."""
    def pays(rate: float) -> bool:
        return scaling(profile, n, Link("", rate, alpha_s), global_batch=global_batch)["speedup"] > 1.0

    lo, hi = 1e-3, 1e5
    if not pays(hi):
        return None
    if pays(lo):
        return lo
    for _ in range(60):  # bisection on a log scale
        mid = (lo * hi) ** 0.5
        lo, hi = (lo, mid) if pays(mid) else (mid, hi)
    return hi


MIN_RATE_BIT_PER_S = 8.0  # tc tbf's smallest rate: 1 byte/s
MAX_RATE_BIT_PER_S = 1e12  # 1 Tbit/s: above it tbf's bucket for 5 ms of traffic no longer fits tc's 32-bit burst


def parse_rate_bit_per_s(text: str) -> float:
    """'1gbit', '200mbit', '10Gbit/s', '500kbit', '125mbps' → bit/s (tc's spelling); ValueError otherwise,
    also for rates tc tbf cannot shape (below 8 bit/s, above 1 Tbit/s)."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmgt]?)(bit|bps)?(/s)?\s*", str(text).lower())
    if not m or m.group(3) is None and m.group(2) == "":
        raise ValueError(f"link rate {text!r} is not a rate like 1gbit, 200mbit or 500kbit")
    value = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12}[m.group(2)]
    if m.group(3) == "bps":  # tc: bps = bytes per second
        value *= 8
    if not MIN_RATE_BIT_PER_S <= value <= MAX_RATE_BIT_PER_S:
        raise ValueError(f"link rate {text!r}: tc shapes rates from 8bit (1 byte/s) to 1tbit")
    return value


# --- Backward and communication sharing a worker's cores ---
#
# On CPU workers the all-reduce is work too: gloo's copies and reductions and the kernel's TCP
# processing run on the same cores as backward. Measured alone (the all-reduce microbenchmark
# on an unshaped link, where nothing but the CPUs limits it) a bucket's all-reduce takes
# cpu_s; on a link that needs wire_s ≥ cpu_s for it, the same work is spread over wire_s, a
# demand of cpu_s / wire_s of a core. While backward still runs, the scheduler shares the
# worker's cores between its ``threads`` backward threads and the transfer as between
# threads + 1 equal threads: the transfer gets min(demand, threads / (threads + 1)) of a core
# and slows backward by that much. So the overlap window is only the backward work left after
# a bucket is ready, stretched by the transfers it overlaps; what runs past its end is exposed.


def replay_backward(work_s: list[float], cpu_s: list[float], wire_s: list[float], threads: int) -> tuple[list[float], float, float]:
    """(wall offsets at which each bucket became ready, window_s, exposed_s) of one backward.

    ``work_s[i]``: backward work (seconds at full speed) after the first bucket's hand-over at
    which bucket i is ready (work_s[0] = 0, the last one ends backward). Buckets are reduced one
    at a time in hand-over order, each at its wire time when backward is done.
    """
    share = threads / (threads + 1)
    t = done_work = 0.0
    ready_at, queue = [0.0], [0]
    nxt, current, left = 1, None, 0.0  # next bucket to be handed over; the one on the wire, its wire seconds left
    end = len(work_s) - 1
    while nxt <= end or queue or current is not None:
        if current is None and queue:
            current = queue.pop(0)
            left = max(wire_s[current], cpu_s[current], 1e-12)
        backward = nxt <= end
        demand = cpu_s[current] / left if current is not None and left > 0 else 0.0
        got = min(demand, share) if backward else demand
        wire_rate = got / demand if demand > 0 else 1.0  # wire seconds per second
        bw_rate = 1.0 - got / threads
        dt_work = (work_s[nxt] - done_work) / bw_rate if backward else float("inf")
        dt_wire = left / wire_rate if current is not None else float("inf")
        dt = min(dt_work, dt_wire)
        t += dt
        if backward:
            done_work += dt * bw_rate
        if current is not None:
            left -= dt * wire_rate
        if backward and dt_work <= dt_wire:
            ready_at.append(t)
            queue.append(nxt)
            nxt += 1
        if current is not None and dt_wire <= dt_work:
            current = None
    window = ready_at[-1]
    return ready_at, window, max(0.0, t - window)


def backward_work(ready_offsets_s: list[float], cpu_s: list[float], threads: int) -> list[float]:
    """The backward work after the first bucket at which each bucket was ready, from a run on an unshaped
    link (transfers CPU-bound: wire = cpu), undoing the slowdown its own transfers caused."""
    work = list(ready_offsets_s)
    for _ in range(60):
        seen, _, _ = replay_backward(work, cpu_s, cpu_s, threads)
        step = [r - s for r, s in zip(ready_offsets_s, seen)]
        if max((abs(x) for x in step), default=0.0) < 1e-7:
            break
        work = [0.0] + [max(work[i - 1], w + d) for i, (w, d) in enumerate(zip(work[1:], step[1:]), 1)]
    return work


def shaped_step_s(compute_s: float, ready_offsets_s: list[float], bucket_bytes: list[float], n: int, threads: int,
                  unshaped: tuple[float, float], link: tuple[float, float]) -> dict:
    """A step on ``link`` (α, β), predicted from a run on an unshaped link (α, β ``unshaped``) alone.

    compute_s, ready_offsets_s: the unshaped run's (step less exposed; bucket hand-overs after the
    first). Returns step_s, window_s (backward after the first bucket), exposed_s, and the
    unshaped window the prediction started from.
    """
    cpu = [ring_allreduce_s(b, n, *unshaped) for b in bucket_bytes]
    wire = [max(c, ring_allreduce_s(b, n, *link)) for b, c in zip(bucket_bytes, cpu)]
    if not bucket_bytes:
        return {"step_s": compute_s, "window_s": 0.0, "exposed_s": 0.0, "unshaped_window_s": 0.0}
    offsets = list(ready_offsets_s) if len(ready_offsets_s) == len(bucket_bytes) else [0.0] * len(bucket_bytes)
    work = backward_work(offsets, cpu, threads)
    _, window, exposed = replay_backward(work, cpu, wire, threads)
    return {"step_s": compute_s - offsets[-1] + window + exposed, "window_s": window, "exposed_s": exposed,
            "unshaped_window_s": offsets[-1]}
