"""train(): the device-resident training loop, on one process or on every rank of a torchrun job.

The whole data set lives on the device as uint8; each step gathers a batch by index, normalises
and augments it there, and runs forward/backward/step with no host synchronisation: the loss is
summed on the device and read once per epoch. Timers synchronise the device at their edges.

Data parallel (WORLD_SIZE > 1, see train/world.py): every rank holds all the data and draws the
same permutation and augmentation numbers from the shared seed; rank r trains on its slice of
each global batch (per-worker batch x world size) and DDP averages the gradients, so N workers
x B rows take the same steps as one process with N·B rows. Only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from kpbench.data import require_labels
from kpbench.data.faceset import FaceSet
from kpbench.errors import Interrupted, KpbenchError
from kpbench.lock import run_dir_lock
from kpbench.stop import StopFlag, stop_on_signals
from kpbench.train import checkpoint as ckpt_mod
from kpbench.train import clock as clock_mod
from kpbench.train import speed as speed_mod
from kpbench.train import world as world_mod
from kpbench.train.augment import apply_affine, apply_photometric, draw_affine, draw_flips, draw_photometric, hflip
from kpbench.train.clock import WARMUP_STEPS, EpochClock  # noqa: F401 - WARMUP_STEPS: part of this module's surface
from kpbench.train.config import TrainConfig, resolve_device
from kpbench.train.devdata import DeviceData, Normalisation, split_indices, to_device
from kpbench.train.evaluate import autocast, evaluate_rmse
from kpbench.train.loss import masked_mse, masked_mse_of_global_batch
from kpbench.train.progress import EpochProgress
from kpbench.train.schedule import lr_factor
from kpbench.train.world import World


@dataclass
class TrainResult:
    model: Any
    history: list[dict] = field(default_factory=list)
    final_val_rmse_px: float = float("nan")
    val_rmse_per_keypoint_px: dict[str, float] = field(default_factory=dict)
    time_to_target_s: float | None = None
    train_s: float = 0.0  # training wall clock, per-epoch evaluation included (all sessions of a resumed run)
    eval_s: float = 0.0
    warmup_s: float = 0.0
    steady_images_per_s: float = 0.0  # this process (all workers' images), after warm-up, evaluation excluded
    images_seen: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    config: TrainConfig | None = None
    normalisation: Normalisation | None = None
    val: DeviceData | None = None  # the validation split, for pictures
    checkpoint_s: float = 0.0  # writing checkpoints, outside train_s
    data: dict = field(default_factory=dict)  # source, sha256, rows, missing, train_rows, val_rows
    distributed: dict = field(default_factory=dict)  # world_size, per_worker_batch, global_batch, lr_scaling, peak_lr
    speed_path: dict = field(default_factory=dict)  # precision, channels_last, compile, threads, source, why (train.speed)
    setup_phases_s: dict = field(default_factory=dict)  # autotune_s, model_build_s of this process's setup


def make_optimizer(cfg: TrainConfig, model: torch.nn.Module, device: str) -> torch.optim.Optimizer:
    params = model.parameters()
    fused = {"fused": True} if device in ("cpu", "cuda") else {}
    if cfg.optimizer == "sgd":
        return torch.optim.SGD(params, lr=cfg.lr, momentum=0.9, nesterov=True, weight_decay=cfg.weight_decay)
    cls = torch.optim.AdamW if cfg.optimizer == "adamw" else torch.optim.Adam
    wd = cfg.weight_decay if cfg.optimizer == "adamw" else 0.0  # Keras-style Adam: no decay
    try:  # fused Adam: one kernel over all parameters (~1.5x faster steps on the seed network's 8 M)
        return cls(params, lr=cfg.lr, weight_decay=wd, **fused)
    except (RuntimeError, TypeError):
        return cls(model.parameters(), lr=cfg.lr, weight_decay=wd)


@dataclass
class _Run:
    """The state a run carries from step to step and epoch to epoch (what a checkpoint holds)."""

    cfg: TrainConfig
    world: World
    device: str
    precision: str
    net: torch.nn.Module  # the network: evaluated and saved
    opt: torch.optim.Optimizer
    gen: torch.Generator  # the shared seed's generator: permutations and augmentation draws
    tr: DeviceData
    val: DeviceData
    norm: Normalisation
    names: tuple[str, ...]
    data_info: dict
    out_dir: Path | None
    batch: int  # per worker
    speed: speed_mod.SpeedPath | None = None
    setup_phases_s: dict = field(default_factory=dict)
    model: torch.nn.Module | None = None  # what steps call: the network, its DDP wrapper or its compiled form
    history: list[dict] = field(default_factory=list)
    step: int = 0
    elapsed_s: float = 0.0
    eval_total_s: float = 0.0
    last_eval_s: float = 0.0
    ckpt_s: float = 0.0
    time_to_target: float | None = None
    stop_decision_s: float = 0.0  # this process's time agreeing on stops (world.agree_step), all steps
    stored_timing: dict = field(default_factory=dict)  # warmup_s, steady_images_per_s, checkpoint_s of the last process that trained
    position: dict | None = None  # where a signal stopped the epoch in progress

    @property
    def global_batch(self) -> int:
        return self.batch * self.world.size

    @property
    def steps_per_epoch(self) -> int:
        return len(self.tr) // self.global_batch  # drop the last partial batch: every step the same shape

    @property
    def peak_lr(self) -> float:
        return self.cfg.scaled_lr(self.world.size)

    @property
    def writes(self) -> bool:
        return self.out_dir is not None and self.world.main

    def over_budget(self, epoch_s: float) -> bool:
        """Whether a step now would leave no room for the closing evaluation inside the budget."""
        budget = self.cfg.time_budget_s
        return budget is not None and self.elapsed_s + epoch_s + self.last_eval_s >= budget

    def done(self) -> bool:
        if self.time_to_target is not None and self.cfg.target_rmse_px is not None and self.cfg.stop_at_target:
            return True
        if self.over_budget(0.0):
            return True
        planned = self.cfg.planned_epochs
        return planned is not None and len(self.history) >= planned

    def lr_at(self, epoch_s: float) -> float:
        cfg, planned = self.cfg, self.cfg.planned_epochs
        if planned is None:
            progress_frac = (self.elapsed_s + epoch_s) / cfg.time_budget_s
        else:
            progress_frac = self.step / (planned * self.steps_per_epoch)
        return self.peak_lr * lr_factor(cfg.schedule, progress_frac, cfg.warmup_frac)

    def restore(self, progress: dict) -> None:
        self.history, self.step, self.elapsed_s = progress["history"], progress["step"], progress["elapsed_s"]
        self.eval_total_s, self.stored_timing = progress["eval_s"], progress["timing"]
        self.time_to_target, self.position = progress["time_to_target_s"], progress["position"]


def train(faces: FaceSet, cfg: TrainConfig, *, out_dir: str | Path | None = None, resume: bool = False,
          progress: bool = True, on_event: Callable[[str, dict], None] | None = None,
          force: bool = False, pictures: bool = True) -> TrainResult:
    """Train ``cfg.model`` on the labelled ``faces``; see docs/design.md for the result and outputs.

    Under torchrun (WORLD_SIZE in the environment) it joins the process group and trains its
    rank's share; see docs/distributed-training.md. SIGINT/SIGTERM finish the step, write a
    checkpoint (with --out) and raise Interrupted. ``force`` lets a new run replace the files in
    ``out_dir``; ``pictures=False`` leaves out its three PNG charts (most of the time a small run
    spends writing).
    """
    world = world_mod.from_env()
    out_path = Path(out_dir) if out_dir is not None else None
    # One writer per --out DIR: rank 0 holds its lock for the whole run, outputs included.
    locked = run_dir_lock(out_path) if out_path is not None and world.main else contextlib.nullcontext()
    with locked:
        return _train(faces, cfg, world, out_path, resume=resume, force=force, progress=progress, on_event=on_event,
                      pictures=pictures)


def _train(faces: FaceSet, cfg: TrainConfig, world: World, out_dir: Path | None, *, resume: bool, force: bool,
           progress: bool, on_event: Callable[[str, dict], None] | None, pictures: bool) -> TrainResult:
    cfg.validate()
    if not faces.labelled:
        raise KpbenchError(f"{faces.source or 'data'}: has no keypoint labels to train on")
    require_labels(faces)  # labels present but every one missing: nothing to learn from
    emit = on_event or (lambda name, fields: None)
    device = world_mod.device_of(world, resolve_device(cfg.device))
    joined, run = world_mod.join(world, device), None
    try:
        run = _setup(faces, cfg, world, device, out_dir, resume, force)
        clock = EpochClock(device)
        bar = EpochProgress(enabled=progress and world.main, total_epochs=cfg.planned_epochs, budget_s=cfg.time_budget_s)
        with bar, stop_on_signals() as stop:
            while not run.done():
                _epoch(run, clock, bar, stop, emit)
        result = _finish(run, clock, pictures)
        world_mod.barrier(world)  # the others wait for rank 0's files: no rank leaves a group a peer still uses
        return result
    finally:
        if run is not None:
            run.model = None  # DDP's reducer holds the group: drop it first (freed after the group, gloo hangs)
        world_mod.leave(joined)


def _setup(faces: FaceSet, cfg: TrainConfig, world: World, device: str, out_dir: Path | None, resume: bool,
           force: bool = False) -> _Run:
    from kpbench.models import build_model

    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    data_info = {"source": faces.source, "sha256": faces.sha256, "rows": len(faces), "missing": cfg.missing}
    state = _run_dir_state(world, cfg, data_info, out_dir, resume, force)
    tr, val, norm = _device_split(faces, cfg, device, data_info)
    global_batch = min(cfg.batch_size * world.size, len(tr)) // world.size * world.size
    if global_batch == 0:
        raise KpbenchError(f"{len(tr)} training rows cannot be shared among {world.size} workers")
    t0 = time.perf_counter()
    speed = _speed_path(cfg, world, device, planned_steps=(cfg.planned_epochs or 0) * (len(tr) // global_batch) or None)
    if world.distributed and device == "cpu":
        world_mod.pin_to_cores(world, speed.threads)
    if speed.threads:
        torch.set_num_threads(speed.threads)
    t1 = time.perf_counter()
    torch.manual_seed(cfg.seed)
    layout = torch.channels_last if speed.channels_last else torch.contiguous_format
    net = build_model(cfg.model).to(device).to(memory_format=layout)
    if cfg.sync_batchnorm and world.distributed:
        from kpbench.train.ddp import sync_batchnorm

        net = sync_batchnorm(net, device)
    opt = make_optimizer(cfg, net, device)  # before DDP wraps it: the optimizer holds the network's own parameters
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    run = _Run(cfg=cfg, world=world, device=device, precision=speed.precision, net=net, opt=opt, gen=gen, tr=tr,
               val=val, norm=norm, names=faces.names, data_info=data_info, out_dir=out_dir,
               batch=global_batch // world.size, speed=speed,
               setup_phases_s={"autotune_s": t1 - t0, "model_build_s": time.perf_counter() - t1})
    if state is not None:
        run.restore(ckpt_mod.restore_state(state, out_dir / ckpt_mod.CHECKPOINT, cfg, model=net, optimizer=opt, generator=gen))
    run.model = _data_parallel(net, world, device, cfg) if world.distributed else speed_mod.compiled_or_eager(net, speed.compile)
    return run


def _speed_path(cfg: TrainConfig, world: World, device: str, planned_steps: int | None) -> speed_mod.SpeedPath:
    """Precision, layout, threads (and compile) for this run: measured once per machine on a CPU (train.speed)."""
    return speed_mod.resolve_speed_path(cfg, device, threads=world_mod.threads_per_worker(world),
                                        planned_steps=planned_steps, measure=not world.distributed)


def _run_dir_state(world: World, cfg: TrainConfig, data_info: dict, out_dir: Path | None, resume: bool,
                   force: bool = False) -> dict | None:
    """Rank 0 checks --out and reads the checkpoint to resume from; every rank gets it (or rank 0's error)."""
    if out_dir is None:
        return None
    box = None
    if world.main:
        # torchrun restarted the group after a failure: continue from the last checkpoint written
        restarted = world.restart_count > 0 and (out_dir / ckpt_mod.CHECKPOINT).exists()
        resume, force = resume or restarted, force and not restarted  # a restart continues what --force began
        try:
            box = {"state": ckpt_mod.prepare_run_dir(out_dir, cfg, data_info, resume, force=force)}
            _check_same_world(out_dir, box["state"], world)
        except KpbenchError as e:
            box = {"error": str(e)}
    box = world_mod.broadcast(world, box)
    if "error" in box:
        raise KpbenchError(box["error"])
    return box["state"]


def _check_same_world(out_dir: Path, state: dict | None, world: World) -> None:
    """A resumed run keeps its worker count: another count would change its global batch, its peak
    learning rate and its images per epoch, which a run's identity (batch size, lr) forbids too."""
    theirs = (state or {}).get("world")
    if not isinstance(theirs, dict) or theirs.get("size") in (None, world.size):
        return  # a new run, the same world, or a checkpoint from before worlds were recorded
    size = theirs["size"]
    raise KpbenchError(f"{out_dir}: this run trained on {size} worker{'s' * (size != 1)} (global batch "
                       f"{theirs.get('global_batch', '?')}), not {world.size}; --resume keeps a run's global batch and "
                       f"learning rate: resume it on {size} (--nproc × --nnodes), or start a new run with --force")


def _device_split(faces: FaceSet, cfg: TrainConfig, device: str, data_info: dict) -> tuple[DeviceData, DeviceData, Normalisation]:
    train_idx, val_idx = split_indices(len(faces), cfg.val_frac, cfg.seed)
    train_faces = faces.subset(train_idx)
    if cfg.missing != "mask":  # validation keeps the true labels: always scored masked
        from kpbench.data import apply_missing

        train_faces = apply_missing(train_faces, cfg.missing)
    if len(train_faces) == 0:
        raise KpbenchError(f"no training rows left after missing={cfg.missing!r}")
    data_info["train_rows"], data_info["val_rows"] = len(train_faces), len(val_idx)
    norm = Normalisation.fit(train_faces.images)
    return to_device(train_faces, device), to_device(faces.subset(val_idx), device), norm


def _data_parallel(net: torch.nn.Module, world: World, device: str, cfg: TrainConfig) -> torch.nn.Module:
    """What steps call: the network itself in a world of one, else DDP with the config's hook."""
    if not world.distributed:
        return net
    from kpbench.train.ddp import data_parallel

    return data_parallel(net, device, comm_hook=cfg.comm_hook)


def _epoch(run: _Run, clock: EpochClock, bar: EpochProgress, stop: StopFlag, emit: Callable[[str, dict], None]) -> None:
    """One epoch (or the rest of one a signal stopped): steps, evaluation, checkpoint, events."""
    epoch, device = len(run.history) + 1, run.device
    emit("epoch_start", {"epoch": epoch})
    run.model.train()
    pos, run.position = run.position, None
    if pos is not None and pos["epoch"] == epoch:  # resume inside the epoch a signal stopped
        perm, first, loss_sum = pos["perm"].to(device), pos["next_step"], pos["loss_sum"].to(device)
        before_s = pos["epoch_s"]
    else:
        perm = torch.randperm(len(run.tr), generator=run.gen, device=device)
        first, loss_sum, before_s = 0, torch.zeros((), device=device), 0.0
    bar.start_epoch(epoch, run.steps_per_epoch)
    t0 = clock.start_epoch()
    steps_done, stopped = _steps(run, clock, bar, stop, perm, first, loss_sum, t0)
    if stopped:
        _stop_inside_epoch(run, clock, stop, {"epoch": epoch, "next_step": first + steps_done, "perm": perm.cpu(),
                                              "loss_sum": loss_sum.cpu(), "epoch_s": before_s + clock_mod.now() - t0}, t0)
    t1 = clock.end_epoch(steps_done, run.global_batch)
    rmse, per_kp = _evaluate(run)
    t2 = clock_mod.now()
    run.last_eval_s = t2 - t1
    run.eval_total_s += run.last_eval_s
    run.elapsed_s += t2 - t0
    # every rank decides when to stop from rank 0's clock and RMSE, or they would part ways
    timing = world_mod.broadcast(run.world, (run.elapsed_s, run.last_eval_s, run.eval_total_s, rmse, per_kp))
    run.elapsed_s, run.last_eval_s, run.eval_total_s, rmse, per_kp = timing
    epoch_steps = first + steps_done
    train_loss = float(world_mod.all_mean(run.world, loss_sum)) / max(1, epoch_steps)
    run.history.append({
        "epoch": epoch, "train_loss": train_loss, "val_rmse_px": rmse, "val_rmse_per_keypoint_px": per_kp,
        "epoch_s": before_s + t1 - t0, "eval_s": run.last_eval_s, "images": epoch_steps * run.global_batch,
        "elapsed_s": run.elapsed_s, "lr": run.opt.param_groups[0]["lr"], "wall_time": time.time(),
    })
    if run.cfg.target_rmse_px is not None and run.time_to_target is None and rmse <= run.cfg.target_rmse_px:
        run.time_to_target = run.elapsed_s
    _save(run, clock, t2)  # checkpoint writing is I/O, kept outside the training clock
    bar.end_epoch(epoch, train_loss, rmse, run.elapsed_s)
    emit("epoch_stop", {"epoch": epoch, "epoch_s": before_s + t1 - t0, "images": epoch_steps * run.global_batch})
    emit("eval_accuracy", {"epoch": epoch, "value": rmse, "unit": "px", "elapsed_s": run.elapsed_s})


def _evaluate(run: _Run) -> tuple[float, dict[str, float]]:
    """Validation RMSE over the whole validation set, on rank 0 (the others get it from rank 0)."""
    if not run.world.main:
        return float("nan"), {}
    return evaluate_rmse(run.net, run.val, run.norm, run.names, precision=run.precision, batch_size=run.cfg.eval_batch_size)


def _steps(run: _Run, clock: EpochClock, bar: EpochProgress, stop: StopFlag, perm: torch.Tensor, first: int,
           loss_sum: torch.Tensor, t0: float) -> tuple[int, bool]:
    """The epoch's steps from ``first`` on; (steps done, whether a signal stopped them)."""
    steps_done, world = 0, run.world
    for i in range(first, run.steps_per_epoch):
        now = clock_mod.now()
        # every rank decides on the same numbers, every step: a signal anywhere, the latest clock
        agree_t0 = time.perf_counter()  # its cost, on the real clock (tests swap clock_mod.now for a fake one)
        halt, epoch_s = world_mod.agree_step(world, stop.requested, now - t0, run.device)
        run.stop_decision_s += time.perf_counter() - agree_t0
        if halt:
            return steps_done, True
        if run.over_budget(epoch_s):
            break  # keep room for the closing evaluation inside the budget
        lr = run.lr_at(epoch_s)
        for group in run.opt.param_groups:
            group["lr"] = lr
        loss_sum += _train_step(run, perm[i * run.global_batch : (i + 1) * run.global_batch])
        run.step += 1
        steps_done += 1
        clock.after_step(steps_done)
        bar.advance()
    return steps_done, False


def _stop_inside_epoch(run: _Run, clock: EpochClock, stop: StopFlag, position: dict, t0: float) -> None:
    """A signal asked to stop: the step is done; write a checkpoint that resumes at this very step, and raise."""
    t_stop = clock_mod.now()
    run.elapsed_s += t_stop - t0
    run.elapsed_s = world_mod.broadcast(run.world, run.elapsed_s)
    _save(run, clock, t_stop, position=position)
    world_mod.barrier(run.world)  # every rank stops here, after rank 0 wrote the checkpoint
    where = f"in epoch {position['epoch']} after step {position['next_step']} of {run.steps_per_epoch}"
    if run.out_dir is None:
        raise Interrupted(f"stopped by {stop.signame} {where}; no --out, so nothing was saved", stop.signum)
    raise Interrupted(f"stopped by {stop.signame} {where}; {run.out_dir / ckpt_mod.CHECKPOINT} written: "
                      f"run the same command with --resume to continue", stop.signum)


def _save(run: _Run, clock: EpochClock, t_start: float, position: dict | None = None) -> None:
    if not run.writes:
        return
    ckpt_mod.save_state(
        run.out_dir / ckpt_mod.CHECKPOINT, cfg=run.cfg, data_info=run.data_info, model=run.net, optimizer=run.opt,
        generator=run.gen, history=run.history, normalisation=run.norm.to_dict(),
        progress={"step": run.step, "elapsed_s": run.elapsed_s, "eval_s": run.eval_total_s, "time_to_target_s": run.time_to_target},
        complete=position is None and run.done(), position=position,
        world={"size": run.world.size, "global_batch": run.global_batch, "peak_lr": run.peak_lr},
        timing={"warmup_s": clock.warmup_s, "steady_images_per_s": clock.steady_images_per_s,
                "checkpoint_s": run.ckpt_s + clock_mod.now() - t_start},
    )
    run.ckpt_s += clock_mod.now() - t_start


def _finish(run: _Run, clock: EpochClock, pictures: bool = True) -> TrainResult:
    if not run.history:
        raise KpbenchError("training stopped before its first epoch (time budget too small?)")
    last = run.history[-1]
    warmup_s, steady_ips, ckpt_s = clock.warmup_s, clock.steady_images_per_s, run.ckpt_s
    if clock.images_now == 0 and run.stored_timing:  # nothing trained in this process: keep the last process's figures
        warmup_s, steady_ips = run.stored_timing.get("warmup_s", 0.0), run.stored_timing.get("steady_images_per_s", 0.0)
        ckpt_s = run.stored_timing.get("checkpoint_s", 0.0)
    result = TrainResult(
        model=run.net, history=run.history, final_val_rmse_px=last["val_rmse_px"],
        val_rmse_per_keypoint_px=last["val_rmse_per_keypoint_px"], time_to_target_s=run.time_to_target,
        train_s=run.elapsed_s, eval_s=run.eval_total_s, warmup_s=warmup_s, steady_images_per_s=steady_ips,
        images_seen=sum(h["images"] for h in run.history), device=run.device, precision=run.precision, config=run.cfg,
        normalisation=run.norm, val=run.val, checkpoint_s=ckpt_s, data=run.data_info,
        distributed=_distributed_info(run, clock),
        speed_path=run.speed.to_dict(), setup_phases_s=dict(run.setup_phases_s),
    )
    if run.writes:
        from kpbench.models import build_model, summarize
        from kpbench.train.outputs import write_run_outputs

        # a fresh network of the same shape: the trained one may normalise over all ranks (sync_batchnorm),
        # and the summary's training step runs on rank 0 alone
        write_run_outputs(run.out_dir, result, run.data_info, summarize(build_model(run.cfg.model), run.cfg.model),
                          pictures=pictures)
    return result


def _distributed_info(run: _Run, clock: EpochClock) -> dict:
    """metrics.json's ``distributed``: the batch and learning-rate rule, the hook, and what a step sends."""
    from kpbench.train.ddp import allreduce_bytes_per_step, parse_comm_hook

    steps_here = clock.images_now // run.global_batch
    sent = allreduce_bytes_per_step(run.net, *parse_comm_hook(run.cfg.comm_hook)) if run.world.distributed else 0
    return {"world_size": run.world.size, "per_worker_batch": run.batch, "global_batch": run.global_batch,
            "lr_scaling": run.cfg.lr_scaling, "peak_lr": run.peak_lr, "comm_hook": run.cfg.comm_hook,
            "sync_batchnorm": run.cfg.sync_batchnorm and run.world.distributed, "allreduce_bytes_per_step": sent,
            "stop_decision_s_per_step": run.stop_decision_s / steps_here if steps_here else 0.0}


def _train_step(run: _Run, global_idx: torch.Tensor) -> torch.Tensor:
    """One optimizer step on this rank's rows of the global batch ``global_idx``; the loss stays on the device."""
    cfg, data, world = run.cfg, run.tr, run.world
    rows = slice(world.rank * run.batch, (world.rank + 1) * run.batch)
    idx = global_idx[rows]
    x = run.norm.apply(data.images[idx])
    y = data.keypoints[idx]
    n = global_idx.shape[0]  # random numbers for the whole global batch: every rank draws the same, takes its rows
    if cfg.augment:
        r, coins = draw_affine(run.gen, n, x.device, flip=cfg.flip)
        x, y = apply_affine(x, y, r[rows], None if coins is None else coins[rows], shift_px=cfg.shift_px,
                            scale_frac=cfg.scale_frac, rotate_deg=cfg.rotate_deg)
    elif cfg.flip:
        flipped = draw_flips(run.gen, n, x.device)[rows]
        xf, yf = hflip(x, y)
        x = torch.where(flipped[:, None, None, None], xf, x)
        y = torch.where(flipped[:, None, None], yf, y)
    if cfg.augment and (cfg.contrast_frac or cfg.brightness):
        x = apply_photometric(x, draw_photometric(run.gen, n, x.device)[rows], contrast_frac=cfg.contrast_frac,
                              brightness=cfg.brightness)
    # a run built by hand (estimate.trace's) carries no speed path: channels-last, as on a GPU
    channels_last = run.speed.channels_last if getattr(run, "speed", None) is not None else True
    x = x.contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    with autocast(run.device, run.precision):
        out = run.model(x)
    if world.distributed:
        loss = masked_mse_of_global_batch(out, y, (~torch.isnan(data.keypoints[global_idx])).sum(), world.size)
    else:
        loss = masked_mse(out, y)
    run.opt.zero_grad(set_to_none=True)
    loss.backward()
    run.opt.step()
    return loss.detach()
