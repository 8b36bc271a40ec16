"""The run directory: checkpoint.pt after every epoch, and which runs a directory may hold.

Semantics of --out DIR:
- empty or absent: a new run.
- holds a run (checkpoint.pt) and --resume: it continues if it is the same run (same config apart
  from epochs/time budget/target/device/threads, same data); a finished run asked for no more
  work only has its outputs rewritten.
- holds a run and no --resume: an error, whether it is the same run or another; nothing is
  overwritten (pass --resume, or choose another --out).
- holds files a run would write (faces.png, metrics.json, ...) but no checkpoint.pt: they are
  not kpbench's run, so they are the user's: an error unless --force.
- --force (without --resume): a new run, replacing whatever the directory holds.

The directory is locked for the run (kpbench.lock); temporary files that a killed write left
(``.checkpoint.pt.XXXX.tmp``) are removed before anything else.

Every file read back is checked for the structure its reader needs, so a damaged, truncated or
foreign file is one KpbenchError naming it, never a KeyError or TypeError deeper in.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from kpbench.atomic import stale_temp_files, torch_save
from kpbench.errors import KpbenchError
from kpbench.train.config import TrainConfig

CHECKPOINT_FORMAT = "kpbench.checkpoint/1"
CHECKPOINT = "checkpoint.pt"
# Every file a run writes into its directory (train/outputs.py); any of them without a
# checkpoint.pt beside it is not kpbench's run and is not overwritten without --force.
RUN_FILES = ("checkpoint.pt", "model.pt", "metrics.json", "model_summary.md", "curves.png", "faces.png",
             "keypoint_error.png")

NUMBER, TENSOR, TENSORS = "number", "tensor", "tensors"
# What resume reads from a checkpoint: key → a type, one of the markers above, or a nested spec.
# (Extend it together with save_checkpoint/restore.)
CHECKPOINT_SPEC: dict[str, Any] = {
    "format": str, "model_name": str, "config": dict, "data": dict, "model": TENSORS,
    "optimizer": {"state": dict, "param_groups": list},
    "scheduler": {"step": int, "elapsed_s": NUMBER},
    "rng": {"generator": TENSOR, "torch": TENSOR},
    "epoch": int, "history": list, "normalisation": {"pixel_mean": NUMBER, "pixel_std": NUMBER},
}
CHECKPOINT_OPTIONAL_SPEC: dict[str, Any] = {"eval_s": NUMBER, "timing": dict, "complete": bool, "world": dict}
# Where a signal stopped an epoch (train/loop.py's _epoch), when it did; None otherwise.
POSITION_SPEC: dict[str, Any] = {"epoch": int, "next_step": int, "perm": TENSOR, "loss_sum": TENSOR, "epoch_s": NUMBER}
HISTORY_SPEC: dict[str, Any] = {"epoch": int, "val_rmse_px": NUMBER, "val_rmse_per_keypoint_px": dict,
                                "elapsed_s": NUMBER, "images": int}


def first_line(e: BaseException) -> str:
    """``Type: first line of the message`` (many torch/zip errors have an empty message)."""
    lines = str(e).strip().splitlines()
    return f"{type(e).__name__}: {lines[0][:120]}" if lines else type(e).__name__


def load_torch_file(path: Path, what: str) -> dict:
    """A kpbench torch file as a dict with a ``format``; KpbenchError naming ``path`` otherwise."""
    import torch

    path = Path(path)
    if path.is_dir():
        raise KpbenchError(f"{path}: is a directory, expected a {what}")
    try:
        if path.stat().st_size == 0:
            raise KpbenchError(f"{path}: empty file (0 bytes), not a {what}")
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise KpbenchError(f"{path}: no such file") from None
    except KpbenchError:
        raise
    except Exception as e:  # pickle/zip errors of a truncated or foreign file; weights_only refuses code
        raise KpbenchError(f"{path}: not a readable {what} ({first_line(e)})") from None
    if not isinstance(obj, dict) or not isinstance(obj.get("format"), str):
        raise KpbenchError(f"{path}: not a kpbench {what}")
    return obj


def check_fields(path: Path, obj: dict, spec: dict[str, Any], what: str, prefix: str = "", *,
                 optional: bool = False) -> None:
    """KpbenchError naming ``path`` and the first key of ``spec`` that is missing or of the wrong type."""
    for key, want in spec.items():
        name = prefix + key
        if key not in obj and optional:
            continue
        if key not in obj:
            raise KpbenchError(f"{path}: damaged {what}: no {name!r}")
        value = obj[key]
        if isinstance(want, dict):
            if not isinstance(value, dict):
                raise KpbenchError(f"{path}: damaged {what}: {name!r} is {_kind(value)}, expected a mapping")
            check_fields(path, value, want, what, prefix=name + ".")
        elif not _is(value, want):
            raise KpbenchError(f"{path}: damaged {what}: {name!r} is {_kind(value)}, expected {_kind_name(want)}")


def _is(value: Any, want: Any) -> bool:
    import torch

    if want == NUMBER:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if want == TENSOR:
        return isinstance(value, torch.Tensor)
    if want == TENSORS:
        return isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in value.items())
    if want is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, want)


def _kind(value: Any) -> str:
    return "None" if value is None else f"a {type(value).__name__}"


def _kind_name(want: Any) -> str:
    names = {NUMBER: "a number", TENSOR: "a tensor", TENSORS: "a mapping of tensors", int: "an integer",
             str: "a string", dict: "a mapping", list: "a list", bool: "true/false"}
    return names.get(want, getattr(want, "__name__", str(want)))


def nonfinite_weights(state_dict: dict) -> list[str]:
    """Names of floating-point tensors holding NaN or infinity (a diverged or damaged run)."""
    import torch

    return [k for k, v in state_dict.items()
            if isinstance(v, torch.Tensor) and v.is_floating_point() and not bool(torch.isfinite(v).all())]


def _check_rng(path: Path, rng: dict) -> None:
    """The random states restore into a generator (a wrong-sized state is a RuntimeError there)."""
    import torch

    states = [("rng.torch", rng["torch"])]
    if rng.get("generator_device", "cpu") == "cpu":
        states.append(("rng.generator", rng["generator"]))
    for name, state in states:
        try:
            torch.Generator().set_state(state)
        except (RuntimeError, TypeError, ValueError) as e:
            raise KpbenchError(f"{path}: damaged checkpoint: {name!r} is not a random-number state ({first_line(e)})") from None


def check_normalisation(path: Path, norm: dict, what: str) -> None:
    """Pixel mean and standard deviation: finite, and a positive deviation (it divides)."""
    mean, std = norm["pixel_mean"], norm["pixel_std"]
    if not (math.isfinite(mean) and math.isfinite(std) and std > 0):
        raise KpbenchError(f"{path}: damaged {what}: normalisation pixel_mean={mean!r}, pixel_std={std!r}")


def load_checked(path: Path, what: str, fmt: str, spec: dict[str, Any], optional_spec: dict[str, Any]) -> dict:
    """A kpbench torch file of format ``fmt`` holding ``spec`` (and ``optional_spec`` where present)."""
    state = load_torch_file(path, what)
    if state["format"] != fmt:
        raise KpbenchError(f"{path}: format {state['format']!r}, expected {fmt}")
    check_fields(path, state, spec, what)
    check_fields(path, state, optional_spec, what, optional=True)
    return state


def refuse_nonfinite(path: Path, state_dict: dict, advice: str) -> None:
    bad = nonfinite_weights(state_dict)
    if bad:
        raise KpbenchError(f"{path}: the weights hold NaN or infinity ({', '.join(bad[:3])}): {advice}")


def load_checkpoint(path: Path) -> dict:
    """A checkpoint.pt with everything resume reads, checked (KpbenchError naming the file otherwise)."""
    ckpt = load_checked(path, "checkpoint", CHECKPOINT_FORMAT, CHECKPOINT_SPEC, CHECKPOINT_OPTIONAL_SPEC)
    check_fields(path, ckpt["rng"], {"generator_device": str}, "checkpoint", prefix="rng.", optional=True)
    _check_rng(path, ckpt["rng"])
    for i, entry in enumerate(ckpt["history"]):
        if not isinstance(entry, dict):
            raise KpbenchError(f"{path}: damaged checkpoint: 'history[{i}]' is {_kind(entry)}, expected a mapping")
        check_fields(path, entry, HISTORY_SPEC, "checkpoint", prefix=f"history[{i}].")
    if ckpt["epoch"] != len(ckpt["history"]):
        raise KpbenchError(f"{path}: damaged checkpoint: epoch {ckpt['epoch']} but {len(ckpt['history'])} epochs of history")
    check_normalisation(path, ckpt["normalisation"], "checkpoint")
    position = ckpt.get("position")
    if position is not None:
        if not isinstance(position, dict):
            raise KpbenchError(f"{path}: damaged checkpoint: 'position' is {_kind(position)}, expected a mapping")
        check_fields(path, position, POSITION_SPEC, "checkpoint", prefix="position.")
        if position["epoch"] != len(ckpt["history"]) + 1:
            raise KpbenchError(f"{path}: damaged checkpoint: position in epoch {position['epoch']} after "
                               f"{len(ckpt['history'])} finished epochs")
    refuse_nonfinite(path, ckpt["model"], "the run diverged or the file is damaged; start again with --force "
                     "(and a lower --lr)")
    return ckpt


def prepare_run_dir(out_dir: Path, cfg: TrainConfig, data_info: dict, resume: bool, *, force: bool = False) -> dict | None:
    """Check ``out_dir`` may hold this run; the checkpoint to resume from, or None for a new run.

    The caller holds ``kpbench.lock.run_dir_lock(out_dir)`` for the run (``train()`` does); when it
    does not, the lock is taken here and held until the process exits.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise KpbenchError(f"{out_dir}: exists and is not a directory")
    if resume and force:
        raise KpbenchError("--resume continues the run in --out and --force replaces it: give one of them")
    _hold_lock(out_dir)
    for leftover in stale_temp_files(out_dir):  # a write killed mid-way; the lock says no one is writing now
        leftover.unlink(missing_ok=True)
    ckpt_path = out_dir / CHECKPOINT
    if resume:
        if not ckpt_path.exists():
            raise KpbenchError(f"{out_dir}: no {CHECKPOINT} to resume from")
        ckpt = _load_for(ckpt_path, "--resume")
        _check_same_run(out_dir, ckpt, cfg, data_info)
        return ckpt
    if force:
        return None
    present = [name for name in RUN_FILES if (out_dir / name).exists()]
    if not present:
        return None
    if ckpt_path.exists():
        ckpt = _load_for(ckpt_path, "a new run")
        _check_same_run(out_dir, ckpt, cfg, data_info)
        state = "finished" if ckpt.get("complete") else f"stopped after epoch {ckpt.get('epoch')}"
        raise KpbenchError(f"{out_dir} already holds this run ({state}); pass --resume to continue it, or choose another --out")
    raise KpbenchError(f"{out_dir} holds {', '.join(present)} but no {CHECKPOINT}, so not a kpbench run that can "
                       "continue; pass --force to replace them, or choose another --out")


def _load_for(ckpt_path: Path, purpose: str) -> dict:
    try:
        return load_checkpoint(ckpt_path)
    except KpbenchError as e:
        raise KpbenchError(f"{e}; cannot use it for {purpose}: pass --force to start the run again, "
                           "or choose another --out") from None


def _hold_lock(out_dir: Path) -> None:
    from kpbench import lock

    if not lock.is_locked_here(out_dir):
        lock.hold_until_exit(out_dir)


def _check_same_run(out_dir: Path, ckpt: dict, cfg: TrainConfig, data_info: dict) -> None:
    try:
        theirs = TrainConfig.from_dict(ckpt["config"]).identity()
    except (KeyError, TypeError, ValueError, AttributeError, KpbenchError):
        raise KpbenchError(f"{out_dir / CHECKPOINT}: holds no readable config") from None
    ours = cfg.identity()
    differ = [k for k in ours if _differs(ours[k], theirs.get(k))]
    data = ckpt.get("data")
    if not isinstance(data, dict) or _differs(data.get("sha256"), data_info.get("sha256")):
        differ.append("data")
    if differ:
        shown = ", ".join(f"{k} {_short(theirs.get(k))}→{ours[k]!r}" if k != "data" else "data" for k in differ[:4])
        raise KpbenchError(f"{out_dir} holds another run (differs in {shown}); choose another --out")


def _differs(ours: Any, theirs: Any) -> bool:
    try:  # a damaged checkpoint may hold a tensor where a number belongs: `!=` is then no bool
        return type(ours) is not type(theirs) and not _both_numbers(ours, theirs) or bool(ours != theirs)
    except Exception:  # noqa: BLE001 - any value that cannot be compared is a difference
        return True


def _both_numbers(a: Any, b: Any) -> bool:
    return all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in (a, b))


def _short(value: Any) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:39] + "…"


def save_checkpoint(path: Path, **state) -> None:
    torch_save({"format": CHECKPOINT_FORMAT, **state}, path)


def save_state(path: Path, *, cfg: TrainConfig, data_info: dict, model, optimizer, generator, progress: dict,
               history: list[dict], normalisation: dict, complete: bool, timing: dict,
               position: dict | None = None, world: dict | None = None) -> None:
    """Everything a --resume needs to continue bit-identically, written atomically.

    ``progress``: step, elapsed_s, eval_s, time_to_target_s. ``position``: where inside an
    epoch a stop (a signal) left it (epoch, next step, the epoch's permutation, its loss sum and
    seconds so far); None at an epoch's end.
    """
    import torch

    save_checkpoint(
        path, model_name=cfg.model, config=cfg.to_dict(), data=data_info,
        model=model.state_dict(), optimizer=optimizer.state_dict(),
        scheduler={"step": progress["step"], "elapsed_s": progress["elapsed_s"]},
        rng={"generator": generator.get_state(), "generator_device": generator.device.type, "torch": torch.get_rng_state()},
        epoch=len(history), history=history, normalisation=normalisation, eval_s=progress["eval_s"],
        time_to_target_s=progress["time_to_target_s"], complete=complete, timing=timing, position=position,
        world=world or {"size": 1},
    )


def restore_state(state: dict, path: Path, cfg: TrainConfig, *, model, optimizer, generator) -> dict:
    """Loads a checkpoint's weights, optimizer and RNG states in place; returns its progress.

    The progress: history, step, elapsed_s, eval_s, timing (of the last process that trained),
    time_to_target_s (recomputed: a target given on resume may differ), position (or None).
    """
    import torch

    try:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
    except (RuntimeError, KeyError, ValueError) as e:
        raise KpbenchError(f"{path}: does not fit model {cfg.model!r} ({str(e).splitlines()[0][:100]})") from None
    torch.set_rng_state(state["rng"]["torch"])
    history = list(state["history"])
    position = state.get("position")
    if state["rng"].get("generator_device", "cpu") == generator.device.type:
        generator.set_state(state["rng"]["generator"])
    else:
        # The device changed on --resume (CPU and CUDA generator states differ in form and
        # cannot be restored across): reseed deterministically from the seed and the epoch. A
        # half-done epoch keeps its stored permutation.
        generator.manual_seed(cfg.seed * 1_000_003 + len(history))
    time_to_target = None
    if cfg.target_rmse_px is not None:
        time_to_target = next((h["elapsed_s"] for h in history if h["val_rmse_px"] <= cfg.target_rmse_px), None)
    return {
        "history": history, "step": state["scheduler"]["step"], "elapsed_s": state["scheduler"]["elapsed_s"],
        "eval_s": state.get("eval_s", 0.0), "timing": dict(state.get("timing", {})),
        "time_to_target_s": time_to_target, "position": position,
    }
