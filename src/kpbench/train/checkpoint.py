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
