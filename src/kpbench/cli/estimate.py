"""CLI: `kpbench estimate` (step time, training time and cost on GPUs, from a CPU-only trace). Thin: parses, calls
kpbench.estimate.run_estimate, prints through kpbench.estimate.output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from kpbench.estimate.workload import TRAIN  # the workload's defaults are train's own; --help shows them
from kpbench.models import MODEL_NAMES
from kpbench.train.config import DEFAULT_EPOCHS


def register(app: typer.Typer) -> None:
    """Add this module's commands to the kpbench app."""
    app.command("estimate")(estimate_command)


def _names(text: Optional[str]) -> list[str]:
    return [n.strip() for n in (text or "").split(",") if n.strip()]


def estimate_command(
    model: str = typer.Option(TRAIN.model, "--model", help=f"A kpbench network ({', '.join(MODEL_NAMES)}) or FILE.py:FUNCTION."),
    input_shape: Optional[str] = typer.Option(None, "--input-shape", help="C,H,W of one input, for FILE.py:FUNCTION."),
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help=f"Images per step (default {TRAIN.batch_size}, or --from's)."),
    precision: str = typer.Option("auto", "--precision", help="auto (what kpbench train picks per GPU), fp32, bf16, fp16."),
    gpu: Optional[str] = typer.Option(None, "--gpu", help="GPUs, comma-separated: K80,M60,V100,T4,A10G,L4,A100,H100,…"),
    instances: Optional[str] = typer.Option(None, "--instances", help="Catalog instance types, comma-separated."),
    study: bool = typer.Option(False, "--study", help="The original study's five instances, today's replacements, "
                                                      "and this machine."),
    epochs: Optional[int] = typer.Option(None, "--epochs", help=f"Epochs of the workload (default {DEFAULT_EPOCHS})."),
    rows: Optional[int] = typer.Option(None, "--rows", help="Rows of the data set (default Kaggle's 7049)."),
    from_path: Optional[Path] = typer.Option(None, "--from", help="A run directory or bench Record: its steps."),
    catalog: Optional[Path] = typer.Option(None, "--catalog", help="Instance catalog CSV (default: the shipped one)."),
    as_json: bool = typer.Option(False, "--json", help="Print the estimates as JSON."),
    out: Optional[Path] = typer.Option(None, "--out", help="Write one estimate Record per row here."),
) -> None:
    """Estimate step time, training time and cost on GPUs without one: a per-operator model of a CPU-only trace."""
    from kpbench.estimate import machine

    machine.note_fresh_process()  # before torch is imported: this process's start-up is then measured as it goes
    from kpbench.estimate.network import parse_shape
    from kpbench.estimate.run import EstimateRequest, run_estimate

    req = EstimateRequest(model=model, input_shape=parse_shape(input_shape), batch_size=batch_size, precision=precision,
                          gpus=_names(gpu), instances=_names(instances), study=study, epochs=epochs, rows=rows,
                          from_path=from_path, catalog=catalog)
    result = run_estimate(req)
    paths = []
    if out is not None:
        from kpbench.estimate.record import write_estimates

        paths = write_estimates(result, out)
    if as_json:
        print(json.dumps(result.to_dict(), indent=2, default=str))
        return
    from kpbench.estimate.output import print_result

    print_result(result)
    if paths:
        print(f"wrote {len(paths)} estimate Records in {out}")
