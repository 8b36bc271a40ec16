"""The convergence table: what more workers, larger global batches and gradient compression do to accuracy.

Last measured 2026-12-07 on the quiet 2-vCPU AMD EPYC VM (AVX2 only; nothing else running), faces15,
bncnn, 60 s budget, target 2.0 px, 35 minutes for both links. Its verdicts:
<!-- generated: dist-convergence-header (`make docs`; do not edit by hand) -->
loopback, 2026-12-07, AMD EPYC:
  2 workers lr none reached 2 px 1.08 ± 0.11× later than 1 worker
  2 workers lr linear reached 2 px 1.05 ± 0.10× later than 1 worker
  2 workers lr sqrt reached 2 px 1.03 ± 0.10× later than 1 worker
  fp16 compression against 1 worker: no verdict, fp16 compression did not reach 2 px in every run
  bf16 compression reached 2 px 1.10 ± 0.11× later than 1 worker
  PowerSGD rank 1 against 1 worker: no verdict, PowerSGD rank 1 did not reach 2 px in every run
  PowerSGD rank 4 against 1 worker: no verdict, PowerSGD rank 4 did not reach 2 px in every run
  4x per-worker batch (256) against 1 worker: no verdict, 4x per-worker batch (256) did not reach 2 px in every run
  convonly against 1 worker: no verdict, convonly did not reach 2 px in every run
  bncnn SyncBatchNorm against 1 worker: no verdict, bncnn SyncBatchNorm did not reach 2 px in every run
1gbit, 2026-12-07, AMD EPYC:
  2 workers lr none against 1 worker: no verdict, 2 workers lr none did not reach 2 px in every run
  2 workers lr linear reached 2 px 1.02 ± 0.14× later than 1 worker
  2 workers lr sqrt reached 2 px 1.02 ± 0.15× later than 1 worker
  fp16 compression reached 2 px 1.01 ± 0.14× later than 1 worker
  bf16 compression reached 2 px 1.04 ± 0.15× sooner than 1 worker
  PowerSGD rank 1 against 1 worker: no verdict, PowerSGD rank 1 did not reach 2 px in every run
  PowerSGD rank 4 against 1 worker: no verdict, PowerSGD rank 4 did not reach 2 px in every run
  4x per-worker batch (256) against 1 worker: no verdict, 4x per-worker batch (256) did not reach 2 px in every run
  convonly against 1 worker: no verdict, convonly did not reach 2 px in every run
  bncnn SyncBatchNorm against 1 worker: no verdict, bncnn SyncBatchNorm did not reach 2 px in every run
<!-- end generated: dist-convergence-header -->

At a fixed time budget and to a fixed target validation RMSE, on real faces: 1 worker at batch
B; N workers at B per worker (global N·B) under each learning-rate rule (none, linear, sqrt,
all with the one-cycle warm-up); fp16 and bf16 gradient compression; PowerSGD rank 1 and 4; a
4× per-worker batch; convonly; bncnn with SyncBatchNorm (the others keep per-worker BatchNorm).
Every run is a fresh torchrun job of `kpbench train --time-budget S --target-rmse PX
--train-past-target` (kpbench.scaling.tta), so the final RMSE is the budget's and the time to
target is noted on the way. After one run of each, the 1-worker configuration and the best
N-worker one (soonest to the target, else the lowest RMSE) run until they have --repeats runs.
Columns: validation RMSE, time to target, images/s, bytes each worker sends per step.

Each link is a dist-tta Record in benchmarks/results/ (DATE-dist-convergence-loopback.json,
DATE-dist-convergence-1gbit.json: `kpbench report` reads them); docs/distributed.md shows them.

Run (the measurement; about 45 minutes on a quiet 2-core machine):
  python benchmarks/dist_convergence.py --data ../shared/datasets/faces15 --budget 60 --target 2.0 \\
         --links loopback,1gbit --repeats 3
Shrunk check (about 8 minutes):
  python benchmarks/dist_convergence.py --data synthetic:400 --budget 3 --target 20 --links loopback \\
         --repeats 2 --only '1 worker,2 workers lr sqrt,PowerSGD rank 1' --out /tmp/conv
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kpbench.scaling.alphabeta import parse_rate_bit_per_s  # noqa: E402
from kpbench.scaling.output import print_tta_record  # noqa: E402
from kpbench.scaling.record import write_scale_record  # noqa: E402
from kpbench.scaling.tta import TtaConfig, Variant, run_plan, summarize, write_record  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def variants(n: int, batch: int, model: str) -> list[Variant]:
    """The table's configurations, in its order; N-worker ones use the sqrt rule unless they vary it."""
    base = {"model": model, "batch_size": batch, "train_past": True}
    many = {**base, "lr_scaling": "sqrt"}
    return [
        Variant("1 worker", 1, {**base, "lr_scaling": "none"}),
        *[Variant(f"{n} workers lr {rule}", n, {**base, "lr_scaling": rule}) for rule in ("none", "linear", "sqrt")],
        Variant("fp16 compression", n, {**many, "comm_hook": "fp16"}),
        Variant("bf16 compression", n, {**many, "comm_hook": "bf16"}),
        Variant("PowerSGD rank 1", n, {**many, "comm_hook": "powersgd:1"}),
        Variant("PowerSGD rank 4", n, {**many, "comm_hook": "powersgd:4"}),
        Variant(f"4x per-worker batch ({4 * batch})", n, {**many, "batch_size": 4 * batch}),
        Variant("convonly", n, {**many, "model": "convonly"}),
        Variant(f"{model} SyncBatchNorm", n, {**many, "sync_batchnorm": True}),
    ]


def settings_for_train(v: Variant) -> Variant:
    """train's own option names: --train-past-target instead of the table's shorthand."""
    s = dict(v.settings)
    if s.pop("train_past", False):
        s["stop_at_target"] = False
    return Variant(v.name, v.nproc, s)


def best_many(rows: list[dict]) -> str | None:
    """The N-worker configuration to repeat: soonest to the target, else the lowest final RMSE."""
    many = [r for r in rows if r["nproc"] > 1 and r["repeats"]]
    reached = [r for r in many if r["time_to_target_s"] is not None]
    if reached:
        return min(reached, key=lambda r: r["time_to_target_s"])["variant"]
    return min(many, key=lambda r: r["final_val_rmse_px"])["variant"] if many else None


def study(cfg: TtaConfig, table: list[Variant], out: Path, repeats: int) -> dict:
    """One link: every variant once, then the 1-worker and the best N-worker one up to ``repeats`` runs."""
    from kpbench.lock import run_dir_lock

    runs: list[dict] = []
    with run_dir_lock(out):
        run_plan(cfg, table, [(v, 0) for v in table], out, runs)
        best = best_many(summarize(table, runs))
        again = [v for v in table if v.nproc == 1 or v.name == best]
        run_plan(cfg, table, [(v, k) for k in range(1, repeats) for v in again], out, runs)
        return write_record(cfg, table, runs, out, complete=True)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/datasets/faces15")
    ap.add_argument("--model", default="bncnn")
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64, help="per worker (B)")
    ap.add_argument("--budget", type=float, default=60.0)
    ap.add_argument("--target", type=float, default=2.0, help="validation RMSE, px")
    ap.add_argument("--links", default="loopback,1gbit")
    ap.add_argument("--repeats", type=int, default=3, help="runs of the 1-worker and the best N-worker configuration")
    ap.add_argument("--only", default="", help="comma-separated variant names (a shrunk check); default all")
    ap.add_argument("--out", type=Path, help="where the runs go (default: a folder per link in the temp directory)")
    args = ap.parse_args(argv)
    table = [settings_for_train(v) for v in variants(args.nproc, args.batch_size, args.model)]
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        table = [v for v in table if v.name in wanted]
    date = dt.date.today().isoformat()
    for link in args.links.split(","):
        rate = None if link == "loopback" else parse_rate_bit_per_s(link)
        cfg = TtaConfig(data=args.data, target_rmse_px=args.target, nproc=sorted({v.nproc for v in table}),
                        model=args.model, budget_s=args.budget, link_limit_bit_per_s=rate, repeats=args.repeats,
                        batch_size=args.batch_size).resolved()
        with tempfile.TemporaryDirectory(prefix="kpbench-convergence-") as tmp:
            out = (args.out or Path(tmp)) / link
            record = study(cfg, table, out, args.repeats)
        path = RESULTS / f"{date}-dist-convergence-{link}.json" if args.out is None else out / f"convergence-{link}.json"
        write_scale_record(path, record)
        print_tta_record(record, str(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
