"""What train, evaluate and predict print on a terminal (rich); the figures come from their results."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console


def print_run_header(console: Console, cfg, device: str, precision: str, summary_markdown: str) -> None:  # noqa: ANN001
    """The config a run trains with (device and precision resolved) and the network's summary."""
    from rich.markdown import Markdown

    console.print(f"[bold]config[/bold] (device {device}, precision {precision})")
    console.print("  " + ", ".join(f"{k}={v}" for k, v in cfg.to_dict().items()), highlight=False)
    console.print(Markdown(summary_markdown))


def print_run_result(console: Console, result, out: Path) -> None:  # noqa: ANN001 - a TrainResult
    """One line of what the run reached, then what it wrote."""
    target = "" if result.time_to_target_s is None else f", target reached at {result.time_to_target_s:.1f} s"
    workers = result.distributed.get("world_size", 1)
    on = f"{workers} workers, global batch {result.distributed['global_batch']}, " if workers > 1 else ""
    console.print(
        f"[bold]val RMSE {result.final_val_rmse_px:.3f} px[/bold] after {len(result.history)} epochs, "
        f"{result.train_s:.1f} s training ({result.steady_images_per_s:.0f} images/s steady, "
        f"{on}{result.device}/{result.precision}){target}"
    )
    console.print(f"wrote {out}/: model.pt, metrics.json, curves.png, faces.png, keypoint_error.png", highlight=False)


def print_evaluation(title: str, overall_px: float, per_keypoint_px: dict[str, float]) -> None:
    """RMSE per keypoint and overall, as a table."""
    from rich.table import Table

    table = Table(title=title)
    table.add_column("keypoint")
    table.add_column("RMSE (px)", justify="right")
    for name, value in per_keypoint_px.items():
        table.add_row(name, f"{value:.3f}")
    table.add_row("[bold]overall[/bold]", f"[bold]{overall_px:.3f}[/bold]")
    Console().print(table)
