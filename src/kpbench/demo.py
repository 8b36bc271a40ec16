"""`kpbench demo`: synthetic faces → train → bench this machine → estimate the original study's
machines → report, in a few minutes, with no GPU and no network.

The one module that chains the areas (data, train, bench, estimate, report); the CLI calls it.

Last measured: 215 and 225 s wall (`time python -m kpbench demo --out /tmp/demo-r`, twice) on the
2-vCPU Xeon development VM, no GPU, shared with six other jobs (load about 9), 2026-12-01;
133 s on 2026-11-24 under lighter load. Every step
prints where it is; a step that fails is reported, the rest still runs, and the
report says what is missing.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from kpbench import atomic
from kpbench.data import MISSING_STRATEGIES, SYNTHETIC
from kpbench.errors import KpbenchError
from kpbench.inputs import JSON_LIMIT_BYTES, read_text
from kpbench.lock import LOCK_NAME, holder_elsewhere, run_dir_lock

# Enough faces for a real picture of the data, few enough for several epochs in the budget on 2 CPU cores.
SYNTHETIC_ROWS = 1200


@dataclass
class DemoConfig:
    out_dir: Path
    data: str | None = None  # None: generate synthetic faces in Kaggle layout
    rows: int | None = None  # synthetic rows (default 1200); with --data, the first N rows
    time_budget_s: float = 45.0  # the main training run
    missing_time_budget_s: float = 10.0  # each of the mask/ffill/drop runs
    missing_runs: bool = True
    repeats: int = 2  # bench repeats, each a fresh process
    bench_rows: int = 1000  # one epoch over these rows per repeat: warm-up plus enough steady steps
    seed: int = 0
    force: bool = False  # write into an --out that holds other files (they are left alone)


@dataclass
class DemoResult:
    report_html: Path | None
    failed_steps: list[str]
    wall_s: float


def run_demo(cfg: DemoConfig, console: Any = None) -> DemoResult:
    """Run every step, printing where it is; a failed step is listed in `failed_steps`, the rest still run."""
    from rich.console import Console

    console = console or Console(highlight=False, soft_wrap=True)  # paths stay on one line
    out = Path(cfg.out_dir)
    with run_dir_lock(out):  # one demo per --out at a time; the runs inside take their own locks
        if prepare_out_dir(out, force=cfg.force):
            console.print(f"Replacing the earlier demo in {out}")
        return _run_steps(cfg, out, console)


def _run_steps(cfg: DemoConfig, out: Path, console: Any) -> DemoResult:
    start = time.perf_counter()
    failed: list[str] = []
    steps = 6 if cfg.missing_runs else 5

    def step(n: int, title: str, work: Callable[[], Any]) -> Any:
        console.rule(f"[bold]Step {n}/{steps}[/bold] · {title}", align="left")
        t0 = time.perf_counter()
        try:
            value = work()
        except Exception as e:  # go on: the report says what is missing, the exit code says it failed
            message = str(e) if isinstance(e, KpbenchError) else f"{type(e).__name__}: {e}"
            console.print(f"✗ {title}: {message}", style="red", markup=False)
            failed.append(title)
            return None
        finally:
            record_written(out)  # what the demo wrote so far: a later demo removes these and only these
        console.print(f"[green]✓[/green] {title} [dim]({time.perf_counter() - t0:.0f} s, "
                      f"{time.perf_counter() - start:.0f} s so far)[/dim]")
        return value

    data_path = step(1, "data" if cfg.data else "synthetic faces in Kaggle layout", lambda: _data(cfg, out, console))
    faces = None
    if data_path:
        faces = step(2, "train the default model", lambda: _train_main(cfg, data_path, out, console))
        if cfg.missing_runs and faces is not None:
            step(3, "short runs per missing-label strategy (mask, ffill, drop)",
                 lambda: _train_missing(cfg, faces, out, console))
        elif cfg.missing_runs:
            failed.append("missing-label runs (no data)")
        record = step(steps - 2, f"bench this machine ({cfg.repeats} repeats, fresh processes)",
                      lambda: _bench(cfg, data_path, out))
        step(steps - 1, "estimate the original study's machines (no GPU: a traced step, a fitted model)",
             lambda: _estimate(out, record, console))
    else:
        failed.append("training and bench (no data)")
    # The faces as trained on (the report need not load them again, and sees what the demo knows of them).
    paths = step(steps, "write the report", lambda: _report(faces if faces is not None else data_path, out, console))
    wall_s = time.perf_counter() - start
    html = paths.html if paths else None
    if html:
        console.print(f"\n[bold]Report:[/bold] {html.resolve()}  [dim](demo took {wall_s:.0f} s)[/dim]")
    if failed:
        console.print(f"[yellow]Finished with problems in: {', '.join(failed)}[/yellow]")
    return DemoResult(html, failed, wall_s)


MARKER = ".kpbench-demo"  # says that a directory is a demo's own, and lists the files it wrote
MARKER_SCHEMA = "kpbench.demo/1"
DEMO_PARTS = ("data", "runs", "records", "report")  # what a demo writes under --out


def prepare_out_dir(out: Path, *, force: bool = False) -> bool:
    """Make `out` ready for a fresh demo; True when an earlier demo's files were removed.

    An earlier demo (its marker file) is replaced, but only the files its marker lists as its own, unchanged
    since: a file someone else put there, or a run another process holds locked, stops the demo (KpbenchError)
    with nothing removed. Any other non-empty directory is refused unless `force`: then the demo writes beside
    what is there and removes only an earlier demo's own files.
    """
    if out.exists() and not out.is_dir():
        raise KpbenchError(f"{out}: exists and is not a directory")
    entries = {p.name for p in out.iterdir()} - {LOCK_NAME} if out.is_dir() else set()
    earlier = MARKER in entries
    if entries and not earlier and not force:
        raise KpbenchError(f"{out}: holds files that are not a kpbench demo's; choose another --out, or pass --force")
    if earlier:
        _remove_own_files(out, keep_others=force)
    record_written(out, files=[])
    return earlier


def record_written(out: Path, files: list[Path] | None = None) -> None:
    """The marker, listing every file under the demo's parts now (or ``files``) as written by this demo."""
    listed = _part_files(out) if files is None else files
    own = {p.relative_to(out).as_posix(): _identity(p) for p in listed}
    atomic.write_json(out / MARKER, {"schema": MARKER_SCHEMA, "written_by": "kpbench demo: a later demo into this "
                                     "directory removes these files, and only these", "files": own})


def _remove_own_files(out: Path, *, keep_others: bool) -> None:
    own = _listed_files(out)
    files = _part_files(out)
    for run in sorted({p.parent for p in files if p.name == LOCK_NAME}):
        holder = holder_elsewhere(run)
        if holder:
            raise KpbenchError(f"{run} is in use by {holder}; the earlier demo in {out} was left as it was "
                               "(wait for that run to finish, or choose another --out)")
    foreign = [p for p in files if own.get(p.relative_to(out).as_posix()) != _identity(p) and p.name != LOCK_NAME]
    if foreign and not keep_others:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise KpbenchError(f"{foreign[0]}{more}: not written by the earlier demo in {out} (or changed since); "
                           "nothing removed: move them away, or choose another --out")
    for run in sorted({p.parent for p in files} - {out}, key=lambda d: -len(d.parts)):
        with run_dir_lock(run):  # no one takes a run's lock while its files go
            for p in files:
                if p.parent == run and p not in foreign and p.name != LOCK_NAME:
                    p.unlink(missing_ok=True)
    for part in DEMO_PARTS:
        _remove_empty_dirs(out / part)


def _listed_files(out: Path) -> dict[str, list[int]]:
    """The files the earlier demo's marker lists; none for a marker from before the list (nothing is its own)."""
    try:
        marker = json.loads(read_text(out / MARKER, what="demo marker", limit=JSON_LIMIT_BYTES))
    except (KpbenchError, ValueError, RecursionError):
        return {}
    files = marker.get("files") if isinstance(marker, dict) and marker.get("schema") == MARKER_SCHEMA else None
    return files if isinstance(files, dict) else {}


def _part_files(out: Path) -> list[Path]:
    """Every file (and link, never followed) under the demo's parts."""
    found = []
    for part in DEMO_PARTS:
        for root, dirs, names in os.walk(out / part):
            found += [Path(root) / n for n in names] + [Path(root) / d for d in dirs if (Path(root) / d).is_symlink()]
    return sorted(found)


def _identity(path: Path) -> list[int]:
    st = path.lstat()
    return [st.st_size, st.st_mtime_ns, st.st_ino]


def _remove_empty_dirs(top: Path) -> None:
    for root, dirs, _ in os.walk(top, topdown=False):
        for d in dirs:
            with contextlib.suppress(OSError):  # not empty: something that is not ours stays
                (Path(root) / d).rmdir()
    with contextlib.suppress(OSError):
        top.rmdir()


def _data(cfg: DemoConfig, out: Path, console: Any) -> str:
    if cfg.data:
        spec = str(cfg.data)
        if spec != SYNTHETIC and not spec.startswith(SYNTHETIC + ":") and not Path(spec).exists():
            raise KpbenchError(f"{cfg.data}: no such file or directory")
        console.print(f"Using {cfg.data}")
        return str(cfg.data)
    from kpbench.data import write_synthetic

    rows = cfg.rows or SYNTHETIC_ROWS
    data_dir = out / "data"
    console.print(f"Writing {rows:,} synthetic faces (training.csv, test.csv, IdLookupTable.csv) → {data_dir}")
    write_synthetic(data_dir, rows=rows, seed=cfg.seed)
    # Say what these files are to people; the report reads that from the FaceSet's meta, not from here.
    atomic.write_text(data_dir / "README.txt", "kpbench synthetic faces: written by `kpbench demo` "
                      f"(kpbench.data.write_synthetic, rows={rows}, seed={cfg.seed}).\nCartoon faces in the Kaggle "
                      "Facial Keypoints Detection layout with its missing-label pattern; not photographs.\n")
    return str(data_dir)


def _load(cfg: DemoConfig, data_path: str) -> Any:
    import numpy as np

    from kpbench.data import load_faces

    faces = load_faces(data_path, progress=True)
    if cfg.data and cfg.rows and cfg.rows < len(faces):
        faces = faces.subset(np.arange(cfg.rows))
    if not cfg.data:  # the demo wrote these files with write_synthetic; data's own meta has the last word
        faces = replace(faces, meta={"synthetic": True, **faces.meta})
    return faces


def _train_main(cfg: DemoConfig, data_path: str, out: Path, console: Any) -> Any:
    from kpbench.train import TrainConfig, train

    faces = _load(cfg, data_path)
    run_dir = out / "runs" / "default"
    tcfg = replace(TrainConfig(), time_budget_s=cfg.time_budget_s, seed=cfg.seed)
    console.print(f"Training “{tcfg.model}” on {len(faces):,} faces for at most {cfg.time_budget_s:.0f} s → {run_dir}")
    result = train(faces, tcfg, out_dir=run_dir, progress=True, on_event=_epoch_lines(console))
    console.print(f"Final validation RMSE {result.final_val_rmse_px:.2f} px after {len(result.history)} epochs")
    return faces


def _epoch_lines(console: Any) -> Callable[[str, dict], None] | None:
    """One line per epoch where train's own progress bar is not shown (output not a terminal)."""
    if sys.stderr.isatty():
        return None

    def on_event(name: str, fields: dict) -> None:
        if name == "eval_accuracy":
            console.print(f"  epoch {fields.get('epoch')}: validation RMSE {fields.get('value', float('nan')):.2f} px "
                          f"({fields.get('elapsed_s', 0):.0f} s)")

    return on_event


def _train_missing(cfg: DemoConfig, faces: Any, out: Path, console: Any) -> None:
    from kpbench.train import TrainConfig, train

    for strategy in MISSING_STRATEGIES:
        run_dir = out / "runs" / f"missing-{strategy}"
        tcfg = replace(TrainConfig(), time_budget_s=cfg.missing_time_budget_s, missing=strategy, seed=cfg.seed)
        console.print(f"--missing {strategy}: {cfg.missing_time_budget_s:.0f} s → {run_dir}")
        result = train(faces, tcfg, out_dir=run_dir, progress=False)
        console.print(f"  validation RMSE {result.final_val_rmse_px:.2f} px")


def _bench(cfg: DemoConfig, data_path: str, out: Path) -> Path:
    from kpbench.bench import BenchConfig, run_bench

    rows = cfg.bench_rows if cfg.rows is None else min(cfg.bench_rows, cfg.rows)
    bcfg = BenchConfig(data=data_path, epochs=1, repeats=cfg.repeats, seed=cfg.seed, label="this machine (demo)",
                       rows=rows)
    _, path = run_bench(bcfg, out / "records", progress=True)
    return path


def _estimate(out: Path, record_path: Path | None, console: Any) -> list[Path]:
    """Estimate Records for the study's instances and today's replacements, for the study's workload (10 epochs
    over Kaggle's 7049 rows, the default network); the bench Record gives this machine's measured imports."""
    from kpbench.bench.record import load_record
    from kpbench.estimate.record import write_estimates
    from kpbench.estimate.run import EstimateRequest, run_estimate
    from kpbench.estimate.workload import KAGGLE_ROWS

    measured = [load_record(record_path)] if record_path is not None else []
    result = run_estimate(EstimateRequest(study=True, epochs=10, rows=KAGGLE_ROWS), measured=measured)
    paths = write_estimates(result, out / "records")
    console.print(f"{len(paths)} estimate Records ({result.workload.source}) → {out / 'records'}")
    return paths


def _report(data: Any, out: Path, console: Any) -> Any:
    from kpbench.report import print_warnings, write_report

    records = [out / "records"] if (out / "records").is_dir() else []
    runs = [out / "runs"] if (out / "runs").is_dir() else []
    console.print(f"Report from {len(records)} Record folder(s) and the runs in {out / 'runs'} → {out / 'report'}")
    paths = write_report(records, runs, out / "report", data=data)
    print_warnings(paths.warnings)
    return paths
