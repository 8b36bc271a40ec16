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


def parse_rate_bit_per_s(text: str) -> float:
    """'1gbit', '200mbit', '10Gbit/s', '500kbit' → bit/s (tc's spelling); ValueError otherwise."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([kmg]?)(bit|bps)?(/s)?\s*", text.lower())
    if not m or m.group(3) is None and m.group(2) == "":
        raise ValueError(f"link rate {text!r} is not a rate like 1gbit, 200mbit or 500kbit")
    value = float(m.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[m.group(2)]
    if m.group(3) == "bps":  # tc: bps = bytes per second
        value *= 8
    if value <= 0:
        raise ValueError(f"link rate {text!r} must be positive")
    return value
