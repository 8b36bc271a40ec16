"""The speed path: how a run trains (precision, memory layout, threads, compilation) and why.

On a GPU the path is fixed (bf16 autocast where the GPU has it, channels-last). On a CPU what
is fastest depends on the chip: on an AVX512-BF16 Zen 4 bf16 autocast trained bncnn and seed
1.7-2.5x faster than fp32, on an AVX512-BF16 Xeon without AMX no faster; channels-last won on
both. So ``precision="auto"`` (and ``channels_last=None``, ``threads=None``) are decided by a
short measurement on this machine: a few optimizer steps of the network at the run's batch
size, each candidate timed in interleaved rounds (other load hits them alike), a candidate
taken over the default only when it is at least MARGIN faster. The answer is cached per
machine, network and batch size (``speed-paths.json`` in kpbench's cache directory), so one
machine measures once; ``KPBENCH_AUTOTUNE=off`` never measures, ``=fresh`` measures again.

bf16 is a candidate only for networks whose bf16 training keeps the validation RMSE within
2 % of fp32's (BF16_ACCURATE; faces15, same seed and epochs: heatmap 20 epochs 1.445 fp32 / 1.448
bf16 px, bncnn 35 epochs 1.514 / 1.503; benchmarks/cpu_paths.py measures it again). torch.compile is not a
default: its first compile of these networks took 65-100 s on the 2-core Zen 4 and its steps
were 0.93-1.09x eager's, so it cannot pay inside a one-minute budget; ``compile=True`` asks for
it, and a machine without a working C++ compiler falls back to eager with one warning.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field, replace

import torch

from kpbench import atomic
from kpbench.fmt import plain

MARGIN = 1.05  # an alternative must beat the default by 5 %: below that, noise decides
MEASURE_ROUNDS = 3
ROUND_S = 0.15  # each candidate's turn in a round: steps until this much time has passed (at least one)
WARM_STEPS = 1  # a candidate's first step: oneDNN primitive creation, allocator
MIN_STEPS_TO_MEASURE = 64  # shorter runs take the cached or the fixed path: measuring would cost more than it saves
MIN_BUDGET_TO_MEASURE_S = 10.0
# Validation RMSE of bf16 training within 2 % of fp32's at the same epochs (benchmarks/cpu_paths.py,
# results in benchmarks/results/); a network absent here trains fp32 on CPU unless asked.
BF16_ACCURATE = {"heatmap": True, "bncnn": True, "seed": True}
AUTOTUNE_ENV = "KPBENCH_AUTOTUNE"  # off | fresh; anything else: measure when not cached
CACHE_FILE = "speed-paths.json"


@dataclass(frozen=True)
class SpeedPath:
    """How a run trains; ``source``: measured | cached | given (every choice set) | fixed (no measurement)."""

    precision: str
    channels_last: bool
    compile: bool
    threads: int  # torch CPU threads the run uses
    source: str
    why: str
    images_per_s: dict[str, float] = field(default_factory=dict)  # what the measurement saw, per candidate

    def to_dict(self) -> dict:
        return asdict(self)

    def describe(self) -> str:
        """One line: what runs, and why."""
        threads = f", {self.threads} thread{'s' * (self.threads != 1)}"
        layout = "channels-last" if self.channels_last else "contiguous (NCHW)"
        compiled = ", torch.compile" if self.compile else ""
        return f"{self.precision}, {layout}{threads}{compiled} ({self.source}: {self.why})"


@dataclass(frozen=True)
class Candidate:
    precision: str
    channels_last: bool
    threads: int

    @property
    def name(self) -> str:
        return f"{self.precision}-{'cl' if self.channels_last else 'nchw'}-t{self.threads}"


def resolve_speed_path(cfg, device: str, *, threads: int | None = None, planned_steps: int | None = None,
                       measure: bool = True) -> SpeedPath:
    """The path ``cfg`` trains with on ``device``: given, cached, measured now, or fixed (see the module).

    ``threads``: the threads this process may use when a launcher divided the cores (then not
    tuned); ``planned_steps``: the run's length (a short run does not measure); ``measure``:
    False for runs that must not measure (a worker among several on one machine).
    """
    compile_ = bool(cfg.compile)
    given_threads = cfg.threads or threads
    threads = given_threads or torch.get_num_threads()
    if not device.startswith("cpu"):
        precision = _gpu_precision(cfg.precision, device)
        return SpeedPath(precision, cfg.channels_last is not False, compile_, threads, "fixed",
                         f"on {device}: bf16 autocast where the GPU has it, channels-last")
    tune = _tunable(cfg, given_threads=given_threads is not None)
    default = Candidate("fp32" if cfg.precision == "auto" else cfg.precision,
                        True if cfg.channels_last is None else cfg.channels_last, threads)
    if not tune:
        return SpeedPath(default.precision, default.channels_last, compile_, threads, "given", "set by the run's options")
    key = cache_key(cfg.model, cfg.batch_size, tuple(sorted(tune)), cfg)
    mode = os.environ.get(AUTOTUNE_ENV, "").lower()
    cached = None if mode == "fresh" else _read_cache().get(key)
    if cached is not None:
        return replace(SpeedPath(**cached), compile=compile_, source="cached")
    long_enough = planned_steps is None or planned_steps >= MIN_STEPS_TO_MEASURE or (
        cfg.time_budget_s is not None and cfg.time_budget_s >= MIN_BUDGET_TO_MEASURE_S)
    if mode == "off" or not measure or not long_enough:
        why = f"{AUTOTUNE_ENV}=off" if mode == "off" else (
            "not measured by one of several workers" if not measure else "a short run: not worth measuring")
        return SpeedPath(default.precision, default.channels_last, compile_, threads, "fixed", why)
    try:
        path = measure_speed_path(cfg.model, cfg.batch_size, default, tune)
    except Exception as e:  # a candidate this CPU or torch build cannot run: train the default, say so once
        reason = plain(" ".join(str(e).split())[:200] or type(e).__name__)
        print(f"kpbench: warning: the speed path could not be measured ({type(e).__name__}: {reason}); "
              f"training {default.precision}, {'channels-last' if default.channels_last else 'NCHW'}", file=sys.stderr)
        return SpeedPath(default.precision, default.channels_last, compile_, threads, "fixed", f"measurement failed: {reason}")
    _write_cache(key, path)
    return replace(path, compile=compile_)


def _tunable(cfg, *, given_threads: bool) -> set[str]:
    """Which of precision, layout and threads this run leaves to the measurement."""
    tune = set()
    if cfg.precision == "auto" and cpu_bf16_candidate(cfg.model):
        tune.add("precision")
    if cfg.channels_last is None:
        tune.add("layout")
    if not given_threads and torch.get_num_threads() > 1:
        tune.add("threads")
    return tune


def cpu_bf16_candidate(model: str) -> bool:
    """Whether bf16 may be tried: the CPU computes it natively and the network keeps its accuracy in it."""
    from kpbench.train.config import cpu_has_native_bf16

    return BF16_ACCURATE.get(model, False) and cpu_has_native_bf16()


def _gpu_precision(precision: str, device: str) -> str:
    from kpbench.train.config import resolve_precision

    return resolve_precision(precision, device)


def measure_speed_path(model: str, batch_size: int, default: Candidate, tune: set[str]) -> SpeedPath:
    """Time the candidates (precision x layout, then threads) and keep the fastest by MARGIN."""
    start = time.perf_counter()
    first = [default]
    if "precision" in tune:
        first.append(replace(default, precision="bf16"))
    if "layout" in tune:
        first += [replace(c, channels_last=not c.channels_last) for c in list(first)]
    rates = time_candidates(model, batch_size, first)
    best = pick(rates, default)
    if "threads" in tune:
        fewer = replace(best, threads=max(1, best.threads // 2))
        more = time_candidates(model, batch_size, [best, fewer])
        rates.update({c: v for c, v in more.items() if c != best})
        best = pick({best: more[best], fewer: more[fewer]}, best)
    why = f"{_ratios(rates, best)}; took {time.perf_counter() - start:.1f} s"
    return SpeedPath(best.precision, best.channels_last, False, best.threads, "measured", why,
                     {c.name: round(v, 1) for c, v in rates.items()})


def pick(rates: dict[Candidate, float], default: Candidate) -> Candidate:
    """The fastest candidate if it beats ``default`` by MARGIN, else ``default``."""
    best = max(rates, key=rates.get)
    return best if rates[best] >= MARGIN * rates[default] else default


def _ratios(rates: dict[Candidate, float], best: Candidate) -> str:
    others = [f"{c.name} {rates[c] / rates[best]:.2f}x" for c in rates if c != best]
    return f"{best.name} fastest ({rates[best]:.0f} images/s); " + ", ".join(others)


def time_candidates(model: str, batch_size: int, candidates: list[Candidate]) -> dict[Candidate, float]:
    """Training images/s of each candidate: MEASURE_ROUNDS interleaved rounds, the median."""
    before = torch.get_num_threads()
    try:
        steps = {c: _stepper(model, batch_size, c) for c in candidates}
        for c, step in steps.items():
            torch.set_num_threads(c.threads)
            for _ in range(WARM_STEPS):
                step()
        rates: dict[Candidate, list[float]] = {c: [] for c in candidates}
        for _ in range(MEASURE_ROUNDS):
            for c, step in steps.items():
                torch.set_num_threads(c.threads)
                t0, done = time.perf_counter(), 0
                while done == 0 or time.perf_counter() - t0 < ROUND_S:
                    step()
                    done += 1
                rates[c].append(done * batch_size / (time.perf_counter() - t0))
        return {c: statistics.median(v) for c, v in rates.items()}
    finally:
        torch.set_num_threads(before)


def _stepper(model: str, batch_size: int, c: Candidate):
    from kpbench.models import build_model

    torch.manual_seed(0)
    return training_step(build_model(model), batch_size, c.precision, c.channels_last)


def training_step(net: torch.nn.Module, batch_size: int, precision: str, channels_last: bool):
    """One optimizer step of ``net`` on random faces, as the training loop runs it (a callable)."""
    from kpbench.train.loss import masked_mse

    layout = torch.channels_last if channels_last else torch.contiguous_format
    net = net.to(memory_format=layout)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4, fused=True)
    x = torch.randn(batch_size, 1, 96, 96).contiguous(memory_format=layout)
    y = torch.rand(batch_size, 15, 2) * 2 - 1

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            out = net(x)
        loss = masked_mse(out, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


# --- the cache: one measurement per machine, network and batch size ---


def cache_key(model: str, batch_size: int, tuned: tuple[str, ...], cfg) -> str:
    from kpbench import __version__
    from kpbench.train.config import cpu_has_native_bf16

    cpu = _cpu_identity()
    fixed = {"precision": cfg.precision, "channels_last": cfg.channels_last, "threads": cfg.threads}
    # torch's default threads too: a measurement under OMP_NUM_THREADS=1 says nothing of two threads
    parts = [__version__, torch.__version__, cpu, str(os.cpu_count()), str(torch.get_num_threads()),
             str(cpu_has_native_bf16()), model, str(batch_size), ",".join(tuned), json.dumps(fixed, sort_keys=True)]
    return "|".join(parts)


def _cpu_identity() -> str:
    """The CPU's model name and flags, hashed: machines that share a name but not vector units measure apart."""
    import hashlib
    import platform

    from kpbench.train.config import cpuinfo_text

    lines = [ln for ln in cpuinfo_text().splitlines() if ln.startswith(("model name", "flags"))][:2]
    return hashlib.sha256("\n".join(lines or [platform.processor(), platform.machine()]).encode()).hexdigest()[:16]


def _cache_path():
    from kpbench.data.cache import cache_dir

    return cache_dir() / CACHE_FILE


def _read_cache() -> dict:
    try:
        data = json.loads(_cache_path().read_text(encoding="utf-8"))
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write_cache(key: str, path: SpeedPath) -> None:
    entries = _read_cache()
    entries[key] = path.to_dict()
    try:
        atomic.write_json(_cache_path(), entries)
    except OSError:  # a cache that cannot be written only means measuring again next time
        pass


# --- torch.compile with a clean fallback ---


def compiled_or_eager(net: torch.nn.Module, wanted: bool):
    """``net`` under torch.compile when wanted and it works here, else ``net``; one warning on fallback.

    Inductor compiles lazily at the first call, so the first call is where a missing C++
    compiler shows: the wrapper tries it once and stays eager from then on if it fails.
    """
    if not wanted:
        return net
    try:
        compiled = torch.compile(net)
    except Exception as e:  # torch.compile itself refused (an old torch, an unsupported Python)
        _compile_warning(e)
        return net
    return _FirstCallFallback(net, compiled)


class _FirstCallFallback:
    def __init__(self, net: torch.nn.Module, compiled) -> None:
        self.net, self.compiled, self.tried = net, compiled, False

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.tried:
            return self.compiled(x)
        self.tried = True
        try:
            return self.compiled(x)
        except Exception as e:  # no C++ compiler, an inductor bug: train eager, say so once
            _compile_warning(e)
            self.compiled = self.net
            return self.net(x)

    def __getattr__(self, name: str):  # train()/eval()/parameters() reach the network itself
        return getattr(self.net, name)


def _compile_warning(error: Exception) -> None:
    reason = plain(" ".join(str(error).split())[:200] or type(error).__name__)
    print(f"kpbench: warning: torch.compile is not usable here ({type(error).__name__}: {reason}); training eager",
          file=sys.stderr)
