"""train(): the device-resident training loop.

The whole data set lives on the device as uint8; each step gathers a batch by index, normalises
and augments it there, and runs forward/backward/step with no host synchronisation: the loss is
summed on the device and read once per epoch. Timers synchronise the device at their edges.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from kpbench.data.faceset import FaceSet
from kpbench.errors import KpbenchError
from kpbench.train import checkpoint as ckpt_mod
from kpbench.train.augment import hflip, random_affine
from kpbench.train.config import TrainConfig, resolve_device, resolve_precision
from kpbench.train.devdata import DeviceData, Normalisation, split_indices, to_device
from kpbench.train.evaluate import autocast, evaluate_rmse
from kpbench.train.loss import masked_mse
from kpbench.train.schedule import lr_factor
from kpbench.lock import locks_out_dir  # issue 12.5: one writer per --out DIR (the `safe` branch)

WARMUP_STEPS = 5  # first steps of a process: allocator, oneDNN/cuDNN kernel selection


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
    steady_images_per_s: float = 0.0  # this process, after warm-up, evaluation excluded
    images_seen: int = 0
    device: str = "cpu"
    precision: str = "fp32"
    config: TrainConfig | None = None
    normalisation: Normalisation | None = None
    val: DeviceData | None = None  # the validation split, for pictures
    checkpoint_s: float = 0.0  # writing checkpoints, outside train_s
    data: dict = field(default_factory=dict)  # source, sha256, rows, missing, train_rows, val_rows


def make_optimizer(cfg: TrainConfig, model, device: str):
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


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


@locks_out_dir  # issue 12.5: --out DIR is locked for the whole run, outputs included (the `safe` branch)
def train(faces: FaceSet, cfg: TrainConfig, *, out_dir: str | Path | None = None, resume: bool = False,
          progress: bool = True, on_event: Callable[[str, dict], None] | None = None,
          force: bool = False) -> TrainResult:
    """Train ``cfg.model`` on the labelled ``faces``; see docs/design.md for the result and outputs."""
    from kpbench.models import build_model
    from kpbench.train.progress import EpochProgress

    cfg.validate()
    if not faces.labelled:
        raise KpbenchError(f"{faces.source or 'data'}: has no keypoint labels to train on")
    emit = on_event or (lambda name, fields: None)
    device = resolve_device(cfg.device)
    precision = resolve_precision(cfg.precision, device, cfg.model)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    if device == "cuda":
        torch.backends.cudnn.benchmark = True
    data_info = {"source": faces.source, "sha256": faces.sha256, "rows": len(faces), "missing": cfg.missing}
    out_dir = Path(out_dir) if out_dir is not None else None
    state = ckpt_mod.prepare_run_dir(out_dir, cfg, data_info, resume, force=force) if out_dir is not None else None

    train_idx, val_idx = split_indices(len(faces), cfg.val_frac, cfg.seed)
    train_faces = faces.subset(train_idx)
    if cfg.missing != "mask":  # validation keeps the true labels: always scored masked
        from kpbench.data import apply_missing

        train_faces = apply_missing(train_faces, cfg.missing)
    if len(train_faces) == 0:
        raise KpbenchError(f"no training rows left after missing={cfg.missing!r}")
    data_info["train_rows"], data_info["val_rows"] = len(train_faces), len(val_idx)
    norm = Normalisation.fit(train_faces.images)
    tr, val = to_device(train_faces, device), to_device(faces.subset(val_idx), device)

    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model).to(device).to(memory_format=torch.channels_last)
    opt = make_optimizer(cfg, model, device)
    gen = torch.Generator(device=device).manual_seed(cfg.seed)
    history: list[dict] = []
    step, elapsed_s, eval_total_s, time_to_target = 0, 0.0, 0.0, None
    stored_timing: dict = {}  # warmup_s, steady_images_per_s, checkpoint_s of the last process that trained
    if state is not None:
        try:
            model.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
        except (RuntimeError, KeyError, ValueError) as e:
            raise KpbenchError(f"{out_dir / ckpt_mod.CHECKPOINT}: does not fit model {cfg.model!r} ({str(e).splitlines()[0][:100]})") from None
        torch.set_rng_state(state["rng"]["torch"])
        history = list(state["history"])
        step, elapsed_s = state["scheduler"]["step"], state["scheduler"]["elapsed_s"]
        eval_total_s, stored_timing = state.get("eval_s", 0.0), dict(state.get("timing", {}))
        if state["rng"].get("generator_device", "cpu") == gen.device.type:
            gen.set_state(state["rng"]["generator"])
        else:
            # The device changed on --resume (CPU and CUDA generator states differ in form and
            # cannot be restored across): reseed deterministically from the seed and the epoch.
            gen.manual_seed(cfg.seed * 1_000_003 + len(history))
        # target_rmse_px may differ on resume: recompute from the history, not the stored value.
        if cfg.target_rmse_px is not None:
            time_to_target = next((h["elapsed_s"] for h in history if h["val_rmse_px"] <= cfg.target_rmse_px), None)

    batch = min(cfg.batch_size, len(tr))
    steps_per_epoch = len(tr) // batch  # drop the last partial batch: every step the same shape
    planned = cfg.planned_epochs
    total_steps = None if planned is None else planned * steps_per_epoch
    budget = cfg.time_budget_s
    names = faces.names

    warmup_s, steady_images, steady_s, images_now = 0.0, 0, 0.0, 0
    last_eval_s, ckpt_s = 0.0, 0.0

    def done() -> bool:
        if time_to_target is not None and cfg.target_rmse_px is not None:
            return True
        if budget is not None and elapsed_s + last_eval_s >= budget:
            return True
        return planned is not None and len(history) >= planned
    bar = EpochProgress(enabled=progress, total_epochs=planned, budget_s=budget)
    with bar:
        while not done():
            epoch = len(history) + 1
            emit("epoch_start", {"epoch": epoch})
            model.train()
            loss_sum = torch.zeros((), device=device)
            perm = torch.randperm(len(tr), generator=gen, device=device)
            bar.start_epoch(epoch, steps_per_epoch)
            _sync(device)
            t0 = time.perf_counter()
            t_warm = None
            steps_done = 0
            for i in range(steps_per_epoch):
                now = time.perf_counter()
                if budget is not None and elapsed_s + (now - t0) + last_eval_s >= budget:
                    break  # keep room for the closing evaluation inside the budget
                progress_frac = (elapsed_s + now - t0) / budget if total_steps is None else step / total_steps
                for group in opt.param_groups:
                    group["lr"] = cfg.lr * lr_factor(cfg.schedule, progress_frac, cfg.warmup_frac)
                idx = perm[i * batch : (i + 1) * batch]
                loss_sum += _train_step(model, opt, tr, idx, norm, cfg, gen, device, precision)
                step += 1
                steps_done += 1
                if images_now == 0 and steps_done == WARMUP_STEPS:
                    _sync(device)  # the warm-up edge: once per process
                    t_warm = time.perf_counter()
                    warmup_s = t_warm - t0
                bar.advance()
            _sync(device)
            t1 = time.perf_counter()
            images = steps_done * batch
            if t_warm is not None:
                steady_images += images - WARMUP_STEPS * batch
                steady_s += t1 - t_warm
            elif images_now > 0:
                steady_images += images
                steady_s += t1 - t0
            images_now += images
            rmse, per_kp = evaluate_rmse(model, val, norm, names, precision=precision, batch_size=cfg.eval_batch_size)
            t2 = time.perf_counter()
            last_eval_s = t2 - t1
            eval_total_s += last_eval_s
            elapsed_s += t2 - t0
            train_loss = float(loss_sum) / max(1, steps_done)
            history.append({
                "epoch": epoch, "train_loss": train_loss, "val_rmse_px": rmse, "val_rmse_per_keypoint_px": per_kp,
                "epoch_s": t1 - t0, "eval_s": last_eval_s, "images": images, "elapsed_s": elapsed_s,
                "lr": opt.param_groups[0]["lr"], "wall_time": time.time(),
            })
            if cfg.target_rmse_px is not None and time_to_target is None and rmse <= cfg.target_rmse_px:
                time_to_target = elapsed_s
            if out_dir is not None:  # checkpoint writing is I/O, kept outside the training clock
                ckpt_mod.save_checkpoint(
                    out_dir / ckpt_mod.CHECKPOINT, model_name=cfg.model, config=cfg.to_dict(), data=data_info,
                    model=model.state_dict(), optimizer=opt.state_dict(),
                    scheduler={"step": step, "elapsed_s": elapsed_s},
                    rng={"generator": gen.get_state(), "generator_device": gen.device.type, "torch": torch.get_rng_state()},
                    epoch=epoch, history=history, normalisation=norm.to_dict(), eval_s=eval_total_s,
                    time_to_target_s=time_to_target, complete=done(),
                    timing={"warmup_s": warmup_s, "steady_images_per_s": steady_images / steady_s if steady_s > 0 else 0.0,
                            "checkpoint_s": ckpt_s + time.perf_counter() - t2},
                )
                ckpt_s += time.perf_counter() - t2
            bar.end_epoch(epoch, train_loss, rmse, elapsed_s)
            emit("epoch_stop", {"epoch": epoch, "epoch_s": t1 - t0, "images": images})
            emit("eval_accuracy", {"epoch": epoch, "value": rmse, "unit": "px", "elapsed_s": elapsed_s})

    if not history:
        raise KpbenchError("training stopped before its first epoch (time budget too small?)")
    last = history[-1]
    steady_ips = steady_images / steady_s if steady_s > 0 else 0.0
    if images_now == 0 and stored_timing:  # nothing trained in this process: keep the last process's figures
        warmup_s, steady_ips = stored_timing.get("warmup_s", 0.0), stored_timing.get("steady_images_per_s", 0.0)
        ckpt_s = stored_timing.get("checkpoint_s", 0.0)
    result = TrainResult(
        model=model, history=history, final_val_rmse_px=last["val_rmse_px"],
        val_rmse_per_keypoint_px=last["val_rmse_per_keypoint_px"], time_to_target_s=time_to_target,
        train_s=elapsed_s, eval_s=eval_total_s, warmup_s=warmup_s,
        steady_images_per_s=steady_ips,
        images_seen=sum(h["images"] for h in history), device=device, precision=precision, config=cfg,
        normalisation=norm, val=val, checkpoint_s=ckpt_s, data=data_info,
    )
    if out_dir is not None:
        from kpbench.models import summarize
        from kpbench.train.outputs import write_run_outputs

        write_run_outputs(out_dir, result, data_info, summarize(model, cfg.model))
    return result


def _train_step(model, opt, data: DeviceData, idx: torch.Tensor, norm: Normalisation, cfg: TrainConfig,
                gen: torch.Generator, device: str, precision: str) -> torch.Tensor:
    """One optimizer step on the rows ``idx``; the loss stays on the device."""
    x = norm.apply(data.images[idx])
    y = data.keypoints[idx]
    if cfg.augment:
        x, y = random_affine(x, y, gen, flip=cfg.flip, shift_px=cfg.shift_px, scale_frac=cfg.scale_frac,
                             rotate_deg=cfg.rotate_deg)
    elif cfg.flip:
        flipped = torch.rand(x.shape[0], generator=gen, device=x.device) < 0.5
        xf, yf = hflip(x, y)
        x = torch.where(flipped[:, None, None, None], xf, x)
        y = torch.where(flipped[:, None, None], yf, y)
    x = x.contiguous(memory_format=torch.channels_last)
    with autocast(device, precision):
        out = model(x)
    loss = masked_mse(out, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()
