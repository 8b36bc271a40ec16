"""What a run leaves in --out DIR besides checkpoint.pt: model.pt, metrics.json, summary, pictures."""

from __future__ import annotations

from pathlib import Path

from kpbench.atomic import torch_save, write_json, write_text


def write_run_outputs(out_dir: Path, result, data_info: dict, summary, *, pictures: bool = True) -> None:
    """model.pt, metrics.json, model_summary.md and, with ``pictures``, curves.png, faces.png, keypoint_error.png."""
    from kpbench.train.augment import to_pixels
    from kpbench.train.evaluate import predict_normalised
    from kpbench.train.predict import model_file_state

    out_dir = Path(out_dir)
    cfg = result.config.to_dict()
    names = tuple(result.val_rmse_per_keypoint_px)
    torch_save(model_file_state(result.model, cfg, result.normalisation.to_dict(), names, result.final_val_rmse_px),
               out_dir / "model.pt")
    write_json(out_dir / "metrics.json", metrics_dict(result, data_info, summary))
    write_text(out_dir / "model_summary.md", summary.to_markdown())
    if not pictures:
        return
    from kpbench.train.pictures import plot_curves, plot_faces, plot_keypoint_error  # matplotlib: only when drawing

    plot_curves(result.history, out_dir / "curves.png")
    plot_keypoint_error(result.val_rmse_per_keypoint_px, out_dir / "keypoint_error.png")
    val = result.val
    pred = predict_normalised(result.model, val.images, result.normalisation, precision=result.precision)
    plot_faces(val.images[:, 0].cpu().numpy(), to_pixels(val.keypoints).cpu().numpy(), to_pixels(pred).cpu().numpy(),
               out_dir / "faces.png")


def metrics_dict(result, data_info: dict, summary) -> dict:
    return {
        "config": result.config.to_dict(),
        "data": data_info,
        "device": result.device,
        "precision": result.precision,
        "history": result.history,
        "final_val_rmse_px": result.final_val_rmse_px,
        "val_rmse_per_keypoint_px": result.val_rmse_per_keypoint_px,
        "time_to_target_s": result.time_to_target_s,
        "train_s": result.train_s,
        "eval_s": result.eval_s,
        "warmup_s": result.warmup_s,
        "steady_images_per_s": result.steady_images_per_s,
        "images_seen": result.images_seen,
        "checkpoint_s": result.checkpoint_s,
        "distributed": result.distributed,  # world_size, per_worker_batch, global_batch, lr_scaling, peak_lr
        "model_summary": summary.to_dict(),
    }
