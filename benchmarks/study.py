"""The original study's table, filled: its five AWS instances and today's replacements estimated, this machine measured.

Not a measurement of its own: it prices what two other steps produced. The GPU rows come from
`kpbench estimate --study` (a training step of the seed network traced on this CPU, priced per operator
on each GPU; docs/estimate.md); this machine's row comes from the warm seed-network bench Record on
faces15 that benchmarks/bench_split.py wrote (its measured step, evaluation and initialization times,
scaled to the same workload). The README's table is generated from the JSON this writes.

    python benchmarks/study.py [--epochs 10] [--record benchmarks/results/DATE-seed-faces15-bench-warm.json]

Writes benchmarks/results/DATE-study.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from kpbench.atomic import write_json  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"
MODEL = "seed"  # the team's kind of network: three convolutions and two dense layers


def newest_warm_record() -> Path:
    found = sorted(RESULTS.glob("*-seed-faces15-bench-warm.json"))
    if not found:
        raise SystemExit("no seed bench Record in benchmarks/results: run benchmarks/bench_split.py first")
    return found[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10, help="epochs of the study's workload over Kaggle's 7,049 rows")
    parser.add_argument("--record", type=Path, default=None, help="this machine's bench Record (default: the newest warm one)")
    args = parser.parse_args(argv)

    from kpbench.bench.record import load_record
    from kpbench.estimate import machine
    from kpbench.estimate.run import EstimateRequest, run_estimate

    machine.note_fresh_process()
    record_path = args.record or newest_warm_record()
    result = run_estimate(EstimateRequest(model=MODEL, study=True, epochs=args.epochs), measured=[load_record(record_path)])
    out = {"date": time.strftime("%Y-%m-%d"), "model": MODEL, "epochs": args.epochs, "record": record_path.name,
           "command": f"python benchmarks/study.py --epochs {args.epochs}", **result.to_dict()}
    path = RESULTS / f"{out['date']}-study.json"
    write_json(path, out)
    print(f"wrote {path}: {len(result.estimates)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
