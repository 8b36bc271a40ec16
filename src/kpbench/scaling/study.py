"""`kpbench dist scale` from options to files: measure every worker count, fit, predict, write, print.

The command's one function (``run_scale``); the pieces are scale.py (the jobs), analysis.py (the
figures), record.py (the Record), charts.py and output.py (what is drawn and printed).
"""

from __future__ import annotations

import json
import math
import sys
import warnings
from pathlib import Path

from kpbench.errors import Interrupted, KpbenchError, RunFailed
from kpbench.scaling.scale import ScaleConfig


def options_config(nproc: str, data: str, model: str, epochs: int | None, steps: int | None, batch_size: int,
                   link_limit: str | None, comm_hook: str, allreduce_max_mb: float, device: str = "cpu") -> ScaleConfig:
    """The ScaleConfig the command-line options describe; one KpbenchError line for any bad one."""
    from kpbench.models import MODEL_NAMES
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
    rate = _link_rate(link_limit)
    return ScaleConfig(data=data, model=model, nproc=parse_nproc(nproc), batch_size=batch_size, epochs=epochs,
                       steps=steps, comm_hook=hook, powersgd_rank=rank, link_limit_bit_per_s=rate,
                       allreduce_max_bytes=int(allreduce_max_mb * (1 << 20)), device=device).resolved()


RECORD_NAME = "dist-scale.json"
LOG_NAME = "dist-scale.log"
CHART_NAMES = ("scaling.png", "time_split.png", "allreduce.png")


def _link_rate(link_limit: str | None) -> float | None:
    from kpbench.scaling.alphabeta import parse_rate_bit_per_s

    try:
        return parse_rate_bit_per_s(link_limit) if link_limit is not None else None
    except ValueError as e:
        raise KpbenchError(f"--link-limit: {e}") from None


def _positive(option: str, value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise KpbenchError(f"{option} {value}: give a positive, finite number")
    return value


def tta_config(*, nproc: str, data: str, model: str, target_rmse_px: float, budget_s: float | None, lr_scaling: str,
               link_limit: str | None, repeats: int, batch_size: int | None, force: bool = False):  # noqa: ANN201
    """The TtaConfig the options of `kpbench dist tta` describe; one KpbenchError line for any bad one."""
    from kpbench.models import MODEL_NAMES
    from kpbench.scaling.scale import parse_nproc
    from kpbench.scaling.tta import TtaConfig, parse_lr_scalings

    if model not in MODEL_NAMES:
        raise KpbenchError(f"--model {model!r}: choose one of {', '.join(MODEL_NAMES)}")
    return TtaConfig(data=data, model=model, nproc=parse_nproc(nproc), target_rmse_px=_positive("--target-rmse", target_rmse_px),
                     budget_s=_positive("--budget", budget_s), lr_scalings=parse_lr_scalings(lr_scaling),
                     link_limit_bit_per_s=_link_rate(link_limit), repeats=repeats, batch_size=batch_size,
                     force=force).resolved()


def run_tta(cfg, out: Path, *, json_out: bool = False, oversubscribe: bool = False) -> dict:  # noqa: ANN001 - a TtaConfig
    """`kpbench dist tta`: the study into ``out``, its table (stderr with --json) and the --json rows."""
    from rich.console import Console

    from kpbench.scaling import tta
    from kpbench.scaling.output import print_tta_record
    from kpbench.scaling.scale import ScaleConfig, check_nproc_bound
    from kpbench.train.world import rdzv_timeout_s

    rdzv_timeout_s()  # a bad $KPBENCH_RDZV_TIMEOUT_S is one line now, not at the first run
    console = Console(stderr=json_out, width=None if (sys.stderr if json_out else sys.stdout).isatty() else 150)
    message = check_nproc_bound(ScaleConfig(nproc=cfg.nproc, cores=cfg.cores), oversubscribe=oversubscribe)
    if message:
        console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)
    if cfg.link_limit_bit_per_s and max(cfg.nproc) > 1:
        from kpbench.scaling import netns

        netns.check_can_shape()
    record = tta.run_study(cfg, tta.grid(cfg), out,
                           say=lambda line: console.print(line, highlight=False, markup=False, soft_wrap=True))
    print_tta_record(record, str(out / tta.RECORD_NAME), console)
    if json_out:
        print(json.dumps(tta.json_rows(record), indent=1))
    return record


def run_scale(cfg: ScaleConfig, out: Path, *, budget_s: float | None = None, json_out: bool = False,
              force: bool = False, oversubscribe: bool = False) -> dict | None:
    """Measures, then writes dist-scale.json and the charts in ``out`` and prints the tables; the Record
    (None on a node other than 0, whose workers took part while node 0 writes).

    ``out`` is locked for the whole study. Each job's result is in the Record (rewritten atomically
    after every job) as soon as it is measured; a job that fails becomes a failure in it, said in
    one line, and the study goes on. RunFailed (exit 3) only when nothing could be measured.
    """
    from rich.console import Console

    from kpbench.lock import run_dir_lock
    from kpbench.scaling.scale import check_nproc_bound, check_out_dir
    from kpbench.train.world import rdzv_timeout_s

    rdzv_timeout_s()  # a bad $KPBENCH_RDZV_TIMEOUT_S is one line now, not at the first job
    stream = sys.stderr if json_out else sys.stdout  # with --json, stdout carries the JSON alone
    console = Console(stderr=json_out, width=None if stream.isatty() else 150)  # wide tables in logs too
    message = check_nproc_bound(cfg, oversubscribe=oversubscribe)
    if message:  # before the run: say what will happen
        console.print(f"[yellow]warning:[/yellow] {message}", highlight=False)
    check_out_dir(out, (RECORD_NAME, *CHART_NAMES), force)
    with run_dir_lock(out):
        try:
            return _study(cfg, out, console, json_out, budget_s)
        except Interrupted as e:
            kept = f"; {out / RECORD_NAME} holds what was measured before" if (out / RECORD_NAME).exists() else ""
            raise Interrupted(f"{e}{kept}", e.signum) from None


def _study(cfg: ScaleConfig, out: Path, console, json_out: bool, budget_s: float | None) -> dict | None:  # noqa: ANN001
    from kpbench.scaling.scale import compare, measure, rows_of

    state = _Partial(cfg, out, console)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # measure() warns library callers; the line above told this user
        _, raws = measure(cfg, on_size=lambda n: console.print(f"[bold]{n} worker(s)[/bold] …"), log=state.log,
                          on_raw=state.sizes_done, on_failure=state.size_failed)
    if cfg.node_rank > 0:
        console.print(f"node {cfg.node_rank} of {cfg.nnodes} finished; node 0 writes the Record")
        return None
    if budget_s is not None:
        compare(cfg, budget_s, on_variant=lambda v: console.print(f"[bold]compare[/bold] {v} …"), log=state.log,
                on_row=state.variants_done)
    record = state.write(complete=True)
    if not record["rows"] and not any("error" not in c for c in record.get("compare", [])):
        raise RunFailed(f"nothing could be measured ({len(record['failures'])} job(s) failed); log: {state.log}")
    return _finish(record, out, console, json_out, rows_of(raws, cfg.batch_size))


class _Partial:
    """The Record as the study goes: rewritten after every job; failures said in one line each."""

    def __init__(self, cfg: ScaleConfig, out: Path, console) -> None:  # noqa: ANN001
        self.cfg, self.out, self.console = cfg, out, console
        self.log = out / LOG_NAME
        self.raws: list[dict] = []
        self.compare: list[dict] | None = None
        self.failures: list[dict] = []

    def sizes_done(self, raws: list[dict]) -> None:
        self.raws = list(raws)
        self.write(complete=False)

    def size_failed(self, n: int, e) -> None:  # noqa: ANN001 - a JobFailed
        self.failures.append({"job": f"{n} worker(s)", "nproc": n, "message": e.outcome.failure()})
        self._say(f"{n} worker(s)", e.outcome.failure())
        self.write(complete=False)

    def variants_done(self, rows: list[dict]) -> None:
        self.compare = list(rows)
        if "error" in rows[-1]:
            self._say(rows[-1]["variant"], rows[-1]["error"])
        self.write(complete=False)

    def _say(self, what: str, why: str) -> None:
        self.console.print(f"kpbench: {what} failed: {why}; log: {self.log}", highlight=False, markup=False, soft_wrap=True)

    def write(self, *, complete: bool) -> dict:
        from kpbench.scaling import analysis
        from kpbench.scaling.record import build_scale_record, write_scale_record
        from kpbench.scaling.scale import record_config, rows_of

        rows = rows_of(self.raws, self.cfg.batch_size)
        fit = analysis.allreduce(self.raws)
        pred = analysis.prediction(rows, fit, self.cfg.batch_size, self.cfg.comm_hook, self.cfg.link_limit_bit_per_s)
        record = build_scale_record(record_config(self.cfg), rows, fit, pred, self.compare, failures=self.failures,
                                    complete=complete)
        write_scale_record(self.out / RECORD_NAME, record)
        return record


def _finish(record: dict, out: Path, console, json_out: bool, rows: list[dict]) -> dict:  # noqa: ANN001
    """The charts, the tables, the --json summary of the written Record."""
    from kpbench.scaling import charts
    from kpbench.scaling.output import print_scale_record
    from kpbench.scaling.record import json_summary

    if rows:
        charts.write_charts(record, out)
    print_scale_record(record, str(out / RECORD_NAME), console)
    if json_out:
        print(json.dumps(json_summary(record), indent=1))
    return record
