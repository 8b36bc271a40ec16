"""`kpbench dist scale` from options to files: measure every worker count, fit, predict, write, print.

The command's one function (``run_scale``); the pieces are scale.py (the jobs), analysis.py (the
figures), record.py (the Record), charts.py and output.py (what is drawn and printed).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

from kpbench.errors import KpbenchError
from kpbench.scaling.scale import ScaleConfig


def options_config(nproc: str, data: str, model: str, epochs: int | None, steps: int | None, batch_size: int,
                   link_limit: str | None, comm_hook: str, allreduce_max_mb: float, device: str = "cpu") -> ScaleConfig:
    """The ScaleConfig the command-line options describe; one KpbenchError line for any bad one."""
    from kpbench.models import MODEL_NAMES
    from kpbench.scaling.alphabeta import parse_rate_bit_per_s
    from kpbench.scaling.hooks import parse_comm_hook
    from kpbench.scaling.scale import parse_nproc

    if epochs is not None and steps is not None:
        raise KpbenchError("give --epochs or --steps, not both")
    if device not in ("cpu", "cuda"):
        raise KpbenchError(f"--device {device!r}: choose cpu or cuda")
    if model not in MODEL_NAMES:
        raise KpbenchError(f"--model {model!r}: choose one of {', '.join(MODEL_NAMES)}")
    try:
        hook, rank = parse_comm_hook(comm_hook)
    except ValueError as e:
        raise KpbenchError(f"--comm-hook: {e}") from None
    try:
        rate = parse_rate_bit_per_s(link_limit) if link_limit is not None else None
    except ValueError as e:
        raise KpbenchError(f"--link-limit: {e}") from None
    return ScaleConfig(data=data, model=model, nproc=parse_nproc(nproc), batch_size=batch_size, epochs=epochs,
                       steps=steps, comm_hook=hook, powersgd_rank=rank, link_limit_bit_per_s=rate,
                       allreduce_max_bytes=int(allreduce_max_mb * (1 << 20)), device=device).resolved()


def run_scale(cfg: ScaleConfig, out: Path, *, budget_s: float | None = None, json_out: bool = False) -> dict | None:
    """Measures, then writes dist-scale.json and the charts in ``out`` and prints the tables; the Record
    (None on a node other than 0, whose workers took part while node 0 writes)."""
    from rich.console import Console

    from kpbench.scaling.scale import measure, oversubscription_warning

    stream = sys.stderr if json_out else sys.stdout  # with --json, stdout carries the JSON alone
    console = Console(stderr=json_out, width=None if stream.isatty() else 150)  # wide tables in logs too
    message = oversubscription_warning(cfg.nproc, cfg.cores, cfg.device)
    if message:  # before the run: say what will happen
        console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # measure() warns library callers; the line above told this user
        rows, raws = measure(cfg, on_size=lambda n: console.print(f"[bold]{n} worker(s)[/bold] …"))
    if not raws:
        console.print(f"node {cfg.node_rank} of {cfg.nnodes} finished; node 0 writes the Record")
        return None
    return _finish(cfg, rows, raws, out, console, json_out, budget_s=budget_s)


def _finish(cfg: ScaleConfig, rows: list[dict], raws: list[dict], out: Path, console, json_out: bool, *,  # noqa: ANN001
            budget_s: float | None) -> dict:
    """The α-β fit, the prediction, the comparison if asked; then the Record, the charts, the tables."""
    from kpbench.scaling import analysis, charts
    from kpbench.scaling.output import print_scale_record
    from kpbench.scaling.record import build_scale_record, json_summary, write_scale_record
    from kpbench.scaling.scale import compare, record_config

    fit = analysis.allreduce(raws)
    pred = analysis.prediction(rows, fit, cfg.batch_size, cfg.comm_hook, cfg.link_limit_bit_per_s)
    extra = None
    if budget_s is not None:
        extra = compare(cfg, budget_s, on_variant=lambda v: console.print(f"[bold]compare[/bold] {v} …"))
    record = build_scale_record(record_config(cfg), rows, fit, pred, extra)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "dist-scale.json"
    write_scale_record(path, record)
    charts.write_charts(record, out)
    print_scale_record(record, str(path), console)
    if json_out:
        print(json.dumps(json_summary(record), indent=1))
    return record
