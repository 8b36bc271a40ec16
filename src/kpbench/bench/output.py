"""Terminal output in hyperfine's manner; reads a Record, never measures.

    init_s        Time (mean ± σ):     1.949 s ±  0.066 s    [median 1.952 s]
                  Range (min … max):   1.882 s …  2.013 s    3 runs
"""

from __future__ import annotations

import sys

from rich.console import Console

from kpbench.bench.stats import CV_WARN_FRACTION
from kpbench.fmt import percent, plain, rich_text
from kpbench.fmt import quantity as _fmt


def _label(unit: str) -> str:
    return {"s": "Time", "images/s": "Rate", "MB": "Memory"}.get(unit, "Value")


def print_figure(console: Console, name: str, fig: dict) -> None:
    unit = fig["unit"]
    noisy = fig["cv"] > CV_WARN_FRACTION and len(fig["values"]) > 1
    style = "yellow" if noisy else "green"
    olympic = "" if fig["olympic_mean"] is None else f", olympic mean {_fmt(fig['olympic_mean'], unit)}"
    console.print(f"[bold]{name}[/]  [dim]median {_fmt(fig['median'], unit)}{olympic}[/]")
    console.print(
        f"  {_label(unit)} ([green bold]mean[/] ± [green]σ[/]):{' ' * (8 - len(_label(unit)))}"
        f"[bold {style}]{_fmt(fig['mean'], unit):>14}[/] ± [{style}]{_fmt(fig['stdev'], unit)}[/]"
        + (f"  [yellow](cv {percent(fig['cv'])})[/]" if noisy else "")
    )
    console.print(
        f"  Range ([cyan]min[/] … [magenta]max[/]):   [cyan]{_fmt(fig['min'], unit):>14}[/] … "
        f"[magenta]{_fmt(fig['max'], unit)}[/]    [dim]{len(fig['values'])} runs[/]"
    )


def print_record(record: dict, path: str | None = None, *, console: Console | None = None) -> None:
    """The whole Record: header, speed path, figures, the split of the wall clock, FLOPs, failures, warnings."""
    console = console or Console(highlight=False)
    cfg, machine, reps = record["config"], record["machine"], record["repeats"]
    where = machine.get("instance_type") or machine.get("gpu") or machine.get("cpu_model")
    start = "cold (page cache evicted before each repeat)" if record.get("cold") else "warm"
    console.print(
        f"[bold underline]Benchmark:[/] {rich_text(cfg['model'])}, batch {cfg['batch_size']}, {cfg['epochs']} epochs, "
        f"{rich_text(cfg['precision'])} on {rich_text(cfg['device'])} ({rich_text(str(where))}); data {rich_text(cfg['data'])} "
        f"({record['data_load']}, {cfg['rows']} rows); {start}"
    )
    if cfg.get("speed_path"):
        from kpbench.train.output import speed_line

        console.print(f"[bold]Speed path:[/] {rich_text(speed_line(cfg['speed_path']))}")
    for name, fig in record["figures"].items():
        print_figure(console, name, fig)
    print_split(console, record)
    _print_flops(console, record["flops"])
    if machine.get("price_per_hour") is not None:
        where = f" ({rich_text(machine['instance_type'])})" if machine.get("instance_type") else ""
        console.print(f"  [bold]Price[/] ${machine['price_per_hour']:.4g}/h{where}")
    for failed in reps["failed"]:
        console.print(f"  [red]Repeat {failed['repeat']} failed:[/] {rich_text(failed['error'])}")
    _print_warnings(console, record)
    if path:
        console.print(f"Record: [bold]{rich_text(str(path))}[/]")


def split_rows(record: dict) -> list[tuple[str, dict, float | None]]:
    """(phase, its Figure, its share of the median wall clock) in the order of the split.

    A version-1 Record has no split of its wall clock: its phases, shares None.
    """
    wall = record["figures"].get("wall_s")
    total = wall["median"] if wall else None
    return [(name, fig, (fig["median"] / total if total else None)) for name, fig in record["phases"].items()]


def print_split(console: Console, record: dict) -> None:
    """The phases as one table: median, min … max, share of the wall clock; they add up to wall_s."""
    if "wall_s" not in record["figures"]:
        console.print("[bold underline]Phases[/] [dim](a version-1 Record: init_s missed the torch import and the "
                      "device start; no split of the wall clock)[/]")
    else:
        console.print("[bold underline]Split of each repeat's wall clock[/] [dim](median, min … max, share; "
                      "init_s = interpreter_s … model_build_s, train_s = warmup_s + steady_train_s + eval_s)[/]")
    for name, fig, share in split_rows(record):
        shown = "" if share is None else f"{percent(share):>8}"
        console.print(f"  {name:<15}{_fmt(fig['median'], 's'):>12}   [cyan]{_fmt(fig['min'], 's'):>10}[/] … "
                      f"[magenta]{_fmt(fig['max'], 's'):<10}[/]{shown}")
    wall = record["figures"].get("wall_s")
    if wall:
        console.print(f"  [bold]{'= wall_s':<15}{_fmt(wall['median'], 's'):>12}[/]   [dim]spawn to exit, "
                      f"as the runner sees it[/]")


def _print_flops(console: Console, flops: dict) -> None:
    if not flops.get("achieved_flops_per_s"):
        return
    mfu = "n/a" if flops["mfu"] is None else percent(flops["mfu"], 1)
    console.print(
        f"  [bold]FLOPs[/] {flops['train_flops_per_image'] / 1e6:.1f} MFLOP/image (train), achieved "
        f"{flops['achieved_flops_per_s'] / 1e9:.1f} GFLOP/s, MFU {mfu} [dim]({rich_text(flops['peak_note'])})[/]"
    )


def _print_warnings(console: Console, record: dict) -> None:
    noisy = [f"{name} ({percent(fig['cv'], 0)})" for name, fig in record["figures"].items()
             if fig["cv"] > CV_WARN_FRACTION and len(fig["values"]) > 1]
    if noisy:  # one line for all, as hyperfine does; the Record keeps one warning per figure
        console.print(
            f"  [yellow]Warning:[/] spread above {percent(CV_WARN_FRACTION, 0)} of the mean in {', '.join(noisy)}. "
            "Other programs or a warming machine may disturb the measurement; "
            "try more --repeats, --warmup or a quieter machine."
        )
    for warning in record.get("warnings", []):
        if ": cv " not in warning:
            console.print(f"  [yellow]Warning:[/] {rich_text(warning)}")


def print_warning(message: str) -> None:
    """One warning line on stderr, as every kpbench warning (never wrapped: one line)."""
    print(f"kpbench: warning: {plain(message)}", file=sys.stderr)


class RepeatProgress:
    """One line per repeat as it starts and ends (stderr), so a long bench shows life."""

    def __init__(self, total: int, warmup: int, *, enabled: bool = True) -> None:
        self.console = Console(stderr=True, highlight=False)
        self.total, self.warmup, self.enabled = total, warmup, enabled

    def start(self, index: int, is_warmup: bool) -> None:
        if not self.enabled:
            return
        what = f"warm-up {index + 1}/{self.warmup}" if is_warmup else f"repeat {index + 1}/{self.total}"
        self.console.print(f"[dim]bench: {what} …[/]")

    def end(self, result: dict) -> None:
        if not self.enabled:
            return
        if result["ok"]:
            f = result["figures"]
            self.console.print(
                f"[dim]bench:   done in {result.get('wall_s', 0):.1f} s: "
                f"{f['images_per_s']:.1f} images/s, init {f['init_s']:.2f} s[/]"
            )
        else:
            self.console.print(f"[red]bench:   failed:[/] {rich_text(result.get('error', ''))}")
