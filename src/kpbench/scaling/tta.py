"""`kpbench dist tta`: time to a target accuracy on 1 and N workers, the DAWNBench way.

Each configuration (workers × learning-rate rule, or any variant of train's settings) trains
``repeats`` times, each a fresh torchrun job running ``kpbench train`` to the target RMSE or the
time budget (one worker per network namespace under ``--link-limit``). Each run's metrics.json
gives the wall time and epochs to the target (validation after every epoch), the final
validation RMSE and the steady images/s; the Record holds every run and, per configuration,
the mean, spread and range over its repeats. A run that fails is a row saying how, and the
study goes on; the Record is rewritten (atomically) after every run.
"""

from __future__ import annotations

import json
import re
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

from kpbench.errors import KpbenchError, RunFailed

RECORD_NAME = "dist-tta.json"
LOG_NAME = "dist-tta.log"
RUNS = "runs"
JSON_KEYS = ("nproc", "lr_scaling", "time_to_target_s", "epochs_to_target", "final_val_rmse_px", "images_per_s")
FALSE_FLAGS = {"stop_at_target": "--train-past-target"}  # train's --flag/--other pairs not spelt --no-flag
SPREAD_KEYS = ("time_to_target_s", "epochs_to_target", "final_val_rmse_px", "images_per_s")


@dataclass(frozen=True)
class Variant:
    """One configuration: its name, its workers, and the train settings it changes."""

    name: str
    nproc: int
    settings: dict = field(default_factory=dict)  # TrainConfig fields: lr_scaling, comm_hook, batch_size, …

    @property
    def lr_scaling(self) -> str | None:
        """The learning-rate rule; None for one worker, where no rule changes anything."""
        return self.settings.get("lr_scaling") if self.nproc > 1 else None


@dataclass
class TtaConfig:
    data: str
    target_rmse_px: float
    nproc: list[int] = field(default_factory=lambda: [1, 2])
    model: str = "bncnn"
    budget_s: float | None = None
    lr_scalings: list[str] = field(default_factory=lambda: ["sqrt"])
    link_limit_bit_per_s: float | None = None
    repeats: int = 1
    batch_size: int | None = None  # per worker; None: train's default
    seed: int = 0  # repeat k trains with seed + k
    cores: int = 0  # 0: the CPUs this process may use
    timeout_s: float = 7200.0  # per run
    force: bool = False

    def resolved(self) -> TtaConfig:
        from kpbench.scaling.scale import usable_cores

        if not self.nproc or any(n < 1 for n in self.nproc):
            raise KpbenchError("--nproc needs worker counts >= 1")
        if not self.target_rmse_px > 0:
            raise KpbenchError(f"--target-rmse {self.target_rmse_px}: must be a positive number of pixels")
        if self.repeats < 1:
            raise KpbenchError(f"--repeats {self.repeats}: must be 1 or more")
        self.cores = self.cores or usable_cores()
        return self


def parse_lr_scalings(text: str) -> list[str]:
    from kpbench.train.config import LR_SCALINGS

    rules = [r.strip() for r in text.split(",") if r.strip()]
    bad = [r for r in rules if r not in LR_SCALINGS]
    if not rules or bad:
        raise KpbenchError(f"--lr-scaling {text!r}: give rules among {', '.join(LR_SCALINGS)}, comma-separated")
    return list(dict.fromkeys(rules))


def grid(cfg: TtaConfig) -> list[Variant]:
    """The command's configurations: one worker once, each N > 1 under each learning-rate rule."""
    base = {"model": cfg.model} | ({"batch_size": cfg.batch_size} if cfg.batch_size else {})
    out = []
    for n in cfg.nproc:
        for rule in cfg.lr_scalings if n > 1 else cfg.lr_scalings[:1]:
            name = f"{n} worker" if n == 1 else f"{n} workers, lr {rule}"
            out.append(Variant(name, n, {**base, "lr_scaling": rule}))
    return out


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "run"


def train_argv(cfg: TtaConfig, v: Variant, out_dir: Path, seed: int, threads: int) -> list[str]:
    """The `kpbench train` command line of one run."""
    argv = ["train", "--data", cfg.data, "--out", str(out_dir), "--no-progress", "--force",
            "--target-rmse", repr(cfg.target_rmse_px), "--seed", str(seed), "--threads", str(threads)]
    if cfg.budget_s is not None:
        argv += ["--time-budget", repr(cfg.budget_s)]
    for key, value in v.settings.items():
        flag = "--" + key.replace("_", "-")
        if isinstance(value, bool):
            argv.append(flag if value else FALSE_FLAGS.get(key, f"--no-{key.replace('_', '-')}"))
        else:
            argv += [flag, str(value)]
    return argv


def run_one(cfg: TtaConfig, v: Variant, repeat: int, out: Path, log: Path) -> dict:
    """One run of ``v`` to the target or the budget; its row (JobFailed, KpbenchError, Interrupted otherwise)."""
    from kpbench.scaling.scale import check_outcome
    from kpbench.train import launch as launch_mod

    seed = cfg.seed + repeat
    run_dir = out / RUNS / f"{slug(v.name)}-r{repeat + 1}"
    threads = max(1, cfg.cores // v.nproc)
    argv = train_argv(cfg, v, run_dir, seed, threads)
    env = {"OMP_NUM_THREADS": str(threads)}
    label = f"{v.name}, run {repeat + 1}"
    t0 = time.monotonic()
    if cfg.link_limit_bit_per_s and v.nproc > 1:
        from kpbench.scaling import netns

        with netns.hosts(v.nproc, cfg.link_limit_bit_per_s) as host_list:
            outcome = netns.run_across(host_list, argv, module="kpbench", base=launch_mod.Launch(env=env), log=log,
                                       timeout_s=cfg.timeout_s, label=label)
    else:
        launch = launch_mod.Launch(nproc_per_node=v.nproc, run_id=f"kpbench-tta-{slug(v.name)}", env=env)
        outcome = launch_mod.run_job(launch, argv, log, label=label, timeout_s=cfg.timeout_s, merge_stdout=True)
    check_outcome(outcome, label)
    try:
        metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise KpbenchError(f"{label}: {run_dir / 'metrics.json'} unreadable ({e})") from None
    return run_row(v, repeat, seed, metrics, cfg.target_rmse_px, time.monotonic() - t0, run_dir)


def run_row(v: Variant, repeat: int, seed: int, metrics: dict, target_px: float, job_s: float, run_dir: Path) -> dict:
    """One run's figures, from its metrics.json."""
    history = metrics["history"]
    dist = metrics.get("distributed") or {}
    payload = int(dist.get("allreduce_bytes_per_step", 0))
    return {
        "variant": v.name, "nproc": v.nproc, "lr_scaling": v.lr_scaling, "settings": v.settings,
        "repeat": repeat + 1, "seed": seed,
        "time_to_target_s": metrics.get("time_to_target_s"),
        "epochs_to_target": next((h["epoch"] for h in history if h["val_rmse_px"] <= target_px), None),
        "final_val_rmse_px": metrics["final_val_rmse_px"],
        # steady images/s; a run too short to pass its warm-up steps: all its images over its training time
        "images_per_s": metrics["steady_images_per_s"] or metrics.get("images_seen", 0) / max(metrics["train_s"], 1e-9),
        "train_s": metrics["train_s"], "epochs": len(history), "global_batch": dist.get("global_batch"),
        "allreduce_bytes_per_step": payload, "sent_bytes_per_step": int(2 * (v.nproc - 1) / v.nproc * payload),
        "job_s": job_s, "run_dir": str(run_dir),
    }


def spread(values: list[float]) -> dict | None:
    """mean ± σ, min … max over repeats (σ: sample standard deviation; 0 for one)."""
    if not values:
        return None
    return {"mean": statistics.fmean(values), "stdev": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def summarize(variants: list[Variant], runs: list[dict]) -> list[dict]:
    """One row per configuration: means over its repeats, the spread, how many reached the target.

    time_to_target_s and epochs_to_target are null unless every measured repeat reached the target.
    """
    rows = []
    for v in variants:
        ok = [r for r in runs if r["variant"] == v.name and "error" not in r]
        failed = [r["error"] for r in runs if r["variant"] == v.name and "error" in r]
        reached = [r for r in ok if r["time_to_target_s"] is not None]
        all_reached = bool(ok) and len(reached) == len(ok)
        sp = {k: spread([r[k] for r in (reached if k in ("time_to_target_s", "epochs_to_target") else ok)])
              for k in SPREAD_KEYS}
        rows.append({
            "variant": v.name, "nproc": v.nproc, "lr_scaling": v.lr_scaling, "settings": v.settings,
            "repeats": len(ok), "failed": len(failed), "target_reached": len(reached),
            "time_to_target_s": sp["time_to_target_s"]["mean"] if all_reached else None,
            "epochs_to_target": sp["epochs_to_target"]["mean"] if all_reached else None,
            "final_val_rmse_px": sp["final_val_rmse_px"]["mean"] if ok else None,
            "images_per_s": sp["images_per_s"]["mean"] if ok else None,
            "sent_bytes_per_step": ok[0]["sent_bytes_per_step"] if ok else None,
            "global_batch": ok[0]["global_batch"] if ok else None,
            "spread": sp, "errors": failed,
        })
    return rows


def json_rows(record: dict) -> dict:
    """What ``--json`` prints: {"rows": [{nproc, lr_scaling, time_to_target_s, epochs_to_target, final_val_rmse_px,
    images_per_s}, …]} (time_to_target_s null where the target was not reached)."""
    return {"rows": [{k: r[k] for k in JSON_KEYS} for r in record["rows"]]}


def run_study(cfg: TtaConfig, variants: list[Variant], out: Path, *, say=print) -> dict:  # noqa: ANN001
    """Every variant ``repeats`` times into ``out`` (locked; the Record rewritten after each run); the Record.

    Repeats are outermost, so a machine that drifts spreads over every configuration alike.
    RunFailed (exit 3) when no run could be measured.
    """
    from kpbench.lock import run_dir_lock
    from kpbench.scaling.scale import check_out_dir

    check_out_dir(out, (RECORD_NAME, RUNS), cfg.force)
    runs: list[dict] = []
    with run_dir_lock(out):
        run_plan(cfg, variants, [(v, k) for k in range(cfg.repeats) for v in variants], out, runs, say=say)
        record = write_record(cfg, variants, runs, out, complete=True)
    if not any("error" not in r for r in runs):
        raise RunFailed(f"no run could be measured ({len(runs)} failed); log: {out / LOG_NAME}")
    return record


def run_plan(cfg: TtaConfig, variants: list[Variant], plan: list[tuple[Variant, int]], out: Path, runs: list[dict], *,
             say=print) -> None:  # noqa: ANN001
    """Runs (variant, repeat) in ``plan`` order, appending to ``runs`` and rewriting the Record after each.

    A failed run is a row with its ``error`` (rank and cause) and one line; bad input (the same for
    every run) and a signal end the plan, the Record holding what came before.
    """
    from kpbench.errors import Interrupted
    from kpbench.scaling.scale import JobFailed

    log = out / LOG_NAME
    try:
        for v, repeat in plan:
            say(f"{v.name}: run {repeat + 1} …")
            try:
                runs.append(run_one(cfg, v, repeat, out, log))
            except JobFailed as e:
                why = e.outcome.failure()
                runs.append({"variant": v.name, "nproc": v.nproc, "repeat": repeat + 1, "error": why})
                say(f"kpbench: {v.name}, run {repeat + 1} failed: {why}; log: {log}")
            write_record(cfg, variants, runs, out, complete=False)
    except Interrupted as e:
        raise Interrupted(f"{e}; {out / RECORD_NAME} holds the {len(runs)} run(s) before", e.signum) from None


def write_record(cfg: TtaConfig, variants: list[Variant], runs: list[dict], out: Path, *, complete: bool) -> dict:
    from kpbench.scaling.record import build_tta_record, write_scale_record

    config = {"data": cfg.data, "model": cfg.model, "nproc": cfg.nproc, "target_rmse_px": cfg.target_rmse_px,
              "budget_s": cfg.budget_s, "lr_scalings": cfg.lr_scalings, "link_limit_bit_per_s": cfg.link_limit_bit_per_s,
              "repeats": cfg.repeats, "batch_size": cfg.batch_size, "seed": cfg.seed, "cores": cfg.cores}
    record = build_tta_record(config, summarize(variants, runs), runs, complete=complete)
    write_scale_record(out / RECORD_NAME, record)
    return record
