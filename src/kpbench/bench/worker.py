"""One repeat of a bench, in a fresh process: ``python -m kpbench.bench.worker JOB RESULT SPAWN_S``.

The runner writes the job (a JSON config) and the wall-clock time it spawned
this process; the worker times every phase, trains once and writes its result
as JSON to RESULT (atomically). A crash still writes ``{"ok": false, "error"}``
so the Record can say which repeat failed and why.
"""

import time

PROCESS_START_S = time.time()  # the spawn time to fall back on when SPAWN_S is not given (a run by hand)

import json  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402


def run_repeat(job: dict, spawn_s: float, events) -> dict:
    """Time the phases and train once; returns this repeat's result dict."""
    import torch

    import kpbench.data
    import kpbench.models
    import kpbench.train
    from kpbench.bench import phases as ph
    from kpbench.train.config import resolve_device

    imports_s = time.time() - spawn_s  # interpreter start + imports, from the parent's spawn
    cfg = job["config"]
    device = resolve_device(cfg["device"])
    timer = ph.PhaseTimer(ph.device_sync(device))
    timer.seconds["imports_s"] = imports_s

    with timer.phase("device_init_s"):
        ph.init_device(device)
    with timer.phase("data_load_s"):
        if cfg["data"] == "synthetic" and cfg.get("rows"):  # render only the rows asked for
            faces = kpbench.data.synth_faces(int(cfg["rows"]), 0)
            faces.meta.setdefault("load", "synthetic")
        else:
            faces = kpbench.data.load_faces(cfg["data"], cache=True, progress=False)
        if cfg.get("rows") and len(faces) > int(cfg["rows"]):
            import numpy as np

            faces = faces.subset(np.arange(int(cfg["rows"])))
    with timer.phase("model_build_s"):
        model = kpbench.models.build_model(cfg["model"]).to(device)
    del model  # train() builds its own; this one measured the build

    events.log("init_stop", time_s=time.time())
    events.log("run_start")
    from kpbench.bench.config import train_settings

    tcfg = kpbench.train.TrainConfig.from_dict({**train_settings(cfg, job["repeat"]), "device": device})

    def on_event(name: str, fields: dict) -> None:
        fields = dict(fields or {})
        value = fields.pop("value", fields.pop("val_rmse_px", None) if name == "eval_accuracy" else None)
        events.log(name, value, **fields)

    result = kpbench.train.train(faces, tcfg, out_dir=None, progress=False, on_event=on_event)
    events.log("run_stop", None, status="success")
    phases = {
        **{k: timer.seconds[k] for k in ("imports_s", "device_init_s", "data_load_s", "model_build_s")},
        "warmup_s": float(result.warmup_s),
    }
    epochs_s = [float(h["epoch_s"]) for h in result.history]
    figures = {
        # init_s ends at the first training step; warm-up steps are inside train_s
        "init_s": sum(v for k, v in phases.items() if k != "warmup_s"),
        "train_s": float(result.train_s),
        "epoch_s": sum(epochs_s) / len(epochs_s) if epochs_s else float(result.train_s),
        "images_per_s": float(result.steady_images_per_s),
        "eval_s": float(result.eval_s),
        "time_to_target_s": None if result.time_to_target_s is None else float(result.time_to_target_s),
        "peak_memory_mb": ph.peak_host_memory_mb(),
        "peak_device_memory_mb": ph.peak_device_memory_mb(device),
    }
    from kpbench.bench.fingerprint import gpu_fingerprint

    return {
        "ok": True,
        "phases": phases,
        "figures": figures,
        "final_val_rmse_px": _float_or_none(result.final_val_rmse_px),
        "data_load": faces.meta.get("load", "synthetic"),
        "data": {"rows": len(faces), "sha256": faces.sha256 or "", "file": faces.meta.get("file", cfg["data"])},
        "device": str(result.device),
        "precision": str(result.precision),
        "missing": str(getattr(tcfg, "missing", "mask")),
        "epochs_run": len(result.history),
        "tf32": bool(device.startswith("cuda") and torch.backends.cudnn.allow_tf32),
        "gpu": gpu_fingerprint(),
        "torch": torch.__version__,
    }


def _float_or_none(x) -> float | None:
    return None if x is None else float(x)


def main(argv: list[str]) -> int:
    job_path, result_path = argv[0], argv[1]
    spawn_s = float(argv[2]) if len(argv) > 2 else PROCESS_START_S
    from kpbench.atomic import write_json
    from kpbench.bench.mllog import EventLog

    with open(job_path, encoding="utf-8") as f:
        job = json.load(f)
    events = EventLog()
    events.log("init_start", time_s=spawn_s)
    try:
        out = run_repeat(job, spawn_s, events)
    except KeyboardInterrupt:
        return 130  # the runner is stopping: no result, no Record
    except BaseException as e:  # report, don't vanish: the Record lists failed repeats
        message = f"{type(e).__name__}: {e}".strip()
        traceback.print_exc(file=sys.stderr)
        write_json(result_path, {"ok": False, "error": " ".join(message.split())[:500], "events": events.events})
        return 1
    out["events"] = events.events
    write_json(result_path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
