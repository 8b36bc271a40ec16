"""Sections 1–6 of the study (machines, data set, model, optimizer, training, predictions).

Each builder reads `Inputs` and returns a `Section`; where an input is missing it
adds a `Note` saying what and how to get it, so a partial report still reads well.
"""

from __future__ import annotations

import json
import re
from typing import Any

from kpbench.cost.compare import unique_labels
from kpbench.data import MISSING_DESCRIPTIONS, SYNTHETIC
from kpbench.fmt import DASH, humanize, num, si, usd
from kpbench.report import figures
from kpbench.report.blocks import Columns, Figure, Note, Paragraph, Section, Table
from kpbench.report.build import Inputs, RunDir


def machine_names(inputs: Inputs) -> list[str]:
    """One unique name per Record, the same labels kpbench.cost's Comparison uses."""
    return unique_labels([r for _, r in inputs.records])


def primary_run(inputs: Inputs) -> RunDir | None:
    """The run the model/training/prediction sections show: the first one with metrics."""
    return next((r for r in inputs.runs if r.metrics), None)


# -- 1 ------------------------------------------------------------------------


def objective_and_machines(inputs: Inputs) -> Section:
    s = Section("machines", "1. Objective and machines")
    s.add(
        Paragraph(
            "Train a convolutional network to locate 15 facial keypoints on 96×96 grayscale faces "
            "(Kaggle “Facial Keypoints Detection”), and find out on which machine that is fastest "
            "and cheapest: how long initialization and training take, with their spread over "
            "repeats, and what a run costs."
        )
    )
    if not inputs.records:
        return s.add(Note("no Records, so no machines to list (run `kpbench bench` on each machine)"))
    comp = inputs.comparison
    priced = {row.label: row for row in comp.rows} if comp is not None else {}
    rows = [_machine_row(name, r["machine"], inputs, priced.get(name))
            for name, (_, r) in zip(machine_names(inputs), inputs.records)]
    cols = ["Machine", "Instance", "vCPUs", "CPU", "GPU", "GPU memory (GB)", "Memory (GB)", "GPU built for", "Price ($/h)"]
    s.add(Table(cols, rows, "Machines measured. Price: as the cost comparison prices the run (source in brackets); "
                            "local machines have none."))
    return s


def _machine_row(name: str, m: dict, inputs: Inputs, priced: Any) -> list[str]:
    """What the Record saw of the machine, completed from the catalog entry of its instance type."""
    inst = inputs.catalog.get(m.get("instance_type")) if inputs.catalog is not None else None
    gpu = m.get("gpu") or (inst.gpu if inst else None)
    count = m.get("gpu_count") or (inst.gpu_count if inst else 0)
    purpose = inst.gpu_purpose if inst else None
    return [
        name,
        m.get("instance_type") or "local",
        str((inst.vcpus if inst else None) or m.get("logical_cpus") or DASH),
        short_cpu(m.get("cpu_model")),
        (f"{count}× {gpu}" if gpu and count and count > 1 else gpu) or "none",
        num(m.get("gpu_memory_gb") or (inst.gpu_memory_gb if inst else None), 0),
        num(m.get("memory_gb") or (inst.memory_gb if inst else None), 0),
        GPU_PURPOSE.get(str(purpose), DASH if gpu else "no GPU"),
        _price_text(priced, m),
    ]


GPU_PURPOSE = {"ml": "ML", "graphics": "graphics"}  # the catalog's gpu_purpose, as a table shows it


def short_cpu(model: str | None) -> str:
    """'Intel(R) Xeon(R) Platinum 8259CL CPU @ 2.50GHz' → 'Xeon Platinum 8259CL' (tables stay narrow)."""
    if not model:
        return DASH
    text = re.sub(r"\((R|TM|tm)\)|\bCPU\b|@.*$|\b(Intel|AMD)\b|\d+-Core Processor|\bProcessor\b", " ", model)
    return " ".join(text.split()) or model


def _price_text(row: Any, machine: dict) -> str:
    # The Comparison's price, so this table and the cost table agree.
    if row is not None and row.price_per_hour is not None:
        return usd(row.price_per_hour) + (f" ({row.price_source})" if row.price_source else "")
    return "— (local machine)" if not machine.get("instance_type") else "— (not priced)"


# -- 2 ------------------------------------------------------------------------


def dataset(inputs: Inputs, *, faces_png: bytes | None = None, missing_png: bytes | None = None) -> Section:
    s = Section("dataset", "2. Dataset")
    ins = inputs.inspection.to_dict() if inputs.inspection is not None else None
    if ins is None:
        s.add(Note(f"data set inspection: {inputs.data_error or 'no data set'}"))
    else:
        faces = inputs.faces
        source = faces.source or inputs.data_path
        kind = ("synthetic faces (cartoons in Kaggle's layout and missing-label pattern, not photographs)"
                if is_synthetic(faces) else "file in the Kaggle Facial Keypoints Detection layout")
        rows = int(ins.get("rows", 0))
        complete = int(ins.get("complete_rows", 0))
        s.add(
            Table(
                ["Property", "Value"],
                [
                    ["Source", f"{kind}: {source}"],
                    ["Images", f"{rows:,} × 96×96 px, 8-bit grayscale"],
                    ["Rows with all 15 keypoints", f"{complete:,} ({100 * complete / max(rows, 1):.0f} %)"],
                    ["Content hash (sha256)", (faces.sha256 or DASH)[:16]],
                ],
                "The data set as loaded.",
            )
        )
        labelled, missing = ins.get("labelled") or {}, ins.get("missing") or {}
        kp_rows = [
            [name.replace("_", " "), f"{int(labelled.get(name, 0)):,}", f"{int(missing.get(name, 0)):,}",
             f"{100 * int(labelled.get(name, 0)) / max(rows, 1):.0f}"]
            for name in (labelled or missing)
        ]
        kp_table = Table(["Keypoint", "Labelled (rows)", "Missing (rows)", "Labelled (%)"], kp_rows,
                         "Labels per keypoint: most rows carry only the four common keypoints.")
        if missing_png:
            s.add(Columns([kp_table, Figure("dataset-missing.png", missing_png, "Missing labels per keypoint.")]))
        else:
            s.add(kp_table)
        if faces_png:
            s.add(Figure("dataset-samples.png", faces_png, "Sample faces with their labelled keypoints."))
    s.add(Paragraph(_preprocessing_text(primary_run(inputs))))
    _missing_handling(inputs, s)
    return s


def is_synthetic(faces: Any) -> bool:
    """What the FaceSet says of itself (data's meta["synthetic"]); a `synthetic…` source where meta is silent."""
    return bool(faces.meta.get("synthetic", str(faces.source).startswith(SYNTHETIC)))


def _preprocessing_text(run: RunDir | None) -> str:
    cfg = run.config if run else {}
    parts = [
        "Preprocessing: pixels standardised with the training split's mean and standard deviation; "
        "keypoints mapped to [-1, 1] (pixel = 48 + 48 · value), so one loss weighs every coordinate alike."
    ]
    if cfg.get("augment") is not None:
        if cfg["augment"]:
            detail = [f"shift ≤ {cfg['shift_px']:g} px" if cfg.get("shift_px") is not None else "",
                      f"scale ± {100 * cfg['scale_frac']:.0f} %" if cfg.get("scale_frac") is not None else "",
                      f"rotation ≤ {cfg['rotate_deg']:g}°" if cfg.get("rotate_deg") is not None else ""]
            detail = [d for d in detail if d]
            parts.append("Augmentation on the device, in whole batches: " + (", ".join(detail) or "on"))
        else:
            parts.append("No augmentation")
        if cfg.get("flip") is not None:
            parts[-1] += ("; horizontal flip, swapping the six left/right keypoint pairs" if cfg["flip"] else "; no flip")
        parts[-1] += "."
    if cfg.get("val_frac") is not None:
        parts.append(f"Validation: {100 * float(cfg['val_frac']):.0f} % of rows held out (seed {cfg.get('seed', DASH)}).")
    return " ".join(parts)


def _missing_handling(inputs: Inputs, s: Section) -> None:
    run = primary_run(inputs)
    used = run.config.get("missing") if run else None
    text = "Missing labels: " + "; ".join(f"“{k}” = {v}" for k, v in MISSING_DESCRIPTIONS.items()) + "."
    if used:
        text += f" The main run used “{used}”."
    s.add(Paragraph(text))
    by_strategy = _comparable_strategy_runs(inputs.runs)
    if len(by_strategy) < 2:
        s.add(Note("measured comparison of ffill vs drop vs mask: needs run directories trained with "
                   "different --missing strategies and otherwise the same settings"))
        return
    rows, bars = [], []
    for strat, r in sorted(by_strategy.items(), key=lambda kv: kv[1].metrics["final_val_rmse_px"]):
        m = r.metrics
        rows.append([strat, r.name, str(len(m.get("history") or [])), num(m.get("train_s")), num(m["final_val_rmse_px"])])
        bars.append((strat, float(m["final_val_rmse_px"])))
    s.add(Table(["Strategy", "Run", "Epochs", "Train time (s)", "Final val RMSE (px)"], rows,
                "Measured: the same model and budget trained with each way of handling missing labels."))
    s.add(Figure("missing-strategies.png", figures.missing_strategies_png(bars),
                 "Final validation RMSE per missing-label strategy (lower is better)."))


def _comparable_strategy_runs(runs: list[RunDir]) -> dict[str, RunDir]:
    """The largest set of runs that differ only in config.missing: a fair comparison."""
    groups: dict[str, dict[str, RunDir]] = {}
    for r in runs:
        strat = r.config.get("missing")
        if not strat or (r.metrics or {}).get("final_val_rmse_px") is None:
            continue
        rest = json.dumps({k: v for k, v in r.config.items() if k not in ("missing", "out_dir")}, sort_keys=True, default=str)
        groups.setdefault(rest, {}).setdefault(strat, r)
    return max(groups.values(), key=len, default={})


# -- 3 ------------------------------------------------------------------------


def model(inputs: Inputs) -> Section:
    s = Section("model", "3. Model")
    run = primary_run(inputs)
    summary = (run.metrics or {}).get("model_summary") if run else None
    name = run.config.get("model") if run else None
    if name:
        s.add(Paragraph(f"Model “{name}”: input 1×96×96, output 30 values (15 keypoints × x, y)."))
    if isinstance(summary, dict) and summary.get("layers"):
        s.add(_layers_table(summary))
        totals = [
            f"parameters {int(summary.get('params') or 0):,}"
            + (f" ({int(summary['trainable_params']):,} trainable)" if summary.get("trainable_params") is not None else ""),
            f"forward {si(summary.get('forward_flops_per_image'), 'FLOP')}/image",
            f"training step {si(summary.get('train_flops_per_image'), 'FLOP')}/image",
        ]
        s.add(Paragraph("Totals: " + ", ".join(totals) + "."))
    else:
        s.add(Note("model summary: " + ("no run directory (give --runs DIR)" if not inputs.runs
                                        else f"{(run or inputs.runs[0]).path} has no model_summary")))
    return s


def _layers_table(summary: dict) -> Table:
    layers = summary["layers"]  # ModelSummary.to_dict(): {name, type, output_shape, params, forward_flops}
    # Activations and the like (no parameters, no FLOPs counted, shape unchanged) only lengthen the table.
    shown, prev_shape = [], None
    for layer in layers:
        passive = not layer.get("params") and not layer.get("forward_flops")
        if not (passive and layer.get("output_shape") == prev_shape):
            shown.append(layer)
        prev_shape = layer.get("output_shape")
    keys = list(layers[0].keys())
    rows = [[_cell(layer.get(k), k) for k in keys] for layer in shown]
    omitted = len(layers) - len(shown)
    caption = "Layers, output shapes, parameters and FLOPs per image" + (
        f"; {omitted} layers without parameters that keep the shape (activations) not shown." if omitted else ".")
    return Table([_layer_header(k) for k in keys], rows, caption)


def _layer_header(key: str) -> str:
    return {"output_shape": "Output shape", "params": "Parameters",
            "forward_flops": "FLOPs/image (forward)"}.get(key, humanize(key))


def _cell(value, key: str) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join(str(v) for v in value)
    if isinstance(value, (int, float)) and ("flop" in key or "param" in key):
        return f"{value:,.0f}"
    return DASH if value is None else str(value)


# -- 4 ------------------------------------------------------------------------


def optimizer(inputs: Inputs) -> Section:
    s = Section("optimizer", "4. Optimizer, loss and metrics")
    run = primary_run(inputs)
    if not run:
        return s.add(Note("training configuration: no run directory with metrics.json (give --runs DIR)"))
    cfg = run.config
    shown = ("optimizer", "lr", "weight_decay", "schedule", "batch_size", "epochs", "time_budget_s",
             "target_rmse_px", "precision", "device", "seed")
    rows = [[SETTING_NAMES.get(k, humanize(k)), _config_value(cfg[k])] for k in shown if k in cfg]
    if "epochs" in cfg and cfg["epochs"] is None and cfg.get("time_budget_s"):
        rows = [[n, "as many as the time budget allows" if n == "Epochs" else v] for n, v in rows]
    rows.append(["Loss", "mean squared error on normalised coordinates, counting only labelled ones (masked)"])
    rows.append(["Metrics", "validation RMSE in pixels (the Kaggle score), RMSE per keypoint, time to target RMSE"])
    s.add(Table(["Setting", "Value"], rows, f"From {run.name}/metrics.json (config)."))
    return s


SETTING_NAMES = {"lr": "Learning rate (peak)", "batch_size": "Batch size (images)", "time_budget_s": "Time budget (s)",
                 "target_rmse_px": "Target RMSE (px)", "weight_decay": "Weight decay"}


def _config_value(v) -> str:
    if v is None:
        return DASH
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)


# -- 5 ------------------------------------------------------------------------


def training(inputs: Inputs) -> Section:
    s, run = _section_of_run(inputs, "training", "5. Training", "training curves")
    if not run:
        return s
    m = run.metrics
    history = m.get("history") or []
    ttt = m.get("time_to_target_s")
    s.add(Paragraph(
        f"{len(history)} epoch{'' if len(history) == 1 else 's'} in {num(m.get('train_s'))} s; final validation RMSE "
        f"{num(m.get('final_val_rmse_px'))} px"
        + (f"; target {num(run.config.get('target_rmse_px'))} px reached after {num(ttt)} s" if ttt is not None else "")
        + "."
    ))
    from kpbench.train.pictures import plot_curves

    s.add(_run_picture(run, "curves.png", "training-curves.png", "Training loss and validation RMSE per epoch.",
                       plot_curves, history, f"training curves: {run.name} has neither curves.png nor a history"))
    return s


def _section_of_run(inputs: Inputs, section_id: str, title: str, what: str) -> tuple[Section, RunDir | None]:
    """A section about the training run, and the run; without one, the section holds a note saying so."""
    s, run = Section(section_id, title), primary_run(inputs)
    if not run:
        s.add(Note(f"{what}: no run directory with metrics.json (give --runs DIR)"))
    return s, run


def _run_picture(run, file: str, name: str, caption: str, draw, data, missing: str) -> Figure | Note:
    """The run's own picture; else the same picture drawn by train from metrics.json; else a note."""
    if file in run.pictures:
        return Figure(name, run.pictures[file], caption)
    if data:
        try:
            return Figure(name, figures.png_via_file(draw, data), caption[:-1] + ", drawn from metrics.json.")
        except (KeyError, TypeError, ValueError):  # a hand-edited metrics.json: say so, don't crash
            pass
    return Note(missing)


# -- 6 ------------------------------------------------------------------------


def predictions(inputs: Inputs) -> Section:
    s, run = _section_of_run(inputs, "predictions", "6. Predictions", "predictions")
    if not run:
        return s
    if "faces.png" in run.pictures:
        s.add(Figure("faces.png", run.pictures["faces.png"],
                     "Validation faces, true (green) vs predicted (red) keypoints: best, median and worst."))
    else:
        s.add(Note(f"faces with true vs predicted keypoints: {run.name} has no faces.png"))
    from kpbench.train.pictures import plot_keypoint_error

    s.add(_run_picture(run, "keypoint_error.png", "keypoint-error.png", "Validation RMSE per keypoint (px).",
                       plot_keypoint_error, run.metrics.get("val_rmse_per_keypoint_px"),
                       f"error per keypoint: {run.name} has neither keypoint_error.png nor per-keypoint RMSE"))
    return s

