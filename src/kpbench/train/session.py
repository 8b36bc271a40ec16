"""`kpbench train` in this process: load the data, train, say what was reached (rank 0 alone prints)."""

from __future__ import annotations

from rich.console import Console

from kpbench.train.config import TrainConfig
from kpbench.train.launch import TrainJob


def train_and_report(cfg: TrainConfig, job: TrainJob):  # noqa: ANN201 - a TrainResult (imports torch)
    """Trains ``cfg`` on ``job.data`` into ``job.out``, printing the config, the network and the result."""
    from kpbench.data import load_faces
    from kpbench.models import build_model, summarize
    from kpbench.train import output, world
    from kpbench.train.config import resolve_device, resolve_precision
    from kpbench.train.loop import train

    main = world.from_env().main
    console = Console(stderr=False, quiet=not main)
    dev = resolve_device(cfg.device)
    output.print_run_header(console, cfg, dev, resolve_precision(cfg.precision, dev, cfg.model),
                            summarize(build_model(cfg.model), cfg.model).to_markdown())
    faces = load_faces(job.data, progress=job.progress and main)
    result = train(faces, cfg, out_dir=job.out, resume=job.resume, progress=job.progress, force=job.force)
    output.print_run_result(console, result, job.out)
    return result
