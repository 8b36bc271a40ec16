"""The run directory: checkpoint.pt after every epoch, and which runs a directory may hold.

Semantics of --out DIR:
- empty or absent: a new run.
- holds a run (checkpoint.pt) and --resume: it continues if it is the same run (same config apart
  from epochs/time budget/target/device/threads, same data); a finished run asked for no more
  work only has its outputs rewritten.
- holds a run and no --resume: an error, whether it is the same run or another; nothing is
  overwritten (pass --resume, or choose another --out).
"""

from __future__ import annotations

from pathlib import Path

from kpbench.atomic import torch_save
from kpbench.errors import KpbenchError
from kpbench.train.config import TrainConfig

CHECKPOINT_FORMAT = "kpbench.checkpoint/1"
CHECKPOINT = "checkpoint.pt"
RUN_FILES = ("checkpoint.pt", "model.pt", "metrics.json")


def load_torch_file(path: Path, what: str) -> dict:
    import torch

    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise KpbenchError(f"{path}: no such file") from None
    except Exception as e:  # pickle/zip errors of a truncated or foreign file
        raise KpbenchError(f"{path}: not a readable {what} ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from None
    if not isinstance(obj, dict) or "format" not in obj:
        raise KpbenchError(f"{path}: not a kpbench {what}")
    return obj


def prepare_run_dir(out_dir: Path, cfg: TrainConfig, data_info: dict, resume: bool) -> dict | None:
    """Check ``out_dir`` may hold this run; the checkpoint to resume from, or None for a new run."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise KpbenchError(f"{out_dir}: exists and is not a directory")
    ckpt_path = out_dir / CHECKPOINT
    if resume:
        if not ckpt_path.exists():
            raise KpbenchError(f"{out_dir}: no {CHECKPOINT} to resume from")
        ckpt = load_torch_file(ckpt_path, "checkpoint")
        if ckpt.get("format") != CHECKPOINT_FORMAT:
            raise KpbenchError(f"{ckpt_path}: format {ckpt.get('format')!r}, expected {CHECKPOINT_FORMAT}")
        _check_same_run(out_dir, ckpt, cfg, data_info)
        return ckpt
    present = [name for name in RUN_FILES if (out_dir / name).exists()]
    if not present:
        return None
    if ckpt_path.exists():
        ckpt = load_torch_file(ckpt_path, "checkpoint")
        _check_same_run(out_dir, ckpt, cfg, data_info)
        state = "finished" if ckpt.get("complete") else f"stopped after epoch {ckpt.get('epoch')}"
        raise KpbenchError(f"{out_dir} already holds this run ({state}); pass --resume to continue it, or choose another --out")
    raise KpbenchError(f"{out_dir} already holds {', '.join(present)} of another run; choose another --out")


def _check_same_run(out_dir: Path, ckpt: dict, cfg: TrainConfig, data_info: dict) -> None:
    try:
        theirs = TrainConfig.from_dict(ckpt["config"]).identity()
    except (KeyError, TypeError, KpbenchError):
        raise KpbenchError(f"{out_dir / CHECKPOINT}: holds no readable config") from None
    ours = cfg.identity()
    differ = [k for k in ours if ours[k] != theirs.get(k)]
    if ckpt.get("data", {}).get("sha256") != data_info.get("sha256"):
        differ.append("data")
    if differ:
        shown = ", ".join(f"{k} {theirs.get(k)!r}→{ours[k]!r}" if k != "data" else "data" for k in differ[:4])
        raise KpbenchError(f"{out_dir} holds another run (differs in {shown}); choose another --out")


def save_checkpoint(path: Path, **state) -> None:
    torch_save({"format": CHECKPOINT_FORMAT, **state}, path)


def save_state(path: Path, *, cfg: TrainConfig, data_info: dict, model, optimizer, generator, progress: dict,
               history: list[dict], normalisation: dict, complete: bool, timing: dict,
               position: dict | None = None) -> None:
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
