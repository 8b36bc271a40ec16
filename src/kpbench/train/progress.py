"""A rich progress bar per epoch: steps, then train loss and validation RMSE when it ends."""

from __future__ import annotations

import sys


class EpochProgress:
    def __init__(self, *, enabled: bool, total_epochs: int | None, budget_s: float | None) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total_epochs, self.budget_s = total_epochs, budget_s
        self._progress = None
        self._task = None

    def __enter__(self) -> EpochProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[stats]}"), console=Console(stderr=True), transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start_epoch(self, epoch: int, steps: int) -> None:
        if self._progress is None:
            return
        of = f"/{self.total_epochs}" if self.total_epochs else ""
        self._task = self._progress.add_task(f"epoch {epoch}{of}", total=steps, stats="")

    def advance(self) -> None:
        if self._task is not None:
            self._progress.advance(self._task)  # a counter only: no device sync

    def end_epoch(self, epoch: int, train_loss: float, val_rmse_px: float, elapsed_s: float) -> None:
        if self._task is None:
            return
        budget = f" of {self.budget_s:.0f} s" if self.budget_s else ""
        stats = f"loss {train_loss:.5f}  val RMSE {val_rmse_px:.3f} px  {elapsed_s:.1f} s{budget}"
        task = self._progress.tasks[-1]
        self._progress.update(self._task, completed=task.total, stats=stats)
        self._task = None
